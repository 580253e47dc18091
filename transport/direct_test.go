package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func dxGet(t *testing.T, tr *Transport, ctx context.Context, url string) (string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.RoundTrip(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return string(b), err
}

func dxIdle(tr *Transport) []*directConn {
	tr.direct.mu.Lock()
	defer tr.direct.mu.Unlock()
	var all []*directConn
	for _, l := range tr.direct.idle {
		all = append(all, l...)
	}
	return all
}

// age makes every idle connection look idle for d longer.
func dxAge(tr *Transport, d time.Duration) {
	tr.direct.mu.Lock()
	defer tr.direct.mu.Unlock()
	for _, l := range tr.direct.idle {
		for _, c := range l {
			c.idleAt = c.idleAt.Add(-d)
		}
	}
}

func TestDirectable(t *testing.T) {
	tr := newTransport(t, Options{})
	base := func() *http.Request {
		r, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:9/x?q=1", nil)
		r.Header.Set("Accept", "*/*")
		return r
	}
	hook := func(r *http.Request, tr *httptrace.ClientTrace) *http.Request {
		return r.WithContext(httptrace.WithClientTrace(r.Context(), tr))
	}
	cases := []struct {
		name string
		req  func() *http.Request
		want bool
	}{
		{"GET", base, true},
		{"HEAD", func() *http.Request { r := base(); r.Method = http.MethodHead; return r }, true},
		{"OPTIONS", func() *http.Request { r := base(); r.Method = http.MethodOptions; return r }, true},
		{"POST", func() *http.Request { r := base(); r.Method = http.MethodPost; return r }, false},
		{"DELETE", func() *http.Request { r := base(); r.Method = http.MethodDelete; return r }, false},
		{"https", func() *http.Request { r := base(); r.URL.Scheme = "https"; return r }, false},
		{"close", func() *http.Request { r := base(); r.Close = true; return r }, false},
		{"content length", func() *http.Request { r := base(); r.ContentLength = 3; return r }, false},
		{"chunked", func() *http.Request { r := base(); r.TransferEncoding = []string{"chunked"}; return r }, false},
		{"userinfo", func() *http.Request { r := base(); r.URL.User = url.UserPassword("u", "p"); return r }, false},
		{"non-ASCII host", func() *http.Request { r := base(); r.URL.Host = "bücher.example"; return r }, false},
		{"bad header name", func() *http.Request { r := base(); r.Header["Bad Name"] = []string{"v"}; return r }, false},
		{"bad header value", func() *http.Request { r := base(); r.Header["X"] = []string{"a\r\nInjected: 1"}; return r }, false},
		{"tab in value", func() *http.Request { r := base(); r.Header["X"] = []string{"a\tb"}; return r }, true},
		{"nil header", func() *http.Request { r := base(); r.Header = nil; return r }, false},
		{"Got1xxResponse hook", func() *http.Request {
			return hook(base(), &httptrace.ClientTrace{Got1xxResponse: func(int, textproto.MIMEHeader) error { return nil }})
		}, true},
		{"GotConn hook", func() *http.Request {
			return hook(base(), &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) {}})
		}, false},
	}
	for _, c := range cases {
		if _, got := tr.directable(c.req()); got != c.want {
			t.Errorf("%s: directable %v, want %v", c.name, got, c.want)
		}
	}
	off := newTransport(t, Options{DisableReuse: true})
	if _, ok := off.directable(base()); ok {
		t.Error("DisableReuse: directable")
	}
	tr.noDirect = true
	if _, ok := tr.directable(base()); ok {
		t.Error("noDirect: directable")
	}
}

// A hook only1xxHook does not know would be skipped by the direct
// exchange: every hook of ClientTrace must be checked.
func TestOnly1xxHookKnowsEveryHook(t *testing.T) {
	typ := reflect.TypeFor[httptrace.ClientTrace]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		if f.Type.Kind() != reflect.Func || !f.IsExported() {
			continue
		}
		var tr httptrace.ClientTrace
		v := reflect.ValueOf(&tr).Elem().Field(i)
		v.Set(reflect.MakeFunc(f.Type, func([]reflect.Value) []reflect.Value {
			out := make([]reflect.Value, f.Type.NumOut())
			for j := range out {
				out[j] = reflect.Zero(f.Type.Out(j))
			}
			return out
		}))
		if got, want := only1xxHook(&tr), f.Name == "Got1xxResponse"; got != want {
			t.Errorf("only1xxHook with %s set = %v, want %v", f.Name, got, want)
		}
	}
}

