package httpdconf_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/httpdconf"
)

// backends are named httptest servers that answer with their name and the
// path they got, and count their requests.
type backends struct {
	mu   sync.Mutex
	hits map[string]int
	srv  map[string]*httptest.Server
}

func newBackends(t *testing.T, names ...string) *backends {
	bs := &backends{hits: map[string]int{}, srv: map[string]*httptest.Server{}}
	for _, n := range names {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			bs.mu.Lock()
			bs.hits[n]++
			bs.mu.Unlock()
			if strings.HasSuffix(r.URL.Path, "/login-redirect") {
				// An absolute redirect naming the member itself, as a
				// backend that does not know the front end sends.
				w.Header().Set("Location", "http://"+r.Host+"/app/shop/login")
				w.Header().Add("Set-Cookie", "S=1; Path=/app/shop/x; Domain=backend.internal.corp")
				w.WriteHeader(http.StatusFound)
			}
			fmt.Fprintf(w, "%s %s", n, r.URL.RequestURI())
		}))
		t.Cleanup(s.Close)
		bs.srv[n] = s
	}
	return bs
}

func (bs *backends) addr(name string) string { return strings.TrimPrefix(bs.srv[name].URL, "http://") }

func (bs *backends) count(name string) int {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	return bs.hits[name]
}

// serveConf is a realistic configuration; the backends' addresses come from
// Define lines prepended by the test.
const serveConf = `
ProxyTimeout 5
<Proxy "balancer://Tomcat">
    BalancerMember "http://${TC1}/app" route=tc1
    BalancerMember "http://${TC2}/app" route=tc2
    BalancerMember "http://${TC3}/app" route=tc3 status=+H
    ProxySet stickysession=JSESSIONID|jsessionid scolonpathdelim=On
</Proxy>

Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/" env=BALANCER_ROUTE_CHANGED
<Proxy balancer://php>
    BalancerMember http://${PHP1} route=1
    BalancerMember http://${PHP2} route=2
    BalancerMember http://${PHP3} route=3 lbset=1
    ProxySet stickysession=ROUTEID
</Proxy>

ProxyPass        "/balancer-manager" "!"
ProxyPass        "/shop/static" "!"
ProxyPass        "/shop/"  "balancer://tomcat/shop/"
ProxyPassReverse "/shop/"  "balancer://tomcat/shop/"
ProxyPassReverseCookiePath "/app/shop" "/shop"
ProxyPassReverseCookieDomain "backend.internal.corp" "www.example.com"
ProxyPass        "/api"    "http://${API}/v1"
ProxyPass        "/"       "balancer://php/"
ProxyPassReverse "/"       "balancer://php/"

<Location "/balancer-manager">
    SetHandler balancer-manager
</Location>
`

