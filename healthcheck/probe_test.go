package healthcheck

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests use real loopback connections, outside any synctest bubble,
// and call probe directly: scheduling is tested in checker_test.go.

// exchange is what a rawServer saw on one connection.
type exchange struct {
	request      string // the bytes up to the blank line, or all of them before EOF
	clientClosed bool   // the client closed the connection after the response
}

// rawServer is a loopback TCP server that records the exact request bytes,
// answers with a fixed response, and then waits for the client to close the
// connection (it never closes first, so a check must).
type rawServer struct {
	addr      string
	exchanges chan exchange
}

func newRawServer(t *testing.T, response string) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{addr: ln.Addr().String(), exchanges: make(chan exchange, 16)}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { s.serve(conn, response) })
		}
	})
	return s
}

func (s *rawServer) serve(conn net.Conn, response string) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second)) // a bound, not a wait
	req, err := readRequest(bufio.NewReader(conn))
	if err == nil {
		io.WriteString(conn, response)
	}
	// EOF, or a reset when the client closed with a response unread; only
	// the deadline means the client kept the connection open.
	_, err = io.Copy(io.Discard, conn)
	s.exchanges <- exchange{request: req, clientClosed: !errors.Is(err, os.ErrDeadlineExceeded)}
}

// next returns the next exchange, failing the test if there is none.
func (s *rawServer) next(t *testing.T) exchange {
	t.Helper()
	select {
	case e := <-s.exchanges:
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("the server saw no connection")
		return exchange{}
	}
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestProbeRequestBytes(t *testing.T) {
	const ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	tests := []struct {
		method Method
		path   string // member URL path
		uri    string
		want   string // request line; "" for TCP (no bytes at all)
	}{
		{MethodGet, "/app", "/health", "GET /app/health HTTP/1.0"},
		{MethodGet, "/app/", "/health?x=1&y", "GET /app/health?x=1&y HTTP/1.0"},
		{MethodGet11, "", "health", "GET /health HTTP/1.1"},
		{MethodGet11, "/a%20b", "", "GET /a%20b HTTP/1.1"},
		{MethodHead, "", "", "HEAD / HTTP/1.0"},
		{MethodHead11, "/app/", "//h", "HEAD /app/h HTTP/1.1"},
		{MethodOptions, "/app", "/health", "OPTIONS * HTTP/1.0"},
		{MethodOptions11, "", "", "OPTIONS * HTTP/1.1"},
		{MethodTCP, "/app", "/health", ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v %q+%q", tt.method, tt.path, tt.uri), func(t *testing.T) {
			srv := newRawServer(t, ok)
			u := mustURL(t, "http://"+srv.addr+tt.path)
			var c Checker
			o := c.probe(t.Context(), at(u), Check{Method: tt.method, URI: tt.uri})
			if o.err != nil {
				t.Fatalf("check failed: %v", o.err)
			}
			e := srv.next(t)
			want := ""
			if tt.want != "" {
				want = tt.want + "\r\nHost: " + srv.addr + "\r\n\r\n"
			}
			if e.request != want {
				t.Errorf("request bytes = %q, want %q", e.request, want)
			}
			if !e.clientClosed {
				t.Error("the check did not close the connection")
			}
			wantStatus := 200
			if tt.method == MethodTCP {
				wantStatus = 0
			}
			if o.status != wantStatus {
				t.Errorf("status = %d, want %d", o.status, wantStatus)
			}
		})
	}
}

func TestProbeDefaultPassCriterion(t *testing.T) {
	tests := []struct {
		status int
		pass   bool
	}{
		{200, true}, {204, true}, {302, true}, {399, true},
		{199, false}, {400, false}, {404, false}, {500, false}, {503, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			srv := newRawServer(t, fmt.Sprintf("HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n", tt.status))
			var c Checker
			o := c.probe(t.Context(), at(mustURL(t, "http://"+srv.addr)), Check{Method: MethodGet11})
			if got := o.err == nil; got != tt.pass {
				t.Errorf("passed = %v (err %v), want %v", got, o.err, tt.pass)
			}
			if o.status != tt.status {
				t.Errorf("status = %d, want %d", o.status, tt.status)
			}
			srv.next(t)
		})
	}
}