func TestDirectReusesConnection(t *testing.T) {
	m := newRawMember(t, serveEach("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"))
	tr := newTransport(t, Options{})
	for i := range 3 {
		body, err := dxGet(t, tr, testContext(t), m.url())
		if err != nil || body != "hello" {
			t.Fatalf("request %d: %q, %v", i, body, err)
		}
	}
	if n := len(m.requests()); n != 1 {
		t.Errorf("%d connections for 3 requests, want 1", n)
	}
	if n := len(dxIdle(tr)); n != 1 {
		t.Errorf("%d idle connections, want 1", n)
	}
}

// A reused connection the member closes after the request was written,
// sending nothing back (its keep-alive timeout raced the request), fails
// with nothing received: the request is written again on a new
// connection, once.
func TestDirectRetriesClosedIdleConnection(t *testing.T) {
	var answered atomic.Int64
	m := newRawMember(t, func(rc *rawConn) {
		if rc.id > 0 {
			serveEach("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nagain")(rc)
			return
		}
		if !rc.readRequest() {
			return
		}
		answered.Add(1)
		if !rc.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst") {
			return
		}
		rc.readRequest() // then closed without an answer
	})
	tr := newTransport(t, Options{})
	if body, err := dxGet(t, tr, testContext(t), m.url()); err != nil || body != "first" {
		t.Fatalf("first: %q, %v", body, err)
	}
	body, err := dxGet(t, tr, testContext(t), m.url())
	if err != nil || body != "again" {
		t.Fatalf("second: %q, %v", body, err)
	}
	reqs := m.requests()
	if len(reqs) != 2 {
		t.Errorf("%d connections, want 2", len(reqs))
	}
	if reqs[0] != 2 || answered.Load() != 1 {
		t.Errorf("first connection: %d requests seen, %d answered; want 2, 1", reqs[0], answered.Load())
	}
}

// A new connection that fails is not retried: the error is returned.
func TestDirectDoesNotRetryNewConnection(t *testing.T) {
	m := newRawMember(t, func(rc *rawConn) {
		rc.readRequest() // then closed without an answer
	})
	tr := newTransport(t, Options{})
	_, err := dxGet(t, tr, testContext(t), m.url())
	if err == nil || NotSent(err) || IsTimeout(err) {
		t.Fatalf("err = %v; want a lost connection, neither NotSent nor a timeout", err)
	}
	if n := len(m.requests()); n != 1 {
		t.Errorf("%d connections, want 1 (no retry)", n)
	}
}

// The end of the request's context while the member is silent ends the
// exchange with the context's cause and closes the connection.
func TestDirectCancelWhileWaiting(t *testing.T) {
	ctx, cancel := context.WithCancelCause(testContext(t))
	cause := errors.New("client went away")
	m := newRawMember(t, func(rc *rawConn) {
		if !rc.readRequest() {
			return
		}
		cancel(cause) // the member has the request and stays silent
		rc.drain()    // until the client closes
		rc.note("closed")
	})
	tr := newTransport(t, Options{})
	_, err := dxGet(t, tr, ctx, m.url())
	if !errors.Is(err, cause) || NotSent(err) || IsTimeout(err) {
		t.Fatalf("err = %v; want the context's cause, neither NotSent nor a timeout", err)
	}
	m.await(t, "closed")
	if n := len(dxIdle(tr)); n != 0 {
		t.Errorf("%d idle connections, want 0", n)
	}
}

// Closing a body before its end closes the connection instead of reading
// the rest; the next request gets a new connection.
func TestDirectEarlyCloseDropsConnection(t *testing.T) {
	m := newRawMember(t, func(rc *rawConn) {
		if rc.id > 0 {
			serveEach("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext")(rc)
			return
		}
		if rc.readRequest() && rc.write("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\npartial") {
			rc.drain() // until the client closes
			rc.note("closed")
		}
	})
	tr := newTransport(t, Options{})
	req := newRequest(t, http.MethodGet, m.url(), nil)
	res, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 7)
	if _, err := io.ReadFull(res.Body, buf); err != nil || string(buf) != "partial" {
		t.Fatalf("read %q, %v", buf, err)
	}
	res.Body.Close()
	m.await(t, "closed")
	if _, err := res.Body.Read(buf); err == nil {
		t.Error("read after Close succeeded")
	}
	if body, err := dxGet(t, tr, testContext(t), m.url()); err != nil || body != "next" {
		t.Fatalf("next: %q, %v", body, err)
	}
}

