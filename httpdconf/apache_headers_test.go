//go:build apache

package httpdconf_test

// Differential test of Header and RequestHeader edits against a real
// Apache httpd 2.4 (go test -tags apache).

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

const headersConf = `
ProxyPass /dead balancer://dead/
<Proxy balancer://dead>
  BalancerMember http://${DEAD}
</Proxy>
ProxyPass / balancer://app/
<Proxy balancer://app>
  BalancerMember http://${M1} route=r1
  ProxySet stickysession=S
  Header set X-Proxy-Scoped yes
</Proxy>
Header set X-Static one
Header add X-Multi a
Header add X-Multi b
Header append X-Back c
Header unset X-Secret
Header set X-Routed yes env=BALANCER_WORKER_ROUTE
Header set X-Changed yes env=BALANCER_ROUTE_CHANGED
Header set X-Not-Changed yes env=!BALANCER_ROUTE_CHANGED
Header always set X-Always yes
Header always set X-Always-Worker yes env=BALANCER_WORKER_NAME
RequestHeader set X-Req-Set v
RequestHeader unset X-Req-Drop
RequestHeader set X-Req-Env v env=BALANCER_NAME
RequestHeader set X-Req-NotEnv v env=!BALANCER_NAME
ProxyPassReverse /front http://${M1}/x
ProxyPassReverse /never http://elsewhere.test/
<Location /loc>
  Header set X-Static loc
</Location>
<Location /denied>
  Require all denied
</Location>
`

func TestApacheHeaders(t *testing.T) {
	m1 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Secret", "s")
		if r.URL.Path == "/redir" {
			w.Header().Set("Location", "http://"+r.Host+"/x/y?q=1")
			w.Header().Set("Content-Location", "HTTP://"+strings.ToUpper(r.Host)+"/x")
			w.Header().Set("URI", "http://other.test/x")
		}
		w.Header().Set("X-Back", "b")
		for _, h := range []string{"X-Req-Set", "X-Req-Drop", "X-Req-Env", "X-Req-NotEnv"} {
			fmt.Fprintf(w, "%s=%q\n", h, r.Header.Values(h))
		}
	}))
	t.Cleanup(m1.Close)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := l.Addr().String()
	require.NoError(t, l.Close())
	conf := "Define M1 " + strings.TrimPrefix(m1.URL, "http://") + "\nDefine DEAD " + dead + "\n" + headersConf
	apache := apachetest.Start(t, apachetest.Config{Directives: conf})
	loaded, err := httpdconf.LoadReader("headers.conf", strings.NewReader(conf), httpdconf.Options{})
	require.NoError(t, err)
	for _, w := range loaded.Config.Warnings {
		t.Logf("warning: %s", w)
	}
	ours := httptest.NewServer(loaded.Handler)
	t.Cleanup(ours.Close)

	names := []string{"Location", "Content-Location", "URI", "X-Proxy-Scoped", "X-Static", "X-Multi", "X-Back", "X-Secret", "X-Routed", "X-Changed", "X-Not-Changed", "X-Always", "X-Always-Worker"}
	send := func(addr, target, cookie string) string {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: h.test\r\nX-Req-Drop: x\r\nX-Req-Set: old\r\n", target)
		if cookie != "" {
			fmt.Fprintf(c, "Cookie: %s\r\n", cookie)
		}
		fmt.Fprintf(c, "Connection: close\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var b strings.Builder
		b.WriteString(strconv.Itoa(res.StatusCode) + "\n")
		for _, n := range names {
			fmt.Fprintf(&b, "%s: %q\n", n, res.Header.Values(n))
		}
		if res.StatusCode == 200 {
			b.Write(body)
		}
		return b.String()
	}
	agree, n := 0, 0
	for _, c := range []struct{ target, cookie string }{
		{"/a", ""}, {"/a", "S=x.r1"}, {"/redir", ""}, {"/loc/x", ""}, {"/denied", ""}, {"/dead/x", ""},
	} {
		n++
		want, got := send(apache.Addr, c.target, c.cookie), send(strings.TrimPrefix(ours.URL, "http://"), c.target, c.cookie)
		if want != got {
			t.Errorf("GET %s (Cookie %q):\napache:\n%s\nours:\n%s", c.target, c.cookie, want, got)
			continue
		}
		agree++
	}
	t.Logf("%d of %d responses agree with Apache (status, %d headers, the member's view of the request headers)", agree, n, len(names))
}
