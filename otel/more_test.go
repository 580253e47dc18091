package otel_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"

	"github.com/proxybalancer/balancer"
	balancerotel "github.com/proxybalancer/balancer/otel"
)

// A GET whose connection the first member closes after reading it is
// retried on the other member: the second attempt span says "retry", not
// "failover", and the first one records why it failed.
func TestRetryAfterSendSpan(t *testing.T) {
	closer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			c.Close()
		}
	}))
	t.Cleanup(closer.Close)
	live := newMember(t, "live")
	h, exp := setup(t, balancerotel.Options{}, balancer.Config{
		Name: "r", Members: []balancer.Member{{URL: closer.URL}, {URL: live.srv.URL}},
	})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	require.Equal(t, http.StatusOK, w.Code)
	spans := exp.GetSpans()
	require.Len(t, spans, 3)
	first, second := attrs(spans[0]), attrs(spans[1])
	assert.Equal(t, closer.URL, first["balancer.member"])
	assert.Equal(t, codes.Error, spans[0].Status.Code)
	assert.Equal(t, "connection_closed", first["error.type"])
	assert.Equal(t, "retry", second["balancer.retry.kind"])
	assert.Equal(t, closer.URL, second["balancer.retry.from"])
	assert.Equal(t, first["error.type"], second["balancer.retry.reason"])
	assert.Equal(t, "200", second["http.response.status_code"])
}

// An upgrade (101 Switching Protocols) goes through the traced transport:
// the tunnel works both ways and the attempt span ends at the 101.
func TestUpgradeThroughTracedTransport(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "echo" {
			http.Error(w, "upgrade required", http.StatusUpgradeRequired)
			return
		}
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		brw.Flush()
		line, _ := brw.ReadString('\n')
		io.WriteString(c, "echo: "+line)
	}))
	t.Cleanup(echo.Close)
	h, exp := setup(t, balancerotel.Options{}, balancer.Config{Name: "ws", Members: []balancer.Member{{URL: echo.URL}}})
	served := make(chan struct{})
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(served)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)

	c, err := net.Dial("tcp", front.Listener.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, "GET /tunnel HTTP/1.1\r\nHost: front\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	require.NoError(t, err)
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, res.StatusCode)
	_, err = io.WriteString(c, "hello\n")
	require.NoError(t, err)
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "echo: hello\n", line)

	c.Close()
	<-served // the tunnel ended, and with it the request span
	spans := exp.GetSpans()
	require.Len(t, spans, 2)
	assert.Equal(t, "101", attrs(spans[0])["http.response.status_code"])
	assert.Equal(t, codes.Unset, spans[0].Status.Code)
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

// Tracing keeps the member transport's direct exchange for body-less
// GETs: no net/http client connection appears for them (a POST, which
// net/http carries, does open one).
func TestTracingKeepsDirectExchange(t *testing.T) {
	live := newMember(t, "live")
	h, exp := setup(t, balancerotel.Options{}, balancer.Config{Name: "d", Members: []balancer.Member{{URL: live.srv.URL}}})
	before := netHTTPConns()
	for range 3 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		require.Equal(t, http.StatusOK, w.Code)
	}
	assert.LessOrEqual(t, netHTTPConns(), before)
	before = netHTTPConns()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/", strings.NewReader("x")))
	require.Equal(t, http.StatusOK, w.Code)
	assert.Greater(t, netHTTPConns(), before)
	assert.Len(t, exp.GetSpans(), 8)
	assert.Len(t, live.traceparents(), 4)
}