// A loaded configuration serves: sticky routing by cookie and by
// ;jsessionid, scheduling over the regular members only, exclusions, path
// mapping, the route cookie, reverse mapping of headers and cookies, an
// ordinary URL target, and the hot standby when the others are disabled.
func TestServe(t *testing.T) {
	bs := newBackends(t, "tc1", "tc2", "tc3", "php1", "php2", "php3", "api")
	var defs strings.Builder
	for _, d := range [][2]string{{"TC1", "tc1"}, {"TC2", "tc2"}, {"TC3", "tc3"}, {"PHP1", "php1"}, {"PHP2", "php2"}, {"PHP3", "php3"}, {"API", "api"}} {
		fmt.Fprintf(&defs, "Define %s %s\n", d[0], bs.addr(d[1]))
	}
	l, err := httpdconf.LoadReader("serve.conf", strings.NewReader(defs.String()+serveConf), httpdconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(l.Handler)
	t.Cleanup(front.Close)
	client := front.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	get := func(path, cookie string) (int, string, http.Header) {
		t.Helper()
		req, err := http.NewRequest("GET", front.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body), res.Header
	}
	steps := []struct {
		name, path, cookie string
		status             int
		body               string // prefix
		setCookie          string // "" = none
	}{
		{"cookie route", "/shop/cart", "JSESSIONID=abc.tc2", 200, "tc2 /app/shop/cart", ""},
		{"URL route wins over the cookie", "/shop/cart;jsessionid=xyz.tc1;foo=1", "JSESSIONID=abc.tc2", 200, "tc1 /app/shop/cart;jsessionid=xyz.tc1;foo=1", ""},
		{"the standby's own sessions", "/shop/a", "JSESSIONID=abc.tc3", 200, "tc3 /app/shop/a", ""},
		{"scheduled 1", "/shop/a", "", 200, "tc1 ", ""},
		{"scheduled 2", "/shop/a", "", 200, "tc2 ", ""},
		{"scheduled 3", "/shop/a", "", 200, "tc1 ", ""},
		{"route cookie issued", "/index.php", "", 200, "php1 /index.php", "ROUTEID=.1; path=/"}, // exactly as the recipe writes it,
		{"route cookie followed", "/index.php?x=1", "ROUTEID=.2", 200, "php2 /index.php?x=1", ""},
		{"ordinary URL target", "/api/users", "", 200, "api /v1/users", ""},
		{"excluded", "/shop/static/logo.png", "", 404, "", ""},
		{"the manager, to 127.0.0.1 (Require ip 127.0.0.1)", "/balancer-manager", "", 200, "<!DOCTYPE html>", ""},
	}
	for _, s := range steps {
		status, body, h := get(s.path, s.cookie)
		if status != s.status || !strings.HasPrefix(body, s.body) || h.Get("Set-Cookie") != s.setCookie {
			if len(body) > 200 {
				body = body[:200]
			}
			t.Errorf("%s: GET %s (Cookie %q) = %d %q Set-Cookie %q; want %d %q... Set-Cookie %q",
				s.name, s.path, s.cookie, status, body, h.Get("Set-Cookie"), s.status, s.body, s.setCookie)
		}
	}
	if n := bs.count("php3"); n != 0 {
		t.Errorf("lbset 1 member served %d requests while lbset 0 was usable", n)
	}

	// ProxyPassReverse and the cookie rules rewrite the member's answer.
	status, _, h := get("/shop/login-redirect", "JSESSIONID=abc.tc1")
	wantLoc := front.URL + "/shop/login"
	if status != http.StatusFound || h.Get("Location") != wantLoc {
		t.Errorf("redirect: %d Location %q, want 302 %q", status, h.Get("Location"), wantLoc)
	}
	if got, want := h.Get("Set-Cookie"), "S=1; Path=/shop; Domain=www.example.com"; got != want {
		t.Errorf("Set-Cookie %q, want %q", got, want)
	}

	// With the regular members disabled, the hot standby serves.
	tomcat := l.Balancer("balancer://tomcat")
	for _, n := range []string{"tc1", "tc2"} {
		if err := tomcat.SetStatus(bs.srv[n].URL+"/app", balancer.StatusDisabled, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, body, _ := get("/shop/b", ""); !strings.HasPrefix(body, "tc3 /app/shop/b") {
		t.Errorf("with tc1 and tc2 disabled: %q, want the standby tc3", body)
	}
	// And a disabled member's session goes elsewhere (nofailover is Off).
	if _, body, _ := get("/shop/b", "JSESSIONID=abc.tc1"); !strings.HasPrefix(body, "tc3 ") {
		t.Errorf("session of a disabled member: %q, want tc3", body)
	}
}

// Configure sees every balancer's configuration before it is built, and
// RunHealthChecks ends with its context.
func TestLoadConfigureAndRun(t *testing.T) {
	var names []string
	l, err := httpdconf.LoadReader("c.conf", strings.NewReader(`
BalancerMember balancer://a http://127.0.0.1:1 hcmethod=TCP
BalancerMember balancer://b http://127.0.0.1:2
ProxyPass /w http://127.0.0.1:3/`), httpdconf.Options{
		Configure: func(cfg *balancer.Config) {
			names = append(names, cfg.Name)
			cfg.StickySession = "SID" // fields read from the file may change too
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names, " "); got != "a b 127.0.0.1:3" {
		t.Errorf("Configure saw %q", got)
	}
	if got := l.Balancers[0].Config().StickySession; got != "SID" {
		t.Errorf("StickySession %q after Configure", got)
	}
	if l.Config.Balancers[0].Config.StickySession != "" {
		t.Errorf("Build changed the Config it was given")
	}
	if l.Balancer("A") != l.Balancers[0] || l.Balancer("balancer://127.0.0.1:3") != l.Workers[0] || l.Balancer("nosuch") != nil {
		t.Errorf("Balancer lookup")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.RunHealthChecks(ctx); err != context.Canceled {
		t.Errorf("RunHealthChecks = %v, want the context's error", err)
	}
	empty, err := httpdconf.LoadReader("e.conf", strings.NewReader("ProxyPass /x !"), httpdconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := empty.RunHealthChecks(context.Background()); err != nil {
		t.Errorf("RunHealthChecks without balancers = %v", err)
	}
}

// A balancer without members answers 503, as Apache's does.
func TestServeEmptyBalancer(t *testing.T) {
	l, err := httpdconf.LoadReader("e.conf", strings.NewReader("ProxyPass /x balancer://empty/"), httpdconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	l.Handler.ServeHTTP(rec, httptest.NewRequest("GET", "/x/y", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("GET /x/y = %d, want 503", rec.Code)
	}
}
