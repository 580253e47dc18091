package balancer_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/transport"
)

// wrapRecorder is a Config.WrapTransport that records what it sees: the
// members it wrapped, and each attempt with its error. It adds a
// per-member header, as an authenticating wrapper would, and hands the
// request on with a context of its own, as a tracing wrapper does.
type wrapRecorder struct {
	mu       sync.Mutex
	wrapped  []string
	attempts []wrapAttempt
}

type wrapAttempt struct {
	member string
	route  string // from FromContext
	err    error
}

type wrapCtxKey struct{}

func (rec *wrapRecorder) wrap(member string, rt http.RoundTripper) http.RoundTripper {
	rec.mu.Lock()
	rec.wrapped = append(rec.wrapped, member)
	rec.mu.Unlock()
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		info, _ := balancer.FromContext(req.Context())
		out := req.WithContext(context.WithValue(req.Context(), wrapCtxKey{}, member))
		out.Header = req.Header.Clone()
		out.Header.Set("X-Auth", "token for "+member)
		res, err := rt.RoundTrip(out)
		rec.mu.Lock()
		rec.attempts = append(rec.attempts, wrapAttempt{member, info.WorkerRoute, err})
		rec.mu.Unlock()
		if err != nil {
			return nil, fmt.Errorf("wrapper: %w", err)
		}
		return res, nil
	})
}

func (rec *wrapRecorder) seen() ([]string, []wrapAttempt) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]string(nil), rec.wrapped...), append([]wrapAttempt(nil), rec.attempts...)
}

// serveOnce sends one request through h and returns the response recorder.
func serveOnce(h http.Handler, method, body string) *httptest.ResponseRecorder {
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, "/", strings.NewReader(body))
	} else {
		r = httptest.NewRequest(method, "/", nil)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// The wrapper sees every attempt, failovers included, with the routing
// decision in the context; what it adds reaches the member; its wrapped
// errors still let the balancer fail over. Each member is wrapped once.
func TestWrapTransportSeesEveryAttempt(t *testing.T) {
	dead := closedPort(t)
	var auth atomic.Value
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("X-Auth"))
		io.WriteString(w, "live")
	}))
	t.Cleanup(live.Close)
	rec := &wrapRecorder{}
	b := mustNew(t, balancer.Config{Name: "wrap", WrapTransport: rec.wrap, Members: []balancer.Member{
		{URL: dead, Route: "dead"},
		{URL: live.URL, Route: "live"},
	}})

	w := serveOnce(b, "GET", "")
	require.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "live", w.Body.String())
	assert.Equal(t, "token for "+live.URL, auth.Load())
	assert.True(t, b.Members()[0].Status.Has(balancer.StatusError), "the refusing member is in error state")

	for range 3 {
		require.Equal(t, http.StatusOK, serveOnce(b, "GET", "").Code)
	}
	wrapped, attempts := rec.seen()
	assert.ElementsMatch(t, []string{dead, live.URL}, wrapped, "each member wrapped once")
	require.Len(t, attempts, 5)
	assert.Equal(t, dead, attempts[0].member)
	assert.Equal(t, "dead", attempts[0].route)
	assert.True(t, transport.NotSent(attempts[0].err), "first attempt: %v", attempts[0].err)
	for _, a := range attempts[1:] {
		assert.Equal(t, wrapAttempt{member: live.URL, route: "live"}, a)
	}
}

// A wrapper that returns nil leaves the transport as it is.
func TestWrapTransportNil(t *testing.T) {
	srv, _ := namedBackend(t, "a")
	called := 0
	b := mustNew(t, balancer.Config{Name: "nil", Members: []balancer.Member{{URL: srv.URL}},
		WrapTransport: func(string, http.RoundTripper) http.RoundTripper { called++; return nil }})
	for range 2 {
		w := serveOnce(b, "GET", "")
		assert.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, "a", w.Body.String())
	}
	assert.Equal(t, 1, called)
}