// TTL and Timeout bound how long a connection may stay idle; SMax how
// many stay; CloseIdleConnections closes them.
func TestDirectIdleLimits(t *testing.T) {
	m := newRawMember(t, serveEach("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	tr := newTransport(t, Options{TTL: 30 * time.Second, Timeout: time.Minute})
	get := func() {
		t.Helper()
		if body, err := dxGet(t, tr, testContext(t), m.url()); err != nil || body != "ok" {
			t.Fatalf("%q, %v", body, err)
		}
	}
	get()
	dxAge(tr, 31*time.Second)
	get()
	if n := len(m.requests()); n != 2 {
		t.Errorf("after TTL: %d connections, want 2", n)
	}
	tr.CloseIdleConnections()
	if n := len(dxIdle(tr)); n != 0 {
		t.Errorf("after CloseIdleConnections: %d idle", n)
	}
	get()
	if n := len(m.requests()); n != 3 {
		t.Errorf("after CloseIdleConnections: %d connections, want 3", n)
	}

	// SMax 1: of two connections freed together, one stays.
	one := newTransport(t, Options{SMax: 1})
	r1, err := one.RoundTrip(newRequest(t, http.MethodGet, m.url(), nil))
	if err != nil {
		t.Fatal(err)
	}
	r2, err := one.RoundTrip(newRequest(t, http.MethodGet, m.url(), nil))
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(r1.Body)
	io.ReadAll(r2.Body)
	if n := len(dxIdle(one)); n != 1 {
		t.Errorf("SMax 1: %d idle connections", n)
	}
}

// Response headers beyond the limit fail the exchange without reading
// them all.
func TestDirectHeaderLimit(t *testing.T) {
	m := newRawMember(t, func(rc *rawConn) {
		if !rc.readRequest() || !rc.write("HTTP/1.1 200 OK\r\n") {
			return
		}
		line := "X-Big: " + strings.Repeat("a", 1<<16) + "\r\n"
		for range maxResponseHeader/len(line) + 2 {
			if !rc.write(line) {
				return
			}
		}
	})
	tr := newTransport(t, Options{})
	if _, err := dxGet(t, tr, testContext(t), m.url()); !errors.Is(err, errHeaderTooLarge) {
		t.Fatalf("err = %v, want the header limit", err)
	}
}

// Idle connections are closed once idle for Timeout (or TTL), also when no
// request comes to reuse them: the pool's timer sweeps them, and stops
// when the pool is empty.
func TestDirectSweepClosesIdleConnections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newPipeNet()
		m := serveRaw(t, n, func(rc *rawConn) {
			serveEach("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")(rc)
			rc.note("closed")
		})
		tr := newTransport(t, Options{Timeout: 12 * time.Second})
		tr.dialer.dial = n.dial
		if body, err := dxGet(t, tr, t.Context(), m.url()); err != nil || body != "ok" {
			t.Fatalf("%q, %v", body, err)
		}
		time.Sleep(11 * time.Second)
		synctest.Wait()
		if n := len(dxIdle(tr)); n != 1 {
			t.Fatalf("after 11 s: %d idle connections, want 1", n)
		}
		time.Sleep(5 * time.Second)
		m.await(t, "closed")
		synctest.Wait()
		tr.direct.mu.Lock()
		idle, armed := len(tr.direct.idle), tr.direct.armed
		tr.direct.mu.Unlock()
		if idle != 0 || armed {
			t.Errorf("after 16 s: %d idle lists, timer armed %v; want none, false", idle, armed)
		}
	})
}

