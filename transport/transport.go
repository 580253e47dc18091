package transport

import (
	"context"
	"math"
	"net/http"
	"net/http/httptrace"
	"time"
)

// Transport is the [http.RoundTripper] of one member: an [http.Transport]
// tuned by [Options], with a cap on requests in flight, a 100-continue
// ping, a read timeout on response bodies, and errors that say whether the
// member was given the request ([NotSentError], [IsTimeout]).
//
// It never decompresses responses, never uses a proxy from the environment,
// and speaks HTTP/1.1 unless Options.H2C is set.
//
// A Transport is safe for simultaneous use by multiple goroutines. Create
// it with [New]; the zero value is not usable. Call
// [Transport.CloseIdleConnections] when the member is removed.
type Transport struct {
	cfg    config
	rt     *http.Transport
	dialer *dialer
	slots  *slots // nil when Max is 0
	direct directPool
	// noDirect turns the direct exchange off (tests compare it with
	// net/http's).
	noDirect bool
}

var _ http.RoundTripper = (*Transport)(nil)

// New returns a Transport configured by o. It returns an error naming the
// field and the value if o is invalid (a negative duration or count). It
// starts nothing: connections and their goroutines exist only while
// requests use them or they are idle, and CloseIdleConnections ends the
// idle ones.
func New(o Options) (*Transport, error) {
	cfg, err := o.resolve()
	if err != nil {
		return nil, err
	}
	d := newDialer(cfg)
	rt := &http.Transport{
		Proxy:               nil,
		DialContext:         d.dialTCP,
		DialTLSContext:      d.dialTLS,
		DisableKeepAlives:   cfg.disableReuse,
		DisableCompression:  true,
		MaxIdleConns:        cfg.smax,
		MaxIdleConnsPerHost: cfg.smax,
		MaxConnsPerHost:     cfg.max,
		IdleConnTimeout:     cfg.ttl,
		ForceAttemptHTTP2:   false,
		// As a tuned proxy: fewer read and write calls for large bodies.
		ReadBufferSize:  32 << 10,
		WriteBufferSize: 32 << 10,
	}
	if cfg.h2c {
		// HTTP/1.1 connections enforce Timeout by read deadlines (see
		// deadlineConn); HTTP/2 ones by net/http's timer.
		rt.ResponseHeaderTimeout = cfg.timeout
	}
	if cfg.ping > 0 {
		// net/http sends the body anyway when this expires; it must not
		// expire before the ping timer has aborted the attempt.
		rt.ExpectContinueTimeout = addSat(cfg.ping, max(cfg.ping, time.Second))
	}
	protocols := new(http.Protocols)
	if cfg.h2c {
		protocols.SetUnencryptedHTTP2(true)
		protocols.SetHTTP2(true)
	} else {
		protocols.SetHTTP1(true)
	}
	rt.Protocols = protocols

	t := &Transport{cfg: cfg, rt: rt, dialer: d}
	t.direct.maxIdle = cfg.timeout
	if cfg.ttl > 0 && cfg.ttl < cfg.timeout {
		t.direct.maxIdle = cfg.ttl
	}
	if cfg.max > 0 {
		t.slots = newSlots(cfg.max, cfg.acquire)
	}
	return t, nil
}

// RoundTrip sends req to the member and returns its response.
//
// It does not modify req. On success the response body must be read to EOF
// or closed, as with any RoundTripper; reads of it fail with an error
// wrapping [ErrTimeout] when the member sends nothing for Options.Timeout.
//
// When the attempt failed before the member was given the request,
// RoundTrip returns a [*NotSentError] and has neither read nor closed
// req.Body, so the same req can be sent to another member; a caller that
// does not do so must close req.Body. On every other error req.Body is
// closed, as the [http.RoundTripper] contract asks. An error after the
// request was written, when the member did not send the response headers
// within Options.Timeout, wraps ErrTimeout. The end of req's context gives
// its cause, neither NotSent nor IsTimeout.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	hasBody := req.Body != nil && req.Body != http.NoBody
	if t.slots != nil {
		if err := t.slots.acquire(req.Context()); err != nil {
			if hasBody && !NotSent(err) {
				req.Body.Close()
			}
			return nil, err
		}
	}

	ping := hasBody && t.cfg.ping > 0
	// An upgrade may take the connection over: its deadline must then be
	// lifted, so the attempt needs to know the connection.
	upgrade := t.dialer.io > 0 && req.Header.Get("Upgrade") != ""
	if !hasBody && t.slots == nil && !upgrade && t.dialer.io > 0 {
		// The common case, an HTTP/1.1 request without a body: no body to
		// hand back, no slot to free, no timer, and the connection's
		// deadline bounds every read of the response. Nothing to hold
		// per request but an error to classify.
		if trace, ok := t.directable(req); ok {
			resp, err := t.roundTripDirect(req, trace)
			if err != nil {
				a := &attempt{t: t, parent: req.Context()}
				return nil, a.fail(err)
			}
			return resp, nil
		}
		resp, err := t.rt.RoundTrip(req)
		if err != nil {
			a := &attempt{t: t, parent: req.Context()}
			return nil, a.fail(err)
		}
		resp.Request = req
		return resp, nil
	}
	a := &attempt{t: t, parent: req.Context(), slot: t.slots != nil}
	out := req
	switch {
	case ping || upgrade:
		ctx := req.Context()
		trace := &httptrace.ClientTrace{}
		if upgrade {
			trace.GotConn = a.gotConn
		}
		if ping {
			// Only a ping needs a context of its own, to abort the
			// attempt when the member does not answer in time.
			var cancel context.CancelCauseFunc
			ctx, cancel = context.WithCancelCause(ctx)
			a.cancel = cancel
			a.ping = pingIdle
			trace.Wait100Continue = a.waitContinue
			trace.Got100Continue = a.answered
			trace.GotFirstResponseByte = a.answered
		}
		out = req.WithContext(httptrace.WithClientTrace(ctx, trace))
	case hasBody:
		out = new(http.Request)
		*out = *req
	}
	if hasBody {
		a.body.rc = req.Body
		out.Body = &a.body
	}
	if ping {
		out.Header = req.Header.Clone()
		if out.Header == nil {
			out.Header = make(http.Header, 1)
		}
		out.Header.Set("Expect", "100-continue")
		// net/http waits for 100 Continue only on HTTP/1.1 requests; the
		// wire version is 1.1 anyway.
		out.Proto, out.ProtoMajor, out.ProtoMinor = "HTTP/1.1", 1, 1
	}

	resp, err := t.rt.RoundTrip(out)
	if err != nil {
		return nil, a.fail(err)
	}
	return a.respond(req, resp), nil
}

// CloseIdleConnections closes the member's idle connections. Connections
// in use are not interrupted. It is safe to call at any time; the
// Transport remains usable.
func (t *Transport) CloseIdleConnections() {
	t.rt.CloseIdleConnections()
	t.direct.closeIdle()
}

// addSat returns a+b for non-negative durations, saturating at the largest
// duration.
func addSat(a, b time.Duration) time.Duration {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
