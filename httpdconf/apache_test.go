//go:build apache

package httpdconf_test

// Differential test against a real Apache httpd 2.4 (go test -tags apache):
// one configuration text is given to Apache and to LoadReader, the same raw
// requests are sent to both, and the backend that answered, the path it got,
// the status and the rewritten headers must be the same. It needs the Debian
// package apache2 and fails without it.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/proxybalancer/balancer/httpdconf"
	"github.com/proxybalancer/balancer/internal/apachetest"
)

// apacheConf is served by both sides. The backends' addresses are Define
// lines prepended by the test.
const apacheConf = `
<Proxy "balancer://Tomcat">
    BalancerMember "http://${TC1}/app" route=tc1
    BalancerMember "http://${TC2}/app" route=tc2 loadfactor=2
    BalancerMember "http://${TC3}/app" route=tc3 status=+H
    BalancerMember "http://${TCD}/app" route=tcD status=+D redirect=tc1
    ProxySet stickysession=JSESSIONID|jsessionid scolonpathdelim=On
</Proxy>

<Proxy balancer://php>
    BalancerMember http://${PHP1} route=1
    BalancerMember http://${PHP2} route=2
    BalancerMember http://${PHP3} route=3 lbset=1
    ProxySet stickysession=ROUTEID
    Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/" env=BALANCER_ROUTE_CHANGED
</Proxy>

<Proxy balancer://wls>
    BalancerMember http://${W1} route=w1
    BalancerMember http://${W2} route=w2
    ProxySet stickysession=JSESSIONID|jsessionid stickysessionsep=!
</Proxy>

ProxyPass        "/shop/static" "!"
ProxyPass        "/shop/"  "balancer://tomcat/shop/"
ProxyPassReverse "/shop/"  "balancer://tomcat/shop/"
ProxyPassReverseCookiePath "/app/shop" "/shop"
ProxyPassReverseCookieDomain "backend.internal.corp" "www.example.com"
ProxyPass        "/api"    "http://${API}/v1"
ProxyPass        "/wls"    "balancer://wls"
ProxyPass        "/"       "balancer://php/"
`

type apacheOutcome struct {
	Status    int
	Body      string // the backend's answer when 200 or 302
	Location  string
	SetCookie []string
}

// sendRaw writes raw to addr and reads the response.
func sendRaw(t *testing.T, addr string, raw []byte) (*http.Response, []byte) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(raw); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, body
}

func outcome(res *http.Response, body []byte) apacheOutcome {
	o := apacheOutcome{Status: res.StatusCode, Location: res.Header.Get("Location")}
	if res.StatusCode == 200 || res.StatusCode == 302 {
		o.Body = string(body)
	}
	// Set-Cookie byte for byte: the route cookie is sent exactly as the
	// recipe writes it.
	o.SetCookie = res.Header.Values("Set-Cookie")
	return o
}

// TestApacheLoad compares Apache and a LoadReader handler on the same
// configuration and the same requests.
func TestApacheLoad(t *testing.T) {
	defs := map[string]string{}
	var defLines strings.Builder
	for _, n := range []string{"TC1", "TC2", "TC3", "TCD", "PHP1", "PHP2", "PHP3", "W1", "W2", "API"} {
		name := strings.ToLower(n)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/login-redirect") {
				w.Header().Set("Location", "http://"+r.Host+"/app/shop/login")
				w.Header().Add("Set-Cookie", "S=1; Path=/app/shop/x; Domain=backend.internal.corp")
				w.WriteHeader(http.StatusFound)
			}
			fmt.Fprintf(w, "%s %s", name, r.URL.RequestURI())
		}))
		t.Cleanup(srv.Close)
		defs[n] = strings.TrimPrefix(srv.URL, "http://")
		fmt.Fprintf(&defLines, "Define %s %s\n", n, defs[n])
	}
	conf := defLines.String() + apacheConf
	apache := apachetest.Start(t, apachetest.Config{Directives: conf})
	l, err := httpdconf.LoadReader("apache.conf", strings.NewReader(conf), httpdconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range l.Config.Warnings {
		t.Logf("warning: %v", w)
	}
	ours := httptest.NewServer(l.Handler)
	t.Cleanup(ours.Close)
	oursAddr := strings.TrimPrefix(ours.URL, "http://")

	rows := []struct{ target, cookie string }{
		// byrequests over tc1 (1) and tc2 (2); the standby and the
		// disabled member are not scheduled.
		{"/shop/cart", ""}, {"/shop/cart", ""}, {"/shop/cart", ""}, {"/shop/cart", ""}, {"/shop/cart", ""}, {"/shop/cart", ""},
		{"/shop/cart", "JSESSIONID=abc.tc1"},
		{"/shop/cart;jsessionid=abc.tc2;x=1", "JSESSIONID=abc.tc1"},
		{"/shop/cart?jsessionid=abc.tc3", ""},
		{"/shop/cart", "JSESSIONID=abc.tcD"}, // disabled: its redirect
		{"/shop/cart", "JSESSIONID=abc.tc9"}, // unknown route: scheduled
		{"/shop/cart", ""}, {"/shop/cart", ""},
		{"/shop/login-redirect", "JSESSIONID=a.tc2"},
		{"/index.php", ""}, {"/index.php", ""}, {"/index.php", ""},
		{"/index.php", "ROUTEID=.2"}, {"/index.php", "ROUTEID=.3"}, {"/index.php", "ROUTEID=.9"},
		{"/api/users?x=1", ""}, {"/api", ""},
		{"/wls/a", "JSESSIONID=abc!w2"}, {"/wls/a", "JSESSIONID=abc.w2"}, {"/wls/a", "JSESSIONID=abc!w1!w2"},
		{"/shop/static/logo.png", ""},
	}
	agreed := 0
	for i, row := range rows {
		raw := func(host string) []byte {
			var b strings.Builder
			fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: front.test:8080\r\n", row.target)
			if row.cookie != "" {
				fmt.Fprintf(&b, "Cookie: %s\r\n", row.cookie)
			}
			b.WriteString("Connection: close\r\n\r\n")
			return []byte(b.String())
		}
		want := outcome(sendRaw(t, apache.Addr, raw(apache.Addr)))
		got := outcome(sendRaw(t, oursAddr, raw(oursAddr)))
		if want.Status == 404 && got.Status == 404 {
			want.Body, got.Body = "", "" // not proxied on either side
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("row %d: GET %s (Cookie %q) (-apache +ours):\n%s", i+1, row.target, row.cookie, diff)
			continue
		}
		agreed++
	}
	t.Logf("%d of %d requests agree with Apache", agreed, len(rows))
}
