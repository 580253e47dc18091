package httpdconf_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/httpdconf"
)

// hostDialer is a transport whose connections to the configuration's host
// names go to loopback test servers instead: the requests (Host header,
// path) are what the balancer sends to the real hosts.
type hostDialer struct {
	mu      sync.Mutex
	addrs   map[string]string // "app1.site.com:80" -> "127.0.0.1:port"
	servers map[string]*httptest.Server
}

func (d *hostDialer) transport() *http.Transport {
	return &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		d.mu.Lock()
		to, ok := d.addrs[addr]
		d.mu.Unlock()
		if !ok {
			return nil, fmt.Errorf("test dialer: no server for %s", addr)
		}
		var nd net.Dialer
		return nd.DialContext(ctx, network, to)
	}}
}

// namedServers starts one echo server per name ("host:port"); each
// answers "<name> <host> <request URI>" and counts its requests.
func namedServers(t *testing.T, names ...string) (*hostDialer, map[string]*int) {
	d := &hostDialer{addrs: map[string]string{}, servers: map[string]*httptest.Server{}}
	counts := map[string]*int{}
	var mu sync.Mutex
	for _, n := range names {
		counts[n] = new(int)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			*counts[n]++
			mu.Unlock()
			if strings.HasSuffix(r.URL.Path, "/redirect") {
				w.Header().Set("Location", "http://"+strings.TrimSuffix(n, ":80")+"/home")
				w.WriteHeader(http.StatusFound)
			}
			fmt.Fprintf(w, "%s %s %s", n, r.Host, r.URL.RequestURI())
		}))
		t.Cleanup(srv.Close)
		d.addrs[n] = strings.TrimPrefix(srv.URL, "http://")
		d.servers[n] = srv
	}
	return d, counts
}

// serve sends one request through h from remote and returns the status,
// the body and the routing decision.
func serve(h http.Handler, target, cookie, remote string) (int, string, *balancer.Info) {
	req := httptest.NewRequest("GET", "http://www.site.com"+target, nil)
	req.RemoteAddr = remote
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	req, info := balancer.Capture(req)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body), info
}

// Configuration A (Helicon Ape style) loads without error, and a session
// "abc!app2" goes to app2 with BALANCER_SESSION_ROUTE app2 (routeregex).
func TestFixtureHelicon(t *testing.T) {
	d, _ := namedServers(t, "static1.site.com:80", "static2.site.com:80", "app1.site.com:80", "app2.site.com:80")
	l, err := httpdconf.Load("testdata/helicon.conf", httpdconf.Options{
		Configure: func(cfg *balancer.Config) { cfg.Transport = d.transport() },
	})
	require.NoError(t, err)
	for _, w := range l.Config.Warnings {
		t.Logf("warning: %s", w)
	}
	app := l.Balancer("app-balancer")
	require.NotNil(t, app)
	assert.Equal(t, "!(.*)$", app.Config().RoutePattern)

	code, body, info := serve(l.Handler, "/cart", "sessionid=abc!app2", "192.0.2.1:1000")
	assert.Equal(t, http.StatusOK, code)
	// The member URL ends in '/', and httpd joins it to "/cart" as is.
	assert.Equal(t, "app2.site.com:80 app2.site.com //cart", body)
	assert.Equal(t, "app2", info.SessionRoute, "BALANCER_SESSION_ROUTE")
	assert.Equal(t, "app2", info.WorkerRoute, "BALANCER_WORKER_ROUTE")
	assert.False(t, info.RouteChanged)

	code, body, info = serve(l.Handler, "/cart", "sessionid=xyz!app1", "192.0.2.1:1000")
	assert.Equal(t, http.StatusOK, code)
	assert.True(t, strings.HasPrefix(body, "app1.site.com:80 "), body)
	assert.Equal(t, "app1", info.SessionRoute)

	// No "!": no route, so the request is scheduled.
	code, _, info = serve(l.Handler, "/cart", "sessionid=abc.app2", "192.0.2.1:1000")
	assert.Equal(t, http.StatusOK, code)
	assert.False(t, info.Session, "a value the regex does not match carries no route")
	assert.True(t, info.RouteChanged)

	// "ProxyPassReverse / http://app1.site.com/" maps app1's redirects
	// back to the front end; app2 has no such line, so its are left alone.
	for route, want := range map[string]string{"app1": "http://www.site.com/home", "app2": "http://app2.site.com/home"} {
		req := httptest.NewRequest("GET", "http://www.site.com/redirect", nil)
		req.Header.Set("Cookie", "sessionid=x!"+route)
		rec := httptest.NewRecorder()
		l.Handler.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusFound, rec.Code)
		assert.Equal(t, want, rec.Header().Get("Location"), route)
	}

	// The static mount: the member's /media/ path, then the balancer's
	// path "/" and the rest, as httpd concatenates them.
	code, body, _ = serve(l.Handler, "/static/logo.png", "", "192.0.2.1:1000")
	assert.Equal(t, http.StatusOK, code)
	assert.Regexp(t, `^static[12]\.site\.com:80 static[12]\.site\.com /media//logo\.png$`, body)
}