// sweepWith, in a synctest bubble, makes one connection idle on a
// Transport with SMax smax, then runs one sweep, with during called
// between its checks and its merge (get makes a request); it returns the
// idle connections before and after, and the member, which notes
// "closed" for each connection closed.
func sweepWith(t *testing.T, smax int, during func(tr *Transport, get func())) (before, after []*directConn, m *rawMember) {
	n := newPipeNet()
	m = serveRaw(t, n, func(rc *rawConn) {
		serveEach("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")(rc)
		rc.note("closed")
	})
	tr := newTransport(t, Options{Timeout: time.Minute, SMax: smax})
	tr.dialer.dial = n.dial
	get := func() {
		body, err := dxGet(t, tr, t.Context(), m.url())
		require.NoError(t, err)
		require.Equal(t, "ok", body)
	}
	get()
	before = dxIdle(tr)
	require.Len(t, before, 1)
	tr.direct.mu.Lock()
	tr.direct.swept = func() { during(tr, get) }
	tr.direct.mu.Unlock()
	time.Sleep(maxSweep)
	synctest.Wait()
	tr.direct.mu.Lock()
	tr.direct.swept = nil
	tr.direct.mu.Unlock()
	return before, dxIdle(tr), m
}

// The sweep checks idle connections outside the pool's lock (a check is a
// system call): a request made meanwhile dials (the connections being
// checked are out of the pool) and returns its connection to the pool
// without waiting for the sweep; the two lists are then merged within
// SMax, the oldest going.
func TestDirectSweepChecksOutsideLock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var during []*directConn
		hooked := 0
		before, after, m := sweepWith(t, 1, func(tr *Transport, get func()) {
			hooked++
			if !tr.direct.mu.TryLock() {
				t.Error("the sweep checks under the pool's lock")
				return
			}
			tr.direct.mu.Unlock()
			during = dxIdle(tr) // the checked one is out of the pool
			get()               // dials, and puts its connection back
		})
		require.Equal(t, 1, hooked, "sweeps of the one address")
		assert.Empty(t, during, "idle while the sweep checked")
		require.Len(t, after, 1, "idle after the sweep (SMax 1)")
		assert.NotSame(t, before[0], after[0], "the oldest connection goes")
		m.await(t, "closed") // the old connection, closed by the sweep
		assert.Equal(t, []int{1, 1}, m.requests(), "requests per connection")
	})
}

// A connection out of the pool for the sweep's check when
// CloseIdleConnections is called was idle: it is closed, also when a
// request came after the call.
func TestDirectSweepThenCloseIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		before, after, m := sweepWith(t, 2, func(tr *Transport, get func()) {
			tr.CloseIdleConnections() // the member is being removed...
			get()                     // ...and a request came after
		})
		m.await(t, "closed") // the connection idle at the call
		require.Len(t, after, 1, "idle after the sweep")
		assert.NotSame(t, before[0], after[0])
	})
}

// CloseIdleConnections also closes the connections freed after it, until
// the next request, as net/http's does.
func TestDirectCloseIdleWhileInFlight(t *testing.T) {
	m := newRawMember(t, func(rc *rawConn) {
		serveEach("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")(rc)
		rc.note("closed")
	})
	tr := newTransport(t, Options{})
	res, err := tr.RoundTrip(newRequest(t, http.MethodGet, m.url(), nil))
	if err != nil {
		t.Fatal(err)
	}
	tr.CloseIdleConnections() // the member is being removed
	if b, err := io.ReadAll(res.Body); err != nil || string(b) != "ok" {
		t.Fatalf("%q, %v", b, err)
	}
	res.Body.Close()
	m.await(t, "closed")
	if n := len(dxIdle(tr)); n != 0 {
		t.Errorf("%d idle connections after CloseIdleConnections, want 0", n)
	}
	// A new request makes connections idle again.
	if body, err := dxGet(t, tr, testContext(t), m.url()); err != nil || body != "ok" {
		t.Fatalf("%q, %v", body, err)
	}
	if n := len(dxIdle(tr)); n != 1 {
		t.Errorf("%d idle connections after a new request, want 1", n)
	}
}

