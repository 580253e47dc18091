//go:build apache

package httpdconf_test

// Differential test of access rules, virtual host matching and
// ProxyPassMatch against a real Apache httpd 2.4 (go test -tags apache):
// the same configuration text and the same requests, sent from several
// loopback source addresses, must get the same status and, when proxied,
// the same backend and path.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer/httpdconf"
	"github.com/proxybalancer/balancer/internal/apachetest"
)

// siteConf is served by both sides; ${A}, ${B}, ${C} are the backends.
const siteConf = `
ProxyPass /acc http://${A}/acc
ProxyPassMatch ^/img/(.*)\.png$ http://${B}/png/$1
ProxyPassMatch \.gif$ http://${B}/gifs
ProxyPassMatch ^/nomatch/(x)?(.*)$ http://${C}/n/$1-$2-&
ProxyPassMatch ^/ex/.*\.txt$ !
ProxyPassMatch ^/zero/(.*)$ http://${C}/z$0/$9
ProxyPassMatch ^/bs/(.*)$ http://${C}/b\$1/$1
ProxyPass /ex http://${C}/ex
ProxyPass /bal balancer://grp/
<Proxy balancer://grp>
  BalancerMember http://${C}
  Require ip 127.0.0.5 127.0.0.6
</Proxy>
<Location /bal/open>
  Require all granted
</Location>
<Location /acc/a>
  Order deny,allow
  Deny from all
  Allow from 127.0.0.5 127.0.0.0/255.255.255.252
</Location>
<Location /acc/a/b>
  Allow from 127.0.0.9
</Location>
<Location /acc/s>
  Satisfy Any
  Order allow,deny
  Allow from 127.0.0.5
  Require ip 127.0.0.6
</Location>
<Location /acc/s2>
  Order allow,deny
  Allow from 127.0.0.5 127.0.0.6
  Require ip 127.0.0.5 127.0.0.9
</Location>
<Location /acc/r>
  <RequireAll>
    Require ip 127.0.0.0/29
    Require not ip 127.0.0.5
    <RequireNone>
      Require ip 127.0.0.6
    </RequireNone>
  </RequireAll>
</Location>
<Location /acc/r/any>
  <RequireAny>
    Require ip 127.0.0.9
    <RequireAll>
      Require all granted
      Require not ip 127.0.0.1
    </RequireAll>
  </RequireAny>
</Location>
<Location /acc/l>
  Require local
</Location>
<Location /acc/d/>
  Require all denied
</Location>
<Location /acc/h>
  Require host localhost
</Location>
<Location /acc/h2>
  Order deny,allow
  Deny from all
  Allow from localhost
</Location>
<Location /acc/p>
  Require ip 127.0.0.
  Require ip 10.0.0.0/8
</Location>
<VirtualHost *:${APACHETEST_PORT}>
  ServerName v.test
  ServerAlias *.v.test w?.test
  ProxyPass /vh http://${A}/v
  ProxyPassMatch ^/vm/(.*)$ http://${B}/vm/$1
  <Location /vh/deny>
    Require all denied
  </Location>
</VirtualHost>
<VirtualHost *:${APACHETEST_PORT}>
  ServerName second.test:8080
  ProxyPreserveHost On
  ProxyPass /vh http://${B}/second
</VirtualHost>
<VirtualHost *:1>
  ServerName other-port.test
  ProxyPass /vh http://${C}/port1
</VirtualHost>
`

// sendFrom sends one request from the loopback source address src.
func sendFrom(t *testing.T, src, addr, host, target string) (int, string) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", target, host)
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return res.StatusCode, ""
	}
	return res.StatusCode, string(body)
}

func TestApacheSite(t *testing.T) {
	var defs strings.Builder
	for _, n := range []string{"A", "B", "C"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s %s host=%s", n, r.URL.RequestURI(), r.Host)
		}))
		t.Cleanup(srv.Close)
		fmt.Fprintf(&defs, "Define %s %s\n", n, strings.TrimPrefix(srv.URL, "http://"))
	}
	conf := defs.String() + siteConf
	apache := apachetest.Start(t, apachetest.Config{Directives: conf, Modules: []string{"access_compat", "authz_host"}})
	_, portText, err := net.SplitHostPort(apache.Addr)
	require.NoError(t, err)
	port, err := strconv.Atoi(portText)
	require.NoError(t, err)

	ours := "Define APACHETEST_PORT " + portText + "\n" + conf
	l, err := httpdconf.LoadReader("site.conf", strings.NewReader(ours), httpdconf.Options{VirtualHostPort: port})
	require.NoError(t, err)
	for _, w := range l.Config.Warnings {
		t.Logf("warning: %s", w)
	}
	srv := httptest.NewServer(l.Handler)
	t.Cleanup(srv.Close)
	oursAddr := strings.TrimPrefix(srv.URL, "http://")

	type req struct{ src, host, target string }
	var reqs []req
	paths := []string{
		"/acc/x", "/acc/a", "/acc/a/", "/acc/ab", "/acc/a/b", "/acc/a/b/c", "/acc/s", "/acc/s2",
		"/acc/r", "/acc/r/any", "/acc/l", "/acc/d", "/acc/d/", "/acc/d/x", "/acc/p", "/acc/h", "/acc/h2", "//acc/a",
		"/acc/./a", "/acc/b/../a/x", "/bal/x", "/bal/open", "/bal/open/y", "/bal/opener",
		"/img/a/b.png", "/img/x.gif", "/y.gif?q=1", "/nomatch/xyz", "/nomatch/abc", "/zero/q", "/bs/q", "/ex/f.txt",
		"/ex/f.html", "/vh/1", "/vh/deny", "/vm/q/r",
	}
	for _, src := range []string{"127.0.0.1", "127.0.0.5", "127.0.0.6", "127.0.0.9"} {
		for _, p := range paths {
			reqs = append(reqs, req{src, "v.test", p})
		}
	}
	for _, host := range []string{"a.v.test", "wx.test", "W1.TEST:8080", "second.test", "SECOND.test:9", "other-port.test", "unknown.test", "v.test.", "127.0.0.1"} {
		for _, p := range []string{"/vh/1", "/vh/deny/x", "/vm/q", "/acc/d/x", "/img/z.png"} {
			reqs = append(reqs, req{"127.0.0.1", host, p})
		}
	}
	agree := 0
	statuses := map[int]int{}
	for _, r := range reqs {
		wantCode, wantBody := sendFrom(t, r.src, apache.Addr, r.host, r.target)
		gotCode, gotBody := sendFrom(t, r.src, oursAddr, r.host, r.target)
		statuses[wantCode]++
		if wantCode != gotCode || wantBody != gotBody {
			t.Errorf("from %s Host %s GET %s: apache %d %q, ours %d %q", r.src, r.host, r.target, wantCode, wantBody, gotCode, gotBody)
			continue
		}
		agree++
	}
	t.Logf("%d of %d requests agree with Apache (Apache's statuses: %v)", agree, len(reqs), statuses)
}