// Configuration B (the RewriteMap recipe's proxy side, 2.2 access syntax)
// loads without error; the manager answers 10.8.2.x clients only (403 to
// the others, as httpd); nofailover and the 60/60/60/20 weights are in
// force.
func TestFixtureRewriteMap(t *testing.T) {
	d, counts := namedServers(t, "10.16.4.4:80", "10.16.4.6:80", "10.16.4.7:80", "10.12.2.13:80")
	l, err := httpdconf.Load("testdata/rewritemap.conf", httpdconf.Options{
		StateFile:    filepath.Join(t.TempDir(), "state.json"),
		ManagerHosts: []string{"www.site.com"}, // the manager's DNS-rebinding guard; httpd has none
		Configure:    func(cfg *balancer.Config) { cfg.Transport = d.transport() },
	})
	require.NoError(t, err)
	for _, w := range l.Config.Warnings {
		t.Logf("warning: %s", w)
	}
	require.NotNil(t, l.Manager)

	for _, c := range []struct {
		remote string
		want   int
	}{
		{"10.8.2.1:5000", http.StatusOK},
		{"10.8.2.254:5000", http.StatusOK},
		{"[::ffff:10.8.2.9]:5000", http.StatusOK},
		{"10.8.3.1:5000", http.StatusForbidden},
		{"10.8.20.1:5000", http.StatusForbidden},
		{"127.0.0.1:5000", http.StatusForbidden},
		{"[2001:db8::1]:5000", http.StatusForbidden},
	} {
		code, body, _ := serve(l.Handler, "/balancer-manager", "", c.remote)
		assert.Equal(t, c.want, code, "GET /balancer-manager from %s", c.remote)
		if code == http.StatusOK {
			assert.Contains(t, body, "balancer://backend.example.com")
		}
	}
	// Other paths are proxied, for everyone.
	code, _, _ := serve(l.Handler, "/index.html", "", "10.8.3.1:5000")
	assert.Equal(t, http.StatusOK, code)

	// 200 scheduled requests: byrequests with 60/60/60/20 (plus the one above).
	for i := 0; i < 199; i++ {
		code, _, _ := serve(l.Handler, "/x", "", "192.0.2.1:1000")
		require.Equal(t, http.StatusOK, code)
	}
	got := map[string]int{}
	for n, c := range counts {
		got[n] = *c
	}
	assert.Equal(t, map[string]int{"10.16.4.4:80": 60, "10.16.4.6:80": 60, "10.16.4.7:80": 60, "10.12.2.13:80": 20}, got)

	// nofailover=On: a session on a member that cannot be reached gets
	// 503, not another member.
	d.servers["10.16.4.6:80"].Close()
	code, body, info := serve(l.Handler, "/x", "balanceid=s1.www2", "192.0.2.1:1000")
	assert.Equal(t, http.StatusServiceUnavailable, code, body)
	assert.Equal(t, "www2", info.SessionRoute)
	code, body, _ = serve(l.Handler, "/x", "balanceid=s1.www3", "192.0.2.1:1000")
	assert.Equal(t, http.StatusOK, code)
	assert.True(t, strings.HasPrefix(body, "10.16.4.7:80 "), body)
	assert.True(t, l.Balancer("backend.example.com").Config().NoFailover)
}
