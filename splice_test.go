package balancer_test

import (
	"bytes"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
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

// The zero-copy path: a large response body with a known length, reached
// over the direct exchange, goes to a plain HTTP/1.1 client by the
// ResponseWriter's ReadFrom with the member's socket as its source, which
// net/http turns into splice(2). These tests run real loopback servers on
// both sides and check what the client and the member see.

// spliceMember is a loopback member serving body with its length, and
// counting the connections it accepted.
type spliceMember struct {
	srv   *httptest.Server
	body  []byte
	conns atomic.Int32
}

func newSpliceMember(t *testing.T, size int, h http.HandlerFunc) *spliceMember {
	t.Helper()
	m := &spliceMember{body: make([]byte, size)}
	rng := rand.New(rand.NewPCG(1, uint64(size)))
	for i := range m.body {
		m.body[i] = byte(rng.Uint32())
	}
	if h == nil {
		h = func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(m.body)))
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(m.body)
		}
	}
	m.srv = httptest.NewUnstartedServer(h)
	m.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			m.conns.Add(1)
		}
	}
	m.srv.Start()
	t.Cleanup(m.srv.Close)
	return m
}

// readFromRecorder is the client's ResponseWriter as the balancer sees it,
// recording the ReadFrom calls and whether their source is one net/http
// splices from (the member's TCP socket, limited to the body's rest).
type readFromRecorder struct {
	http.ResponseWriter
	calls, spliceable *atomic.Int32
}

func (w readFromRecorder) ReadFrom(src io.Reader) (int64, error) {
	w.calls.Add(1)
	if lr, ok := src.(*io.LimitedReader); ok {
		if _, ok := lr.R.(*net.TCPConn); ok {
			w.spliceable.Add(1)
		}
	}
	return w.ResponseWriter.(io.ReaderFrom).ReadFrom(src)
}

func (w readFromRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// spliceFront is the client side of a balancer: a loopback server whose
// handler records ReadFrom calls, the balancer's error log and its Done
// events.
type spliceFront struct {
	srv               *httptest.Server
	lb                *balancer.Balancer
	calls, spliceable atomic.Int32
	clientConns       atomic.Int32
	logMu             sync.Mutex
	log               bytes.Buffer
	done              chan balancer.DoneEvent
	client            *http.Client
}

func newSpliceFront(t *testing.T, m *spliceMember, edit func(*balancer.Config), useTLS bool) *spliceFront {
	t.Helper()
	f := &spliceFront{done: make(chan balancer.DoneEvent, 16)}
	cfg := balancer.Config{
		Name:     "splice",
		Members:  []balancer.Member{{URL: m.srv.URL}},
		ErrorLog: log.New(lockedWriter{&f.logMu, &f.log}, "", 0),
		Observer: &balancer.Observer{Done: func(e balancer.DoneEvent) { f.done <- e }},
	}
	if edit != nil {
		edit(&cfg)
	}
	lb, err := balancer.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { lb.Close() })
	f.lb = lb
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lb.ServeHTTP(readFromRecorder{w, &f.calls, &f.spliceable}, r)
	})
	f.srv = httptest.NewUnstartedServer(h)
	f.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.clientConns.Add(1)
		}
	}
	if useTLS {
		f.srv.StartTLS()
		f.client = f.srv.Client()
	} else {
		f.srv.Start()
		f.client = &http.Client{Transport: &http.Transport{DisableCompression: true}}
	}
	t.Cleanup(f.srv.Close)
	t.Cleanup(f.client.CloseIdleConnections)
	return f
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (f *spliceFront) errorLog() string {
	f.logMu.Lock()
	defer f.logMu.Unlock()
	return f.log.String()
}

func (f *spliceFront) event(t *testing.T) balancer.DoneEvent {
	t.Helper()
	select {
	case e := <-f.done:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no Done event within 10 s")
		return balancer.DoneEvent{}
	}
}

func (f *spliceFront) get(t *testing.T, method, path string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, nil)
	require.NoError(t, err)
	res, err := f.client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	return res, got, err
}