// A member whose connection settings change gets a new transport, wrapped
// anew; one whose settings stay keeps its wrapper.
func TestWrapTransportUpdate(t *testing.T) {
	a, _ := namedBackend(t, "a")
	c, _ := namedBackend(t, "c")
	rec := &wrapRecorder{}
	b := mustNew(t, balancer.Config{Name: "upd", WrapTransport: rec.wrap, Members: []balancer.Member{{URL: a.URL}}})
	require.Equal(t, http.StatusOK, serveOnce(b, "GET", "").Code)
	require.NoError(t, b.Update([]balancer.Member{
		{URL: a.URL, LoadFactor: 2}, // same connection settings
		{URL: c.URL},
	}))
	for range 3 {
		require.Equal(t, http.StatusOK, serveOnce(b, "GET", "").Code)
	}
	wrapped, _ := rec.seen()
	assert.Equal(t, []string{a.URL, c.URL}, wrapped)
	require.NoError(t, b.Update([]balancer.Member{
		{URL: a.URL, LoadFactor: 2, Connection: transport.Options{TTL: time.Minute}},
	}))
	require.Equal(t, http.StatusOK, serveOnce(b, "GET", "").Code)
	wrapped, _ = rec.seen()
	assert.Equal(t, []string{a.URL, c.URL, a.URL}, wrapped)
}

// connCounter is a loopback member that counts the connections it accepts.
func connCounter(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			n.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &n
}

// Every per-member setting of Member.Connection still holds when the
// member's transport is wrapped.
func TestWrapTransportKeepsMemberSettings(t *testing.T) {
	t.Run("Max and Acquire", func(t *testing.T) {
		slow := newBackend(t, "slow", "block")
		second := newBackend(t, "second", "ok")
		rec := &wrapRecorder{}
		b := mustNew(t, balancer.Config{Name: "max", WrapTransport: rec.wrap, Members: []balancer.Member{
			{URL: slow.srv.URL, Connection: transport.Options{Max: 1, Acquire: 10 * time.Millisecond}},
			{URL: second.srv.URL},
		}})
		held := make(chan struct{})
		go func() {
			defer close(held)
			serveOnce(b, "GET", "")
		}()
		select {
		case <-slow.arrived:
		case <-held:
			t.Fatal("the holding request ended early")
		}
		assert.Equal(t, "second", serveOnce(b, "GET", "").Body.String())
		w := serveOnce(b, "GET", "") // slow's turn: its only slot is taken
		assert.Equal(t, "second", w.Body.String())
		assert.True(t, b.Members()[0].Status.Has(balancer.StatusError))
		close(slow.release)
		<-held
		var ns *transport.NotSentError
		_, attempts := rec.seen()
		found := false
		for _, a := range attempts {
			if a.member == slow.srv.URL && errors.As(a.err, &ns) {
				found = true
				assert.Equal(t, transport.ReasonAcquire, ns.Reason)
			}
		}
		assert.True(t, found, "the wrapper saw the acquire timeout: %+v", attempts)
	})

	t.Run("Ping", func(t *testing.T) {
		// A member that reads the request and never answers: the ping
		// expires, the body stays unsent and goes to the next member.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		var conns sync.WaitGroup
		conns.Add(1)
		go func() {
			defer conns.Done()
			var open []net.Conn
			defer func() {
				for _, c := range open {
					c.Close()
				}
			}()
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				open = append(open, c)
				go io.Copy(io.Discard, c)
			}
		}()
		t.Cleanup(func() { l.Close(); conns.Wait() })
		second, got := namedBackend(t, "second")
		rec := &wrapRecorder{}
		b := mustNew(t, balancer.Config{Name: "ping", WrapTransport: rec.wrap, Members: []balancer.Member{
			{URL: "http://" + l.Addr().String(), Connection: transport.Options{Ping: 20 * time.Millisecond}},
			{URL: second.URL},
		}})
		w := serveOnce(b, "POST", "hello")
		assert.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, "second", w.Body.String())
		assert.Equal(t, []int{5}, *got, "the whole body reached the second member")
		_, attempts := rec.seen()
		require.Len(t, attempts, 2)
		var ns *transport.NotSentError
		require.ErrorAs(t, attempts[0].err, &ns)
		assert.Equal(t, transport.ReasonPing, ns.Reason)
	})

	t.Run("Timeout", func(t *testing.T) {
		// The member never answers, so the wait for its response can only
		// end by Timeout. The connect gets a bound of its own: it falls
		// back to Timeout, and a 20 ms connect fails on a loaded machine
		// (a connect error, not the response timeout checked here).
		slow := newBackend(t, "slow", "block")
		rec := &wrapRecorder{}
		b := mustNew(t, balancer.Config{Name: "tmo", WrapTransport: rec.wrap, Members: []balancer.Member{
			{URL: slow.srv.URL, Connection: transport.Options{Timeout: 20 * time.Millisecond, ConnectTimeout: time.Minute}},
		}})
		assert.Equal(t, http.StatusBadGateway, serveOnce(b, "GET", "").Code)
		_, attempts := rec.seen()
		require.Len(t, attempts, 1)
		assert.True(t, transport.IsTimeout(attempts[0].err), "%v", attempts[0].err)
	})

	// Connections per sequential request: reuse unless TTL or
	// DisableReuse says otherwise.
	for _, tt := range []struct {
		name string
		opt  transport.Options
		want int32
	}{
		{"reuse", transport.Options{}, 1},
		{"TTL", transport.Options{TTL: time.Nanosecond}, 3},
		{"DisableReuse", transport.Options{DisableReuse: true}, 3},
		{"SMax and POST", transport.Options{SMax: 1}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, conns := connCounter(t)
			rec := &wrapRecorder{}
			b := mustNew(t, balancer.Config{Name: "conns", WrapTransport: rec.wrap, Members: []balancer.Member{
				{URL: srv.URL, Connection: tt.opt},
			}})
			method, body := "GET", ""
			if strings.Contains(tt.name, "POST") {
				method, body = "POST", "x"
			}
			for range 3 {
				require.Equal(t, http.StatusOK, serveOnce(b, method, body).Code)
			}
			assert.Equal(t, tt.want, conns.Load())
			_, attempts := rec.seen()
			assert.Len(t, attempts, 3)
		})
	}
}

