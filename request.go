package balancer

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httputil"
	"slices"
	"sync/atomic"
	"time"

	"github.com/proxybalancer/balancer/lbmethod"
	"github.com/proxybalancer/balancer/transport"
)

// requestState is everything one client request carries through the
// balancer. It is also the outbound request's context (it embeds the
// inbound one), so the routing decision reaches the proxy's hooks and the
// transport without another allocation. It is allocated for every request:
// keep it small (the 640-byte size class: TestRequestStateSize).
type requestState struct {
	context.Context

	b    *Balancer
	snap *snapshot

	// path is the balancer-relative request path, decoded, appended to
	// the member URL (encoded again as Apache does: setURL).
	path string

	// The sticky route, when one was extracted (hasRoute).
	route      string
	stickyName string

	pass   *ProxyPass    // the mount the request came through, or nil
	member *member       // the current attempt's member
	mcfg   *memberConfig // member's configuration when it was chosen
	tried  []*member     // every member chosen, for busy accounting

	capture *Info // the slot of an outer Capture, or nil
	err     error

	// start, picked (when the current member was chosen) and the header
	// latency (how long after picked the member's response headers
	// arrived, when responded) are on the balancer's monotonic clock.
	start, picked time.Duration
	headerLatency time.Duration

	// key is the request's key for a method that picks by one (hasKey),
	// computed once when the request arrives.
	key uint64

	status   int   // the status the client got
	attempts int32 // failover attempts made after the first
	// retriesHeld counts the retry budget's retries this request holds.
	retriesHeld int32
	tier        int32
	reason      Reason
	hasRoute    bool
	// routeChanged is BALANCER_ROUTE_CHANGED: set by a choice that did
	// not follow the request's route, kept by later attempts.
	routeChanged bool
	// excludeTried keeps members already tried out of the choice (a retry
	// after send).
	excludeTried bool
	canceled     bool // the client went away
	// outlierDone: the current attempt was counted by outlier detection.
	outlierDone bool
	responded   bool // the current member's response headers arrived
	started     bool // start is set
	hasKey      bool // key is set

	body bodyGuard    // the request body, counted
	res  countingBody // the response body, counted

	triedBuf [2]*member

	// req is the client's request with this state as its context, the
	// request the ReverseProxy is given: held here, it costs no allocation
	// of its own.
	req http.Request
}

func newRequestState(b *Balancer, r *http.Request, path string) *requestState {
	st := &requestState{
		Context: r.Context(),
		b:       b,
		snap:    b.snap.Load(),
		path:    path,
	}
	st.tried = st.triedBuf[:0]
	if captureUsed.Load() {
		st.capture, _ = r.Context().Value(captureKey{}).(*Info)
	}
	if sc := st.snap.sticky; sc != nil {
		st.route, st.stickyName, st.hasRoute = sc.find(st.path, r.URL.RawQuery, r.Header)
	}
	if k := st.snap.keys; k != nil {
		st.key, st.hasKey = k.RequestKey(r)
	}
	return st
}

// info returns the BALANCER_* values of the current attempt; zero before a
// member was chosen.
func (st *requestState) info() Info {
	if st.member == nil {
		return Info{}
	}
	i := Info{
		Name:         st.b.name,
		WorkerName:   st.member.name,
		WorkerRoute:  st.mcfg.route,
		RouteChanged: st.routeChanged,
	}
	if st.hasRoute {
		i.Session, i.SessionSticky, i.SessionRoute = true, st.stickyName, st.route
	}
	return i
}

// request returns r with st as its context, as r.WithContext(st) would,
// in st's own storage.
func (st *requestState) request(r *http.Request) *http.Request {
	// WithContext is inlined and its copy does not escape: the copy is
	// made on the stack and moved into st.
	st.req = *r.WithContext(st)
	return &st.req
}

// Value makes the state findable from the request's context.
func (st *requestState) Value(key any) any {
	if key == (stateKey{}) {
		return st
	}
	return st.Context.Value(key)
}

// publish copies the routing decision to an outer Capture.
func (st *requestState) publish() {
	if st.capture != nil {
		*st.capture = st.info()
	}
}

// The request's life after its member was chosen: rewrite makes the
// outbound request, failover's RoundTrip (failover.go) sends it, to
// another member if need be, modifyResponse takes the member's response,
// fail answers a request that could not be proxied, and finish accounts
// for it. The ReverseProxy calls the first three through one-line hooks
// (balancer.go).