// A 1 MiB body (and an odd length) arrives whole, with its length, by
// ReadFrom from the member's socket; the member's connection and the
// client's are reused; the bytes are accounted for.
func TestSpliceBody(t *testing.T) {
	for _, size := range []int{1 << 20, 3<<20 + 7} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			m := newSpliceMember(t, size, nil)
			f := newSpliceFront(t, m, nil, false)
			for i := range 3 {
				res, got, err := f.get(t, "GET", "/file")
				require.NoError(t, err, "request %d", i)
				assert.Equal(t, 200, res.StatusCode)
				assert.Equal(t, int64(size), res.ContentLength, "request %d: Content-Length", i)
				assert.Empty(t, res.TransferEncoding)
				assert.True(t, bytes.Equal(m.body, got), "request %d: %d bytes differ from the member's %d", i, len(got), size)
				e := f.event(t)
				assert.Equal(t, int64(size), e.BytesOut, "request %d: DoneEvent.BytesOut", i)
				assert.NoError(t, e.Err)
			}
			assert.Equal(t, int32(3), f.calls.Load(), "ReadFrom calls")
			assert.Equal(t, int32(3), f.spliceable.Load(), "ReadFrom calls from the member's socket")
			assert.Equal(t, int32(1), m.conns.Load(), "member connections")
			assert.Equal(t, int32(1), f.clientConns.Load(), "client connections")
			st := f.lb.Members()[0]
			assert.Equal(t, int64(3*(size+len("HTTP/1.1 200 OK\r\n"))), st.Read, "bytes read from the member")
			assert.Empty(t, f.errorLog())

			// And once more on the same connections.
			res, got, err := f.get(t, "GET", "/file")
			require.NoError(t, err)
			assert.Len(t, got, size)
			assert.Equal(t, 200, res.StatusCode)
			f.event(t)
			assert.Equal(t, int32(1), m.conns.Load(), "member connections after the 4th request")
		})
	}
}

// Where zero-copy does not apply, the body is copied as before: same bytes,
// no ReadFrom.
func TestSpliceNotUsed(t *testing.T) {
	const size = 1 << 20
	for _, tc := range []struct {
		name   string
		method string
		tls    bool
		cfg    func(*balancer.Config)
		member func(m *spliceMember) http.HandlerFunc
		wantCT string
	}{
		{name: "HEAD", method: "HEAD"},
		{name: "TLS client", tls: true},
		{name: "FlushInterval", cfg: func(c *balancer.Config) { c.FlushInterval = time.Hour }},
		{name: "negative FlushInterval", cfg: func(c *balancer.Config) { c.FlushInterval = -1 }},
		{name: "ModifyResponse replaces the body", cfg: func(c *balancer.Config) {
			c.ModifyResponse = func(res *http.Response) error {
				res.Body = struct {
					io.Reader
					io.Closer
				}{res.Body, res.Body}
				return nil
			}
		}},
		{name: "chunked", member: func(m *spliceMember) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Write(m.body[:size/2])
				w.(http.Flusher).Flush()
				w.Write(m.body[size/2:])
			}
		}},
		{name: "server-sent events", member: func(m *spliceMember) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
				w.Header().Set("Content-Length", strconv.Itoa(size))
				w.Write(m.body)
			}
		}},
		{name: "16 KiB", member: func(m *spliceMember) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", strconv.Itoa(16<<10))
				w.Write(m.body[:16<<10])
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m *spliceMember
			if tc.member != nil {
				var h http.HandlerFunc
				m = newSpliceMember(t, size, func(w http.ResponseWriter, r *http.Request) { h(w, r) })
				h = tc.member(m)
			} else {
				m = newSpliceMember(t, size, nil)
			}
			f := newSpliceFront(t, m, tc.cfg, tc.tls)
			method := tc.method
			if method == "" {
				method = "GET"
			}
			res, got, err := f.get(t, method, "/")
			require.NoError(t, err)
			assert.Equal(t, 200, res.StatusCode)
			want := m.body
			switch tc.name {
			case "HEAD":
				want = nil
			case "16 KiB":
				want = m.body[:16<<10]
			}
			assert.True(t, bytes.Equal(want, got), "got %d bytes, want %d", len(got), len(want))
			assert.Zero(t, f.spliceable.Load(), "ReadFrom calls from the member's socket")
			assert.Equal(t, int64(len(want)), f.event(t).BytesOut)
		})
	}
}