// netHTTPConns counts the connections of net/http's client transports in
// this process, by their reading goroutines.
func netHTTPConns() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "net/http.(*persistConn).readLoop")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// A wrapped member still takes the direct exchange for body-less GETs: no
// net/http client connection appears for them, while a POST (which goes
// through net/http) opens one, so the count does see such connections.
func TestWrapTransportKeepsDirectExchange(t *testing.T) {
	srv, conns := connCounter(t)
	rec := &wrapRecorder{}
	b := mustNew(t, balancer.Config{Name: "direct", WrapTransport: rec.wrap, Members: []balancer.Member{{URL: srv.URL}}})

	before := netHTTPConns()
	for range 3 {
		require.Equal(t, http.StatusOK, serveOnce(b, "GET", "").Code)
	}
	assert.LessOrEqual(t, netHTTPConns(), before, "GETs opened no net/http connection")
	assert.Equal(t, int32(1), conns.Load(), "the GETs shared one connection")

	before = netHTTPConns()
	require.Equal(t, http.StatusOK, serveOnce(b, "POST", "x").Code)
	assert.Greater(t, netHTTPConns(), before, "the POST went through net/http")
	assert.Equal(t, int32(2), conns.Load())
	_, attempts := rec.seen()
	assert.Len(t, attempts, 4)
}

// Concurrent first requests build each member's wrapper once.
func TestWrapTransportOncePerMember(t *testing.T) {
	a, _ := namedBackend(t, "a")
	c, _ := namedBackend(t, "c")
	rec := &wrapRecorder{}
	b := mustNew(t, balancer.Config{Name: "once", WrapTransport: rec.wrap, Members: []balancer.Member{{URL: a.URL}, {URL: c.URL}}})
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			assert.Equal(t, http.StatusOK, serveOnce(b, "GET", "").Code)
		})
	}
	wg.Wait()
	wrapped, attempts := rec.seen()
	assert.ElementsMatch(t, []string{a.URL, c.URL}, wrapped)
	assert.Len(t, attempts, 40)
}

// With Config.Transport, each member's wrapper wraps the shared transport.
func TestWrapTransportAroundSharedTransport(t *testing.T) {
	shared := newStub()
	var mu sync.Mutex
	got := map[string]http.RoundTripper{}
	b := mustNew(t, balancer.Config{Name: "shared", Transport: shared, Members: members("a:1", "b:1"),
		WrapTransport: func(member string, rt http.RoundTripper) http.RoundTripper {
			mu.Lock()
			got[member] = rt
			mu.Unlock()
			return rt
		}})
	for range 2 {
		require.Equal(t, http.StatusOK, serveOnce(b, "GET", "").Code)
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, map[string]http.RoundTripper{"http://a:1": shared, "http://b:1": shared}, got)
	assert.Len(t, shared.Attempts(), 2)
}