// rewrite makes the outbound request as Apache's mod_proxy_http does: the
// member's URL with the request path appended (plain concatenation), the
// path encoded as Apache encodes it and the query as the client sent it,
// byte for byte; the member's Host (or the client's, with PreserveHost);
// X-Forwarded-For, -Host and -Server (see Config.TrustedProxies); no h2c
// upgrade. Then the user's Rewrite runs.
func (st *requestState) rewrite(pr *httputil.ProxyRequest) {
	out, s := pr.Out, st.snap
	st.setURL(out, st.member)
	// ReverseProxy drops query parameters net/url cannot parse (a ';', a
	// bad escape): the member gets the client's query unchanged.
	out.URL.RawQuery = pr.In.URL.RawQuery
	if out.Body != nil && out.Body != http.NoBody {
		st.body.rc = out.Body
		out.Body = &st.body
		st.keepBody(out)
	}
	out.Host = ""
	if s.fwd.preserveHost {
		out.Host = pr.In.Host
	}
	if isH2CUpgrade(out.Header) {
		// ReverseProxy puts a requested upgrade back: h2c would hand the
		// member the connection, for requests never routed.
		delete(out.Header, "Upgrade")
		delete(out.Header, "Connection")
	}
	s.fwd.set(out.Header, pr.In)
	if user := s.rewrite; user != nil {
		user(pr)
		if pr.Out != out && stateFrom(pr.Out.Context()) != st {
			// A replaced outbound request still belongs to this one.
			pr.Out = pr.Out.WithContext(boundContext{pr.Out.Context(), st})
		}
	}
}

// boundContext ties a context the user's Rewrite made to the request's
// state.
type boundContext struct {
	context.Context
	st *requestState
}

func (c boundContext) Value(key any) any {
	if key == (stateKey{}) {
		return c.st
	}
	return c.Context.Value(key)
}

// setURL points out at member m: its scheme and host, and its path with
// the request path appended as Apache does (plain concatenation), the
// request path encoded as Apache encodes it.
func (st *requestState) setURL(out *http.Request, m *member) {
	u := out.URL
	u.Scheme = m.url.Scheme
	u.Host = m.url.Host
	u.Path, u.RawPath = m.path+st.path, ""
	if m.rawPath == "" && !needsRawPath(st.path) {
		return // net/url escapes the path as Apache does
	}
	mp := m.rawPath
	if mp == "" {
		mp = m.url.EscapedPath()
	}
	u.RawPath = string(appendEscapedPath([]byte(mp), st.path))
}

// modifyResponse takes the member's response: it records the status,
// counts the body, keeps a chunked response chunked, adds the route
// cookie, maps ProxyPassReverse headers back, then runs the user's
// ModifyResponse.
func (st *requestState) modifyResponse(res *http.Response) error {
	b := st.b
	st.status = res.StatusCode
	st.responded, st.headerLatency = true, b.mono()-st.picked
	if res.StatusCode != http.StatusSwitchingProtocols && res.Body != nil {
		// An upgraded connection's body must stay an
		// io.ReadWriteCloser; it is not counted.
		st.res.rc = res.Body
		res.Body = &st.res
	}
	st.setRouteCookie(res)
	if st.pass != nil {
		st.reverseMap(res, &st.req, st.pass)
	}
	if user := st.snap.modify; user != nil {
		if err := user(res); err != nil {
			return err
		}
	}
	if len(res.TransferEncoding) > 0 && res.TransferEncoding[0] == "chunked" &&
		st.req.ProtoMajor == 1 && st.req.ProtoMinor >= 1 && st.req.Method != http.MethodHead &&
		res.StatusCode >= 200 && res.StatusCode != http.StatusNoContent && res.StatusCode != http.StatusNotModified &&
		st.res.w != nil {
		// The client gets it chunked too, even when it is short (or
		// empty) and net/http would otherwise give it a Content-Length:
		// net/http's server chunks a response whose handler set
		// Transfer-Encoding: chunked. Set on the client's header itself,
		// the shared value costs no allocation (ReverseProxy would copy a
		// response header into a new slice).
		st.res.w.Header()["Transfer-Encoding"] = chunked
	}
	// Armed only now: what reads the body from here on is the
	// ReverseProxy's copy to the client, after the headers were written.
	st.res.splice = res.Body == &st.res && st.spliceable(res)
	return nil
}

// spliceMin is the least length of a response body worth handing to
// transport.SpliceBody (which has its own, finer, threshold).
const spliceMin = 32 << 10

// spliceable reports whether res's body may go to the client by
// transport.SpliceBody rather than the ReverseProxy's copy loop: its length
// is known and large, the client's connection is plain HTTP/1.x (the
// ResponseWriter implements io.ReaderFrom, which net/http turns into a
// splice from the member's socket), the request is not HEAD, and the
// ReverseProxy flushes nothing on a timer of its own (FlushInterval zero,
// not server-sent events): its flushes would race with ReadFrom.
func (st *requestState) spliceable(res *http.Response) bool {
	in := &st.req
	if res.ContentLength < spliceMin || in.TLS != nil || in.ProtoMajor != 1 || in.Method == http.MethodHead ||
		st.snap.proxy.FlushInterval != 0 {
		return false
	}
	if _, ok := st.res.w.(io.ReaderFrom); !ok {
		return false
	}
	// As the ReverseProxy's flushInterval decides.
	ct, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	return ct != "text/event-stream"
}