// A member that stops sending in the middle of the body is timed out after
// its Timeout, not before; the client gets the body cut short; the member's
// connection is closed and the next request gets a new one. Pauses shorter
// than Timeout between pieces never time out, however long the whole body
// takes. (Real time on loopback, as splice needs TCP sockets: each pause
// is a tenth of Timeout, so a member goroutine woken late on a loaded
// machine still has 900 ms before its silence would be a timeout.)
func TestSpliceMemberTimeout(t *testing.T) {
	const size, piece = 1 << 20, 64 << 10
	const timeout = time.Second
	stall := make(chan struct{})
	defer close(stall)
	var pause atomic.Int64 // between pieces; < 0: stall after the first
	m := newSpliceMember(t, size, nil)
	m.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		for i := 0; i < size; i += piece {
			if i > 0 {
				p := pause.Load()
				if p < 0 {
					select {
					case <-stall:
					case <-r.Context().Done():
					}
					return
				}
				select {
				case <-time.After(time.Duration(p)):
				case <-r.Context().Done():
					return
				}
			}
			w.Write(m.body[i : i+piece])
			w.(http.Flusher).Flush()
		}
	})
	f := newSpliceFront(t, m, func(c *balancer.Config) {
		c.Members[0].Connection = transport.Options{Timeout: timeout}
	}, false)

	t.Run("pauses under Timeout", func(t *testing.T) {
		pause.Store(int64(timeout / 10)) // 15 pauses: 1.5 s in all
		start := time.Now()
		_, got, err := f.get(t, "GET", "/")
		require.NoError(t, err)
		assert.True(t, bytes.Equal(m.body, got), "got %d bytes", len(got))
		assert.Greater(t, time.Since(start), timeout, "the whole body took longer than Timeout")
		assert.Equal(t, int64(size), f.event(t).BytesOut)
		// The transfer runs in slices of Timeout/16: several ReadFrom.
		assert.Positive(t, f.spliceable.Load())
	})
	t.Run("stalled", func(t *testing.T) {
		pause.Store(-1)
		conns, spliced := m.conns.Load(), f.spliceable.Load()
		start := time.Now()
		res, got, err := f.get(t, "GET", "/")
		elapsed := time.Since(start)
		assert.Equal(t, int64(size), res.ContentLength)
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
		assert.Less(t, len(got), size)
		assert.GreaterOrEqual(t, len(got), piece)
		assert.GreaterOrEqual(t, elapsed, timeout, "timed out early")
		e := f.event(t)
		assert.Equal(t, int64(len(got)), e.BytesOut)
		assert.Contains(t, f.errorLog(), "read error during body copy")
		assert.Contains(t, f.errorLog(), transport.ErrTimeout.Error())
		assert.Greater(t, f.spliceable.Load(), spliced)

		pause.Store(0)
		_, got, err = f.get(t, "GET", "/")
		require.NoError(t, err)
		assert.True(t, bytes.Equal(m.body, got))
		f.event(t)
		assert.Equal(t, conns+1, m.conns.Load(), "the timed-out connection is not reused")
	})
}

// A client that goes away in the middle of a body: the request ends, the
// member's connection is closed (the member sees its write fail), nothing
// is logged as the member's error, and the next request is served.
func TestSpliceClientGone(t *testing.T) {
	const size = 64 << 20
	memberDone := make(chan error, 1)
	m := newSpliceMember(t, 1<<20, nil)
	m.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/small" {
			w.Header().Set("Content-Length", strconv.Itoa(len(m.body)))
			w.Write(m.body)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(size))
		var err error
		for i := 0; i < size/len(m.body) && err == nil; i++ {
			_, err = w.Write(m.body)
		}
		memberDone <- err
	})
	f := newSpliceFront(t, m, nil, false)

	conn, err := net.Dial("tcp", f.srv.Listener.Addr().String())
	require.NoError(t, err)
	_, err = io.WriteString(conn, "GET /big HTTP/1.1\r\nHost: front\r\n\r\n")
	require.NoError(t, err)
	head := make([]byte, 256<<10)
	_, err = io.ReadFull(conn, head)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(head), "HTTP/1.1 200 OK\r\n"), "%.40q", head)
	conn.(*net.TCPConn).SetLinger(0) // reset, as a client that gives up may
	conn.Close()

	e := f.event(t)
	assert.Less(t, e.BytesOut, int64(size))
	select {
	case err := <-memberDone:
		assert.Error(t, err, "the member's write after the client went away")
	case <-time.After(10 * time.Second):
		t.Fatal("the member is still sending 10 s after the client went away")
	}
	assert.NotContains(t, f.errorLog(), "read error")
	assert.Equal(t, int32(1), f.spliceable.Load())

	_, got, err := f.get(t, "GET", "/small")
	require.NoError(t, err)
	assert.True(t, bytes.Equal(m.body, got))
	f.event(t)
	assert.Equal(t, int32(2), f.spliceable.Load())
}

// A member that closes its connection before the end of the body: the
// client gets the body cut short, the error is logged as a read error.
func TestSpliceMemberCutsShort(t *testing.T) {
	const size = 1 << 20
	m := newSpliceMember(t, size, nil)
	m.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		w.Write(m.body[:size/2])
		w.(http.Flusher).Flush()
		c, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			c.Close()
		}
	})
	f := newSpliceFront(t, m, nil, false)
	res, got, err := f.get(t, "GET", "/")
	assert.Equal(t, int64(size), res.ContentLength)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.True(t, bytes.Equal(m.body[:len(got)], got), "the bytes that came are the member's")
	assert.Equal(t, int64(len(got)), f.event(t).BytesOut)
	assert.Contains(t, f.errorLog(), "read error during body copy: unexpected EOF")
}
