//go:build !race

package balancer_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/proxybalancer/balancer"
)

// Our layer adds at most 2 allocations per request beyond ReverseProxy's
// own (issue 9), for a scheduled request and a sticky one. The race
// detector changes allocation counts (sync.Pool drops items on purpose), so
// this runs without it; .ci/run runs it so.
func TestAllocsBeyondReverseProxy(t *testing.T) {
	bare := scaleBare()
	lb, err := balancer.New(balancer.Config{
		Name:          "allocs",
		Members:       []balancer.Member{{URL: "http://10.0.0.1:8080", Route: "r1"}, {URL: "http://10.0.0.2:8080", Route: "r2"}},
		StickySession: "JSESSIONID|jsessionid",
		Transport:     staticTransport{},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, cookie := range []string{"", "JSESSIONID=abc.r2"} {
		req := httptest.NewRequest("GET", "http://front.example/app/x?q=1", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		allocs := func(h http.Handler) float64 {
			return testing.AllocsPerRun(500, func() {
				if !scaleServe(h, req) {
					t.Fatal("not 200")
				}
			})
		}
		b, o := allocs(bare), allocs(lb)
		t.Logf("cookie %q: ReverseProxy %.0f allocs/request, balancer %.0f", cookie, b, o)
		if o > b+2 {
			t.Errorf("cookie %q: balancer %.0f allocs/request, ReverseProxy %.0f: more than 2 beyond", cookie, o, b)
		}
	}
}
