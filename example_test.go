package balancer_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/proxybalancer/balancer"
)

// exampleBackends starts in-process members that answer with their name.
func exampleBackends(names ...string) []*httptest.Server {
	var out []*httptest.Server
	for _, name := range names {
		out = append(out, httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s got %s", name, r.URL.Path)
		})))
	}
	return out
}

func exampleGet(h http.Handler, target, cookie string) string {
	r := httptest.NewRequest("GET", target, nil)
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	body, _ := io.ReadAll(w.Body)
	return fmt.Sprintf("%d %s", w.Code, body)
}

// A balancer with sticky sessions: requests without a route are spread
// round robin, requests carrying a route stick to its member.
func ExampleNew() {
	srvs := exampleBackends("node1", "node2")
	defer srvs[0].Close()
	defer srvs[1].Close()
	b, err := balancer.New(balancer.Config{
		Name:          "mycluster",
		StickySession: "JSESSIONID|jsessionid",
		Members: []balancer.Member{
			{URL: srvs[0].URL, Route: "node1"},
			{URL: srvs[1].URL, Route: "node2"},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(exampleGet(b, "/a", ""))
	fmt.Println(exampleGet(b, "/b", ""))
	fmt.Println(exampleGet(b, "/c", "JSESSIONID=8F3A.node2"))
	fmt.Println(exampleGet(b, "/d;jsessionid=8F3A.node2", ""))
	// Output:
	// 200 node1 got /a
	// 200 node2 got /b
	// 200 node2 got /c
	// 200 node2 got /d;jsessionid=8F3A.node2
}

// Configuration errors name the field and the value.
func ExampleNew_error() {
	_, err := balancer.New(balancer.Config{
		Name:    "mycluster",
		Members: []balancer.Member{{URL: "http://10.0.0.1:8080", LoadFactor: 150}},
	})
	fmt.Println(err)
	// Output:
	// balancer: member "http://10.0.0.1:8080": loadfactor 150: out of range 1..100
}

// Middleware around the balancer reads the routing decision, Apache's
// BALANCER_* values, once the balancer has served the request.
func ExampleCapture() {
	srvs := exampleBackends("node1")
	defer srvs[0].Close()
	b, _ := balancer.New(balancer.Config{
		Name:          "mycluster",
		StickySession: "ROUTEID",
		Members:       []balancer.Member{{URL: srvs[0].URL, Route: "node1"}},
	})
	logged := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, info := balancer.Capture(r)
		b.ServeHTTP(w, r)
		route, _ := info.Lookup("BALANCER_WORKER_ROUTE")
		changed, _ := info.Lookup("BALANCER_ROUTE_CHANGED")
		fmt.Printf("%s route=%s changed=%s\n", r.URL.Path, route, changed)
	})
	exampleGet(logged, "/first", "")
	exampleGet(logged, "/again", "ROUTEID=.node1")
	// Output:
	// /first route=node1 changed=1
	// /again route=node1 changed=
}

// ProxyPass-style mounting in front of another handler.
func ExampleNewMux() {
	srvs := exampleBackends("app")
	defer srvs[0].Close()
	b, _ := balancer.New(balancer.Config{Name: "c", Members: []balancer.Member{{URL: srvs[0].URL + "/internal"}}})
	// ProxyPass /app/static !   and   ProxyPass /app balancer://c/back
	mux, _ := balancer.NewMux(
		balancer.ProxyPass{Path: "/app/static"},
		balancer.ProxyPass{Path: "/app", Balancer: b, BalancerPath: "/back"},
	)
	files := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "static file") })
	h := mux.Wrap(files)
	fmt.Println(exampleGet(h, "/app/users", ""))
	fmt.Println(exampleGet(h, "/app/static/logo.png", ""))
	// Output:
	// 200 app got /internal/back/users
	// 200 static file
}