var chunked = []string{"chunked"}

// fail answers a request that could not be proxied: 503 when no member
// could take it, 500 when a member's name could not be resolved, 502
// otherwise, or the user's ErrorHandler. The error goes to ErrorLog.
func (st *requestState) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusBadGateway
	var re *resolveError
	switch {
	case errors.Is(err, ErrNoMember):
		code = http.StatusServiceUnavailable
	case errors.As(err, &re):
		code = http.StatusInternalServerError
	}
	st.status = code
	if st.err == nil {
		st.err = err
	}
	if l := st.snap.errorLog; l != nil {
		l.Printf("http: proxy error: %v", err)
	}
	if user := st.snap.errHandler; user != nil {
		user(w, r, err)
		return
	}
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// The client went away; nobody reads the answer.
		w.WriteHeader(code)
		return
	}
	http.Error(w, http.StatusText(code), code)
}

// finish ends the request: every member chosen for it is no longer busy,
// and the last attempt is reported to the method.
func (st *requestState) finish() {
	b := st.b
	// The clock is read only when something needs the time: an error
	// state, an observer, or the latency of an attempt without a response.
	var now time.Time
	clock := func() time.Time {
		if now.IsZero() {
			now = b.now()
		}
		return now
	}
	var elapsed time.Duration = -1
	mono := func() time.Duration {
		if elapsed < 0 {
			elapsed = b.mono()
		}
		return elapsed
	}
	m := st.member
	if m != nil {
		if !st.canceled && st.Context.Err() == nil {
			// Apache's post_request: failonstatus and failontimeout, once
			// per request, for the last member tried.
			s := st.snap
			if s.failOnTime && transport.IsTimeout(st.err) {
				m.enterError(clock(), "failontimeout")
			} else if slices.Contains(s.failOn, st.status) {
				m.enterError(clock(), "failonstatus")
			}
			if s.outlier != nil && !st.outlierDone && (st.responded || st.err != nil) {
				b.outlierRecord(s, m, st.status, !st.responded)
			}
		}
		// Apache's traffic counters: request line, headers and body sent;
		// status line and body received.
		bodyIn, bodyOut := st.body.n.Load(), st.res.n.Load()
		sent, received := bodyIn, bodyOut
		var latency time.Duration
		if st.responded {
			sent += requestHeadSize(&st.req)
			received += int64(len("HTTP/1.1 200 OK\r\n"))
			latency = st.headerLatency
			m.observeLatency(latency)
		} else {
			latency = mono() - st.picked
		}
		m.lb.AddTraffic(sent, received)
		st.snap.sched.Done(&m.lb, lbmethod.DoneInfo{
			Status: st.status, Err: st.err, Sent: sent, Received: received, Latency: latency,
		})
		if o := st.snap.obs; o != nil && o.Done != nil {
			o.Done(DoneEvent{Balancer: b.name, Member: m.name, Info: st.info(), Status: st.status, Err: st.err,
				Attempts: int(st.attempts) + 1, Latency: mono() - st.start, BytesIn: bodyIn, BytesOut: bodyOut, Context: st})
		}
	} else if o := st.snap.obs; o != nil && o.Done != nil {
		o.Done(DoneEvent{Balancer: b.name, Status: st.status, Err: st.err, Latency: mono() - st.start, Context: st})
	}
	for _, t := range st.tried {
		t.lb.AddBusy(-1)
	}
	b.budget.end(st.retriesHeld)
}

// requestHeadSize estimates the bytes of the request line and headers.
func requestHeadSize(r *http.Request) int64 {
	n := len(r.Method) + len(r.RequestURI) + len(" HTTP/1.1\r\n\r\n")
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return int64(n)
}

// countingBody counts the bytes of a response body read through it. When
// splice is set, its first Read hands the body to transport.SpliceBody,
// which writes it to w, the client's ResponseWriter, with zero copies if
// it can; then that Read reports the end of the body (or the error) having
// returned no bytes.
type countingBody struct {
	rc     io.ReadCloser
	n      atomic.Int64
	w      http.ResponseWriter
	splice bool
}

func (c *countingBody) Read(p []byte) (int, error) {
	if c.splice {
		c.splice = false
		if n, ok, err := transport.SpliceBody(c.w, c.rc); ok {
			c.n.Add(n)
			var we *transport.WriteError
			switch {
			case err == nil:
				return 0, io.EOF
			case errors.As(err, &we):
				// The client's side failed. The ReverseProxy aborts the
				// response on any error of its copy, as for a failed
				// write, and logs read errors, but not the client
				// going away: this one.
				return 0, context.Canceled
			}
			return 0, err
		}
	}
	n, err := c.rc.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingBody) Close() error { return c.rc.Close() }
