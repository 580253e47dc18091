package balancer_test

import (
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/proxybalancer/balancer"
)

// Decide answers where a request would go, and why, without proxying it or
// changing any counter: asking twice gets the same answer. The members need
// not be reachable.
func ExampleBalancer_Decide() {
	b, err := balancer.New(balancer.Config{
		Name:          "mycluster",
		StickySession: "JSESSIONID|jsessionid",
		Members: []balancer.Member{
			{URL: "http://10.0.0.1:8080", Route: "node1"},
			{URL: "http://10.0.0.2:8080", Route: "node2"},
			{URL: "http://10.0.0.3:8080", Route: "node3", Status: "D"}, // disabled
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	ask := func(target, cookie string) {
		r := httptest.NewRequest("GET", target, nil)
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		d := b.Decide(r)
		route, ok := d.Info.Lookup("BALANCER_SESSION_ROUTE")
		fmt.Printf("%s %s: %s %s, session route %q (set %v), route changed %v\n",
			target, cookie, d.Member, d.Reason, route, ok, d.Info.RouteChanged)
	}
	ask("/", "")                                            // no session: the method chooses
	ask("/", "")                                            // a dry run moved nothing
	ask("/", "JSESSIONID=8F3A.node2")                       // the cookie's route
	ask("/app;jsessionid=8F3A.node2", "")                   // the URL form
	ask("/?jsessionid=8F3A.node1", "JSESSIONID=8F3A.node2") // the URL wins
	ask("/", "JSESSIONID=8F3A.node3")                       // owner disabled: chosen anew
	ask("/", "JSESSIONID=8F3A")                             // no separator, no route
	// Output:
	// / : http://10.0.0.1:8080 scheduled, session route "" (set false), route changed true
	// / : http://10.0.0.1:8080 scheduled, session route "" (set false), route changed true
	// / JSESSIONID=8F3A.node2: http://10.0.0.2:8080 sticky, session route "node2" (set true), route changed false
	// /app;jsessionid=8F3A.node2 : http://10.0.0.2:8080 sticky, session route "node2" (set true), route changed false
	// /?jsessionid=8F3A.node1 JSESSIONID=8F3A.node2: http://10.0.0.1:8080 sticky, session route "node1" (set true), route changed false
	// / JSESSIONID=8F3A.node3: http://10.0.0.1:8080 scheduled, session route "node3" (set true), route changed true
	// / JSESSIONID=8F3A: http://10.0.0.1:8080 scheduled, session route "" (set false), route changed true
}