// The retry after a reused connection failed goes on a new connection,
// not on another pooled one (which may be as dead).
func TestDirectRetryDialsNewConnection(t *testing.T) {
	const ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	m := newRawMember(t, func(rc *rawConn) {
		if rc.id != 1 {
			serveEach(ok)(rc)
			return
		}
		// The second connection answers once, then closes on the next
		// request without a word.
		if rc.readRequest() && rc.write(ok) {
			rc.readRequest()
		}
	})
	tr := newTransport(t, Options{})
	r1, err := tr.RoundTrip(newRequest(t, http.MethodGet, m.url(), nil))
	if err != nil {
		t.Fatal(err)
	}
	r2, err := tr.RoundTrip(newRequest(t, http.MethodGet, m.url(), nil))
	if err != nil {
		t.Fatal(err)
	}
	// Freed in this order, the second connection is reused first.
	io.ReadAll(r1.Body)
	io.ReadAll(r2.Body)
	if n := len(dxIdle(tr)); n != 2 {
		t.Fatalf("%d idle connections, want 2", n)
	}
	if body, err := dxGet(t, tr, testContext(t), m.url()); err != nil || body != "ok" {
		t.Fatalf("%q, %v", body, err)
	}
	if reqs := m.requests(); len(reqs) != 3 || reqs[0] != 1 || reqs[1] != 2 || reqs[2] != 1 {
		t.Errorf("requests per connection %v, want [1 2 1]: the retry on a new third connection", reqs)
	}
	if n := len(dxIdle(tr)); n != 2 {
		t.Errorf("%d idle connections, want 2 (the first and the new one)", n)
	}
}

// A request whose context already ended fails with its cause and spends
// no pooled connection.
func TestDirectEndedContextKeepsPool(t *testing.T) {
	m := newRawMember(t, serveEach("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	tr := newTransport(t, Options{})
	if body, err := dxGet(t, tr, testContext(t), m.url()); err != nil || body != "ok" {
		t.Fatalf("%q, %v", body, err)
	}
	ctx, cancel := context.WithCancel(testContext(t))
	cancel()
	if _, err := dxGet(t, tr, ctx, m.url()); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := len(dxIdle(tr)); n != 1 {
		t.Errorf("%d idle connections, want 1", n)
	}
}

// A response followed in the same write by one nobody asked for (a body
// longer than its Content-Length, or a member that answers ahead): once
// the first body is read, the rest is buffered, and the connection is
// closed, never pooled, so the next request cannot take the stale bytes
// for its answer. Whether the body ends on the Read that returns its last
// byte or on a Read after it, and whether readResponse or
// http.ReadResponse parsed the head. (net/http's background read races the
// next request for such a connection, so this is not a differential test.)
func TestDirectBufferedExtraDropsConnection(t *testing.T) {
	const stale = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale"
	for framing, first := range map[string]string{
		"content-length": "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"chunked":        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
	} {
		for _, exact := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, exact read %v", framing, exact), func(t *testing.T) {
				m := newRawMember(t, func(rc *rawConn) {
					if rc.id > 0 {
						serveEach("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh")(rc)
						return
					}
					if rc.readRequest() && rc.write(first+stale) {
						rc.drain()
					}
				})
				tr := newTransport(t, Options{})
				req, err := http.NewRequestWithContext(testContext(t), http.MethodGet, m.url(), nil)
				require.NoError(t, err)
				require.True(t, takesDirect(tr, req))
				res, err := tr.RoundTrip(req)
				require.NoError(t, err)
				var body []byte
				if exact {
					body = make([]byte, 2)
					_, err = io.ReadFull(res.Body, body)
				} else {
					body, err = io.ReadAll(res.Body)
				}
				require.NoError(t, err)
				require.NoError(t, res.Body.Close())
				assert.Equal(t, "ok", string(body))

				got, err := dxGet(t, tr, testContext(t), m.url())
				require.NoError(t, err)
				assert.Equal(t, "fresh", got, "the second request's answer")
				assert.Equal(t, []int{1, 1}, m.requests(), "requests per connection")
			})
		}
	}
}

// A member that sends a head and part of the body, then resets the
// connection: the failure reaches the caller (from RoundTrip, or from
// the body if the head was read before the reset), and the next request
// goes to a new connection.
func TestDirectHeadThenReset(t *testing.T) {
	m := newRawMember(t, func(rc *rawConn) {
		if rc.id > 0 {
			serveEach("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh")(rc)
			return
		}
		if !rc.readRequest() || !rc.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello") {
			return
		}
		if tc, ok := rc.c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		rc.c.Close()
	})
	tr := newTransport(t, Options{})
	_, err := dxGet(t, tr, testContext(t), m.url())
	require.Error(t, err, "a body cut by a reset")
	got, err := dxGet(t, tr, testContext(t), m.url())
	require.NoError(t, err)
	assert.Equal(t, "fresh", got)
	assert.Equal(t, []int{1, 1}, m.requests())
}
