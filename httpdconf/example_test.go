package httpdconf_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/proxybalancer/balancer/httpdconf"
)

// Read shows what an Apache configuration becomes, without starting
// anything.
func ExampleReadReader() {
	conf := `
<Proxy "balancer://mycluster">
    BalancerMember "http://10.0.0.1:8080" route=node1 loadfactor=2 retry=0
    BalancerMember "http://10.0.0.2:8080" route=node2 timeout=10
    BalancerMember "http://10.0.0.3:8080" status=+H
    ProxySet stickysession=JSESSIONID|jsessionid lbmethod=bybusyness
</Proxy>
ProxyPass        "/app/static" "!"
ProxyPass        "/app" "balancer://mycluster/back"
ProxyPassReverse "/app" "balancer://mycluster/back"
KeepAlive On
`
	c, err := httpdconf.ReadReader("site.conf", strings.NewReader(conf), httpdconf.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	b := c.Balancers[0].Config
	fmt.Println(b.Name, b.StickySession, b.Method.Name())
	for _, m := range b.Members {
		fmt.Printf("  %s route=%q factor=%v status=%q retry=%v timeout=%v\n",
			m.URL, m.Route, m.LoadFactor, m.Status, m.Retry, m.Connection.Timeout)
	}
	for _, m := range c.Mounts {
		fmt.Printf("%s -> %q %q reverse=%v\n", m.Path, m.Balancer, m.BalancerPath, m.Reverse)
	}
	for _, w := range c.Warnings {
		fmt.Println("warning:", w)
	}
	// Output:
	// mycluster JSESSIONID|jsessionid bybusyness
	//   http://10.0.0.1:8080 route="node1" factor=2 status="" retry=-1ns timeout=0s
	//   http://10.0.0.2:8080 route="node2" factor=0 status="" retry=0s timeout=10s
	//   http://10.0.0.3:8080 route="" factor=0 status="+H" retry=0s timeout=0s
	// /app/static -> "" "" reverse=false
	// /app -> "mycluster" "/back" reverse=true
	// warning: site.conf:11: KeepAlive: directive skipped: outside the balancing subset
}

// LoadReader gives a handler ready to serve.
func ExampleLoadReader() {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "backend got %s", r.URL.Path)
	}))
	defer backend.Close()
	conf := `
Define BACKEND ` + backend.URL + `
BalancerMember balancer://app ${BACKEND}/v2
ProxyPass /api balancer://app`
	l, err := httpdconf.LoadReader("app.conf", strings.NewReader(conf), httpdconf.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	front := httptest.NewServer(l.Handler)
	defer front.Close()
	for _, path := range []string{"/api/users", "/other"} {
		res, err := http.Get(front.URL + path)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Println(path, res.StatusCode, strings.TrimSpace(string(body)))
	}
	// Output:
	// /api/users 200 backend got /v2/users
	// /other 404 404 page not found
}

// Access rules and virtual hosts are served as httpd serves them, and
// Reload applies a changed file to the running balancers.
func ExampleLoaded_Reload() {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", r.Host, r.URL.Path)
	}))
	defer backend.Close()
	conf := func(private string) string {
		return `
Define BACKEND ` + backend.URL + `
<VirtualHost *:80>
  ServerName www.example.com
  ProxyPass / balancer://app/
  <Location /private>
    Require ip ` + private + `
  </Location>
</VirtualHost>
BalancerMember balancer://app ${BACKEND}`
	}
	get := func(h http.Handler, path, from string) {
		req := httptest.NewRequest("GET", "http://www.example.com"+path, nil)
		req.RemoteAddr = from
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Println(path, "from", from, rec.Code)
	}
	opts := httpdconf.Options{VirtualHostPort: 80} // as if httpd listened on :80
	l, err := httpdconf.LoadReader("site.conf", strings.NewReader(conf("10.0.0.0/8")), opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	get(l.Handler, "/private/x", "10.1.2.3:5000")
	get(l.Handler, "/private/x", "192.0.2.7:5000")

	c, err := httpdconf.ReadReader("site.conf", strings.NewReader(conf("192.0.2.0/24")), opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	l2, err := l.Reload(c, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	get(l.Handler, "/private/x", "10.1.2.3:5000")
	get(l.Handler, "/private/x", "192.0.2.7:5000")
	fmt.Println("same balancer:", l2.Balancer("app") == l.Balancer("app"))
	// Output:
	// /private/x from 10.1.2.3:5000 200
	// /private/x from 192.0.2.7:5000 403
	// /private/x from 10.1.2.3:5000 403
	// /private/x from 192.0.2.7:5000 200
	// same balancer: true
}