func TestProbeExpect(t *testing.T) {
	const maintenance = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nX-Ready: no\r\nContent-Length: 17\r\n\r\nUnder maintenance"
	big := strings.Repeat("x", MaxBody+1000)
	tests := []struct {
		name     string
		method   Method
		response string
		expect   func(*Response) bool
		pass     bool
	}{
		{
			name:     "status accepted that the default refuses",
			method:   MethodGet,
			response: "HTTP/1.0 503 Unavailable\r\nContent-Length: 0\r\n\r\n",
			expect:   func(r *Response) bool { return r.StatusCode == 503 },
			pass:     true,
		},
		{
			name:     "header",
			method:   MethodHead11,
			response: maintenance,
			expect:   func(r *Response) bool { return r.Header.Get("X-Ready") == "yes" },
			pass:     false,
		},
		{
			name:     "header, canonical key",
			method:   MethodOptions,
			response: "HTTP/1.0 200 OK\r\nx-ready: yes\r\nContent-Length: 0\r\n\r\n",
			expect:   func(r *Response) bool { return r.Header.Get("X-Ready") == "yes" && r.Body == nil },
			pass:     true,
		},
		{
			name:     "body",
			method:   MethodGet,
			response: maintenance,
			expect:   func(r *Response) bool { return !strings.Contains(string(r.Body), "Under maintenance") },
			pass:     false,
		},
		{
			name:     "body of a healthy GET11",
			method:   MethodGet11,
			response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
			expect:   func(r *Response) bool { return string(r.Body) == "ok" },
			pass:     true,
		},
		{
			name:     "no body for HEAD",
			method:   MethodHead,
			response: maintenance,
			expect:   func(r *Response) bool { return r.Body == nil && r.Header.Get("Content-Length") == "17" },
			pass:     true,
		},
		{
			name:     "body is bounded",
			method:   MethodGet,
			response: fmt.Sprintf("HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(big), big),
			expect:   func(r *Response) bool { return string(r.Body) == big[:MaxBody] },
			pass:     true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newRawServer(t, tt.response)
			var c Checker
			o := c.probe(t.Context(), at(mustURL(t, "http://"+srv.addr)), Check{Method: tt.method, Expect: tt.expect})
			if got := o.err == nil; got != tt.pass {
				t.Errorf("passed = %v (err %v), want %v", got, o.err, tt.pass)
			}
			if e := srv.next(t); !e.clientClosed {
				t.Error("the check did not close the connection")
			}
		})
	}
}

func TestProbeRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	for _, m := range []Method{MethodTCP, MethodGet} {
		var c Checker
		o := c.probe(t.Context(), at(mustURL(t, "http://"+addr)), Check{Method: m})
		var opErr *net.OpError
		if !errors.As(o.err, &opErr) || opErr.Op != "dial" {
			t.Errorf("%v: err = %v, want a dial error", m, o.err)
		}
	}
}

func TestProbeTLS(t *testing.T) {
	type seen struct{ host, uri, proto string }
	got := make(chan seen, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.Host, r.RequestURI, r.Proto}
		io.WriteString(w, "ok")
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	srv.StartTLS()
	t.Cleanup(srv.Close)
	u := mustURL(t, srv.URL+"/app")
	chk := Check{Method: MethodGet11, URI: "/health", Expect: func(r *Response) bool { return string(r.Body) == "ok" }}

	trusted := srv.Client().Transport.(*http.Transport).TLSClientConfig
	c := Checker{TLSConfig: trusted}
	if o := c.probe(t.Context(), at(u), chk); o.err != nil || o.status != 200 {
		t.Fatalf("https check: status %d, err %v", o.status, o.err)
	}
	want := seen{u.Host, "/app/health", "HTTP/1.1"}
	if s := <-got; s != want {
		t.Errorf("server saw %+v, want %+v", s, want)
	}
	if trusted.ServerName != "" {
		t.Error("the caller's TLSConfig was modified")
	}

	var untrusting Checker
	if o := untrusting.probe(t.Context(), at(u), chk); o.err == nil || !strings.Contains(o.err.Error(), "certificate") {
		t.Errorf("check with an untrusted certificate: err %v, want a certificate error", o.err)
	}
}

// connTarget reaches its member its own way (ConnTarget).
type connTarget struct {
	urlTarget
	tls   *tls.Config
	dials atomic.Int64
}

func (c *connTarget) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c.dials.Add(1)
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func (c *connTarget) TLSConfig() *tls.Config { return c.tls }

// A ConnTarget's Dial and TLSConfig replace the Checker's.
func TestProbeConnTarget(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "HTTP/1.1", r.Proto)
		io.WriteString(w, "ok")
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	trusted := srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	trusted.NextProtos = []string{"h2", "http/1.1"}
	ct := &connTarget{urlTarget: urlTarget{u: mustURL(t, srv.URL)}, tls: trusted}
	chk := Check{Method: MethodGet11, URI: "/health"}

	var untrusting Checker
	o := untrusting.probe(t.Context(), ct, chk)
	require.NoError(t, o.err, "the target's TLS configuration")
	assert.Equal(t, 200, o.status)
	assert.EqualValues(t, 1, ct.dials.Load(), "the target's Dial")
	assert.Equal(t, []string{"h2", "http/1.1"}, trusted.NextProtos, "the target's TLSConfig was modified")

	ct.tls = nil // the Checker's (the default: the certificate is not trusted)
	o = untrusting.probe(t.Context(), ct, chk)
	assert.ErrorContains(t, o.err, "certificate")
	assert.EqualValues(t, 2, ct.dials.Load())
}

// at is a target at u, for probe (which reads only its URL).
func at(u *url.URL) Target { return urlTarget{u: u} }

type urlTarget struct {
	Target
	u *url.URL
}

func (t urlTarget) URL() *url.URL { return t.u }
