package balancer_test

import (
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
)

// A route the route cookie cannot carry is refused by New and Update,
// naming the member and the route; without a route cookie it is allowed.
func TestRouteCookieRefusesUnwritableRoute(t *testing.T) {
	for _, route := range []string{"a;b", "a,b", "a b", `a"b`, `a\b`, "a\x01b", "a\x7fb", "nœud"} {
		cfg := balancer.Config{
			Name: "c", StickySession: "ROUTEID", RouteCookie: &balancer.RouteCookie{Name: "ROUTEID", Path: "/"},
			Members: []balancer.Member{{URL: "http://10.0.0.1", Route: "ok"}, {URL: "http://10.0.0.2", Route: route}},
		}
		_, err := balancer.New(cfg)
		if assert.Error(t, err, "route %q", route) {
			assert.Contains(t, err.Error(), `member "http://10.0.0.2"`)
			assert.Contains(t, err.Error(), "route "+quote(route))
		}
		if !strings.ContainsAny(route, "\x01\x7f") { // control bytes are no route at all
			cfg.RouteCookie = nil
			_, err = balancer.New(cfg)
			require.NoError(t, err, "route %q without a route cookie", route)
		}

		// Update with the route cookie on is refused and changes nothing.
		good := mustNew(t, balancer.Config{Name: "d", StickySession: "ROUTEID", RouteCookie: &balancer.RouteCookie{Name: "ROUTEID"},
			Members: []balancer.Member{{URL: "http://10.0.0.1", Route: "ok"}}})
		err = good.Update([]balancer.Member{{URL: "http://10.0.0.1", Route: route}})
		assert.ErrorContains(t, err, "route "+quote(route))
		assert.Equal(t, "ok", good.Members()[0].Route)
	}
}

func quote(s string) string { return strconv.Quote(s) }

// Raw sends the recipe's text exactly, the route in place.
func TestRouteCookieRaw(t *testing.T) {
	st := newStub()
	b := mustNew(t, balancer.Config{
		StickySession: "ROUTEID",
		RouteCookie:   &balancer.RouteCookie{Name: "ROUTEID", Raw: "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/; HttpOnly; secure"},
		Members:       members("a route=r1"),
		Transport:     st,
	})
	w := httptest.NewRecorder()
	b.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, []string{"ROUTEID=.r1; path=/; HttpOnly; secure"}, w.Header().Values("Set-Cookie"))

	for _, raw := range []string{"OTHER=.%{BALANCER_WORKER_ROUTE}e", "ROUTEID=.%{BALANCER_WORKER_ROUTE}e;\r\nX: y"} {
		_, err := balancer.New(balancer.Config{Name: "c", StickySession: "ROUTEID",
			RouteCookie: &balancer.RouteCookie{Name: "ROUTEID", Raw: raw}})
		assert.ErrorContains(t, err, "routecookie", raw)
	}
	// The structured form as before.
	b = mustNew(t, balancer.Config{StickySession: "ROUTEID", RouteCookie: &balancer.RouteCookie{Name: "ROUTEID", Path: "/"},
		Members: members("a route=r1"), Transport: newStub()})
	w = httptest.NewRecorder()
	b.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, []string{"ROUTEID=.r1; Path=/"}, w.Header().Values("Set-Cookie"))
}
