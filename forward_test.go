package balancer_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
)

// rawFront sends raw to the front end and returns the answer's bytes (the
// request says Connection: close).
func rawFront(t *testing.T, addr, raw string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, raw)
	require.NoError(t, err)
	all, err := io.ReadAll(c)
	require.NoError(t, err)
	return string(all)
}

// The member gets the query byte for byte and the path as Apache encodes
// it, on both ways a request travels (a GET by the direct exchange, a POST
// through net/http).
func TestForwardQueryAndPath(t *testing.T) {
	var mu sync.Mutex
	var uris []string
	member := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		uris = append(uris, r.RequestURI)
		mu.Unlock()
	}))
	t.Cleanup(member.Close)
	b := mustNew(t, balancer.Config{Members: []balancer.Member{{URL: member.URL + "/base"}}})
	front := httptest.NewServer(b)
	t.Cleanup(front.Close)
	cases := []struct{ target, want string }{
		{"/p?sig=abc;x=1&b=2", "/base/p?sig=abc;x=1&b=2"},
		{"/p?z=1&a=%zz&m=1", "/base/p?z=1&a=%zz&m=1"},
		{"/p?", "/base/p?"},
		{"/p%3Bx", "/base/p;x"},
		{"/p%7Ex", "/base/p~x"},
		{"/p%20q", "/base/p%20q"},
		{"/p%21%2A%27%28%29", "/base/p!*'()"},
		{"/p%c3%a9", "/base/p%C3%A9"},
		{"/p%25zz", "/base/p%25zz"},
	}
	for _, method := range []string{"GET", "POST"} {
		for _, c := range cases {
			mu.Lock()
			uris = nil
			mu.Unlock()
			body := "Content-Length: 0\r\n"
			if method == "POST" {
				body = "Content-Length: 1\r\n"
			}
			raw := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: front\r\n%sConnection: close\r\n\r\n", method, c.target, body)
			if method == "POST" {
				raw += "x"
			}
			res := rawFront(t, front.Listener.Addr().String(), raw)
			require.True(t, strings.HasPrefix(res, "HTTP/1.1 200"), "%s %s: %q", method, c.target, res)
			mu.Lock()
			assert.Equal(t, []string{c.want}, uris, "%s %s", method, c.target)
			mu.Unlock()
		}
	}
	for _, target := range []string{"/a%2Fb", "/a%2fb", "/p%00q"} {
		res := rawFront(t, front.Listener.Addr().String(), "GET "+target+" HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n")
		assert.True(t, strings.HasPrefix(res, "HTTP/1.1 404"), "%s: %q, want Apache's 404", target, res)
	}
}

// A chunked response reaches the client chunked, even an empty one, on
// both ways a request travels; its trailer passes; a 103 passes.
func TestForwardResponseFraming(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					var answer string
					switch req.URL.Path {
					case "/empty":
						answer = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
						if req.Method == http.MethodHead {
							answer = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
						}
					case "/trailer":
						answer = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n2\r\nok\r\n0\r\nX-Sum: 42\r\n\r\n"
					case "/early":
						answer = "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
					}
					if _, err := io.WriteString(c, answer); err != nil {
						return
					}
				}
			})
		}
	})
	b := mustNew(t, balancer.Config{Members: []balancer.Member{{URL: "http://" + l.Addr().String()}}})
	front := httptest.NewServer(b)
	t.Cleanup(front.Close)
	for _, method := range []string{"GET", "POST"} {
		req := func(path string) string {
			if method == "POST" {
				return "POST " + path + " HTTP/1.1\r\nHost: front\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx"
			}
			return "GET " + path + " HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"
		}
		for range 20 { // the framing was a race before: repeat
			res := rawFront(t, front.Listener.Addr().String(), req("/empty"))
			require.Contains(t, res, "Transfer-Encoding: chunked\r\n", method)
			require.NotContains(t, res, "Content-Length", method)
			require.True(t, strings.HasSuffix(res, "\r\n\r\n0\r\n\r\n"), "%s: %q", method, res)
		}
		res, err := http.ReadResponse(bufio.NewReader(strings.NewReader(rawFront(t, front.Listener.Addr().String(), req("/trailer")))), nil)
		require.NoError(t, err)
		body, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		assert.Equal(t, "ok", string(body), method)
		assert.Equal(t, "42", res.Trailer.Get("X-Sum"), method)

		head := rawFront(t, front.Listener.Addr().String(), "HEAD /empty HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n")
		assert.True(t, strings.HasPrefix(head, "HTTP/1.1 200 OK\r\n") && strings.HasSuffix(head, "\r\n\r\n") && !strings.Contains(head, "\r\n0\r\n"), "HEAD: %q", head)

		early := rawFront(t, front.Listener.Addr().String(), req("/early"))
		assert.True(t, strings.HasPrefix(early, "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\n"), "%s: %q", method, early)
	}
}

// A client's h2c upgrade is never forwarded (the member would take the
// connection for requests never routed); its other headers are, and a
// WebSocket upgrade still is (TestWebSocketThroughBalancer).
func TestForwardNoH2CUpgrade(t *testing.T) {
	var mu sync.Mutex
	var got http.Header
	member := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Header.Clone()
		mu.Unlock()
	}))
	t.Cleanup(member.Close)
	b := mustNew(t, balancer.Config{Members: []balancer.Member{{URL: member.URL}}})
	front := httptest.NewServer(b)
	t.Cleanup(front.Close)
	for _, up := range []string{"h2c", "H2C", "foo, h2c"} {
		res := rawFront(t, front.Listener.Addr().String(), "GET /p HTTP/1.1\r\nHost: front\r\nConnection: Upgrade, HTTP2-Settings, close\r\nUpgrade: "+up+
			"\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nX-Kept: yes\r\n\r\n")
		require.True(t, strings.HasPrefix(res, "HTTP/1.1 200"), "%q", res)
		mu.Lock()
		assert.Empty(t, got.Values("Upgrade"), up)
		assert.Empty(t, got.Values("Http2-Settings"), up)
		assert.Equal(t, "yes", got.Get("X-Kept"), up)
		mu.Unlock()
	}
}

// Headers the client names in Connection are hop-by-hop and dropped, but a
// client cannot strip the headers the balancer adds that way.
func TestForwardConnectionHeader(t *testing.T) {
	var mu sync.Mutex
	var got http.Header
	member := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Header.Clone()
		mu.Unlock()
	}))
	t.Cleanup(member.Close)
	b := mustNew(t, balancer.Config{ServerName: "gw", Members: []balancer.Member{{URL: member.URL}}})
	front := httptest.NewServer(b)
	t.Cleanup(front.Close)
	res := rawFront(t, front.Listener.Addr().String(), "GET /p HTTP/1.1\r\nHost: front\r\nX-Foo: a\r\nX-Forwarded-For: 6.6.6.6\r\n"+
		"Connection: close, X-Foo, X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Server\r\n\r\n")
	require.True(t, strings.HasPrefix(res, "HTTP/1.1 200"), "%q", res)
	mu.Lock()
	defer mu.Unlock()
	assert.Empty(t, got.Values("X-Foo"))
	assert.Equal(t, []string{"127.0.0.1"}, got.Values("X-Forwarded-For"))
	assert.Equal(t, []string{"front"}, got.Values("X-Forwarded-Host"))
	assert.Equal(t, []string{"gw"}, got.Values("X-Forwarded-Server"))
}

// PreserveHost: the member gets the client's Host.
func TestForwardPreserveHost(t *testing.T) {
	hosts := make(chan string, 2)
	member := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hosts <- r.Host }))
	t.Cleanup(member.Close)
	for _, preserve := range []bool{false, true} {
		b := mustNew(t, balancer.Config{PreserveHost: preserve, Members: []balancer.Member{{URL: member.URL}}})
		r := httptest.NewRequest("GET", "http://front.example:8080/p", nil)
		b.ServeHTTP(httptest.NewRecorder(), r)
		want := strings.TrimPrefix(member.URL, "http://")
		if preserve {
			want = "front.example:8080"
		}
		assert.Equal(t, want, <-hosts, "PreserveHost %v", preserve)
	}
}

// A Rewrite that replaces the outbound request, as ReverseProxy allows,
// works; the routing decision is still found from it.
func TestForwardRewriteReplacesOut(t *testing.T) {
	paths := make(chan string, 1)
	member := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths <- r.URL.Path + " " + r.Header.Get("X-Route")
	}))
	t.Cleanup(member.Close)
	b := mustNew(t, balancer.Config{
		Members: []balancer.Member{{URL: member.URL, Route: "r1"}},
		Rewrite: func(pr *httputil.ProxyRequest) {
			out, err := http.NewRequest(pr.Out.Method, pr.Out.URL.String()+"/replaced", nil)
			if err != nil {
				panic(err)
			}
			pr.Out = out
		},
		ModifyResponse: func(res *http.Response) error {
			info, ok := balancer.FromContext(res.Request.Context())
			if !ok {
				return errors.New("no routing decision")
			}
			res.Header.Set("X-Worker-Route", info.WorkerRoute)
			return nil
		},
	})
	w := httptest.NewRecorder()
	b.ServeHTTP(w, httptest.NewRequest("GET", "/p", nil))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, "/p/replaced ", <-paths)
	assert.Equal(t, "r1", w.Header().Get("X-Worker-Route"))
}

// Proxy errors and ModifyResponse errors reach Config.ErrorLog, as with
// ReverseProxy.
func TestForwardErrorLog(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := log.New(writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return buf.Write(p) }), "", 0)
	member := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(member.Close)
	b := mustNew(t, balancer.Config{
		ErrorLog: logger,
		Members:  []balancer.Member{{URL: member.URL}},
		ModifyResponse: func(*http.Response) error {
			return errors.New("modify failed")
		},
	})
	w := httptest.NewRecorder()
	b.ServeHTTP(w, httptest.NewRequest("GET", "/p", nil))
	assert.Equal(t, http.StatusBadGateway, w.Code)

	dead := mustNew(t, balancer.Config{ErrorLog: logger, Members: []balancer.Member{{URL: closedPort(t)}}})
	w = httptest.NewRecorder()
	dead.ServeHTTP(w, httptest.NewRequest("GET", "/p", nil))
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)

	mu.Lock()
	defer mu.Unlock()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2, buf.String())
	assert.Equal(t, "http: proxy error: modify failed", lines[0])
	assert.Contains(t, lines[1], "http: proxy error: balancer: no usable member")
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// The forwarding fields take effect on the next request after Reconfigure
// (TestReconfigureEveryField runs these).
func init() {
	reconfigureTests["PreserveHost"] = func(t *testing.T) {
		st := newStub()
		b := mustNew(t, balancer.Config{Members: members("a"), Transport: st})
		reconfigure(t, b, func(c *balancer.Config) { c.PreserveHost = true })
		seq(t, b, 1, nil)
		assert.Equal(t, "front.example", st.Last().Host)
	}
	reconfigureTests["ServerName"] = func(t *testing.T) {
		st := newStub()
		b := mustNew(t, balancer.Config{Members: members("a"), Transport: st, ServerName: "one"})
		reconfigure(t, b, func(c *balancer.Config) { c.ServerName = "two" })
		seq(t, b, 1, nil)
		assert.Equal(t, "two", st.Last().Header.Get("X-Forwarded-Server"))
	}
	reconfigureTests["TrustedProxies"] = func(t *testing.T) {
		st := newStub()
		b := mustNew(t, balancer.Config{Members: members("a"), Transport: st})
		spoof := func(r *http.Request) { r.RemoteAddr = "192.0.2.1:1"; r.Header.Set("X-Forwarded-For", "6.6.6.6") }
		seq(t, b, 1, spoof)
		assert.Equal(t, "6.6.6.6, 192.0.2.1", st.Last().Header.Get("X-Forwarded-For"))
		reconfigure(t, b, func(c *balancer.Config) { c.TrustedProxies = []string{"10.0.0.0/8"} })
		seq(t, b, 1, spoof)
		assert.Equal(t, "192.0.2.1", st.Last().Header.Get("X-Forwarded-For"))
		err := b.Reconfigure(func(c *balancer.Config) error { c.TrustedProxies = []string{"nonsense"}; return nil })
		assert.ErrorContains(t, err, `trustedproxies "nonsense"`)
	}
}
