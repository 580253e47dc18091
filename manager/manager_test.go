package manager_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/healthcheck"
	"github.com/proxybalancer/balancer/lbmethod"
	"github.com/proxybalancer/balancer/manager"
)

const testNonce = "0123-nonce"

// managed builds a balancer "shop" over stub members a, b and c and a
// manager with a fixed nonce and growth 2.
func managed(t *testing.T, mods ...func(*manager.Config)) (*balancer.Balancer, *manager.Manager, *stub) {
	t.Helper()
	st := newStub()
	b := mustNew(t, balancer.Config{
		Name:          "shop",
		StickySession: "JSESSIONID|jsessionid",
		Members:       members("a route=r1", "b route=r2 lf=2", "c route=r3"),
		Transport:     st,
	})
	cfg := manager.Config{Hosts: testHosts,
		Balancers: []*balancer.Balancer{b},
		Growth:    2,
		Nonces:    map[string]string{"shop": testNonce},
	}
	for _, m := range mods {
		m(&cfg)
	}
	mg, err := manager.New(cfg)
	if err != nil {
		t.Fatalf("manager.New: %v", err)
	}
	return b, mg, st
}

// post sends a form to the manager from its own page (Origin matches the
// request's host, example.com); header pairs override.
func post(t *testing.T, h http.Handler, form url.Values, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("POST", "/balancer-manager", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", "http://example.com")
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			r.Header.Del(header[i])
		} else {
			r.Header.Set(header[i], header[i+1])
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func postJSON(t *testing.T, h http.Handler, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("POST", "/balancer-manager", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func get(t *testing.T, h http.Handler, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("GET", target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// form builds a change of balancer shop with the nonce, then key/value
// pairs.
func form(kv ...string) url.Values {
	v := url.Values{"b": {"shop"}, "nonce": {testNonce}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

// state is what a change may touch: the configuration and every member's
// settings and flags.
type state struct {
	Method        string
	StickySession string
	NoFailover    bool
	MaxAttempts   int
	Timeout       time.Duration
	Members       []balancer.MemberStats
}

func stateOf(b *balancer.Balancer) state {
	c := b.Config()
	return state{methodOf(c), c.StickySession, c.NoFailover, c.MaxAttempts, c.Timeout, b.Members()}
}

func methodOf(c balancer.Config) string {
	if c.Method == nil {
		return "byrequests"
	}
	return c.Method.Name()
}

var (
	statsOpts = cmpopts.IgnoreFields(balancer.MemberStats{}, "HealthCheck", "Health")
	checkOpts = cmpopts.IgnoreFields(healthcheck.Check{}, "Expect")
)

func member(t *testing.T, b *balancer.Balancer, url string) balancer.MemberStats {
	t.Helper()
	for _, ms := range b.Members() {
		if ms.URL == url {
			return ms
		}
	}
	t.Fatalf("no member %s in %+v", url, b.Members())
	return balancer.MemberStats{}
}

func TestNewErrors(t *testing.T) {
	b := mustNew(t, balancer.Config{Name: "x", Members: members("a"), Transport: newStub()})
	b2 := mustNew(t, balancer.Config{Name: "X", Members: members("a"), Transport: newStub()})
	tests := []struct {
		name string
		cfg  manager.Config
		want string
	}{
		{"no balancers", manager.Config{}, "balancers"},
		{"nil balancer", manager.Config{Hosts: testHosts, Balancers: []*balancer.Balancer{nil}}, "balancers[0]"},
		{"same name", manager.Config{Hosts: testHosts, Balancers: []*balancer.Balancer{b, b2}}, `balancer "balancer://x"`},
		{"growth -1", manager.Config{Hosts: testHosts, Balancers: []*balancer.Balancer{b}, Growth: -1}, "growth -1"},
		{"growth 101", manager.Config{Hosts: testHosts, Balancers: []*balancer.Balancer{b}, Growth: 101}, "growth 101"},
		{"growthfor out of range", manager.Config{Hosts: testHosts, Balancers: []*balancer.Balancer{b}, GrowthFor: map[string]int{"x": 101}}, `growthfor "x": growth 101`},
		{"growthfor of no balancer", manager.Config{Hosts: testHosts, Balancers: []*balancer.Balancer{b}, GrowthFor: map[string]int{"y": 1}}, `growthfor "y"`},
		{"two growths for one balancer", manager.Config{Hosts: testHosts, Balancers: []*balancer.Balancer{b}, GrowthFor: map[string]int{"x": 1, "balancer://x": 2}}, "has a growth already"},
		{"nonce too long", manager.Config{Hosts: testHosts, Balancers: []*balancer.Balancer{b}, Nonces: map[string]string{"x": strings.Repeat("n", 37)}}, `nonces "x"`},
		{"nonce with space", manager.Config{Hosts: testHosts, Balancers: []*balancer.Balancer{b}, Nonces: map[string]string{"x": "a b"}}, `nonces "x"`},
		{"two nonces for one balancer", manager.Config{Hosts: testHosts, Balancers: []*balancer.Balancer{b}, Nonces: map[string]string{"x": "n", "balancer://X": "m"}}, "has a nonce already"},
		{"nonce of no balancer", manager.Config{Hosts: testHosts, Balancers: []*balancer.Balancer{b}, Nonces: map[string]string{"y": "n"}}, `nonces "y"`},
		{"bad trusted origin", manager.Config{Hosts: testHosts, Balancers: []*balancer.Balancer{b}, TrustedOrigins: []string{"example.com"}}, `trustedorigins "example.com"`},
		{"trusted origin with path", manager.Config{Hosts: testHosts, Balancers: []*balancer.Balancer{b}, TrustedOrigins: []string{"https://a/b"}}, `trustedorigins "https://a/b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := manager.New(tt.cfg)
			if err == nil || !strings.HasPrefix(err.Error(), "balancer: manager: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one naming %s", err, tt.want)
			}
		})
	}
}

// Several balancers: each has its own nonce, and a change names its own.
func TestManagerSeveralBalancers(t *testing.T) {
	b1 := mustNew(t, balancer.Config{Name: "one", Members: members("a", "b"), Transport: newStub()})
	b2 := mustNew(t, balancer.Config{Name: "two", Members: members("c", "d"), Transport: newStub(), Method: lbmethod.MethodByTraffic})
	mg, err := manager.New(manager.Config{Hosts: testHosts, Balancers: []*balancer.Balancer{b1, b2}, Nonces: map[string]string{"one": "n1", "two": "n2"}})
	if err != nil {
		t.Fatal(err)
	}
	if w := post(t, mg, url.Values{"b": {"two"}, "nonce": {"n1"}, "w": {"http://c"}, "w_ls": {"1"}}); w.Code != 403 {
		t.Errorf("other balancer's nonce: %d", w.Code)
	}
	if w := post(t, mg, url.Values{"b": {"TWO"}, "nonce": {"n2"}, "w": {"http://c"}, "w_ls": {"1"}}); w.Code != 200 {
		t.Errorf("own nonce: %d %s", w.Code, w.Body)
	}
	if w := post(t, mg, url.Values{"b": {"one"}, "nonce": {"n1"}, "w": {"http://c"}, "w_ls": {"1"}}); w.Code != 400 {
		t.Errorf("member of the other balancer: %d", w.Code)
	}
	if member(t, b2, "http://c").LBSet != 1 {
		t.Errorf("change not applied")
	}
	body := get(t, mg, "/").Body.String()
	if !strings.Contains(body, "balancer://one") || !strings.Contains(body, "balancer://two") || !strings.Contains(body, "bytraffic") {
		t.Errorf("page lacks a balancer")
	}
}

func TestManagerHEAD(t *testing.T) {
	_, mg, _ := managed(t)
	r := httptest.NewRequest("HEAD", "/", nil)
	w := httptest.NewRecorder()
	mg.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Errorf("HEAD: %d", w.Code)
	}
}

func TestManagerBodyLimit(t *testing.T) {
	_, mg, _ := managed(t)
	r := httptest.NewRequest("POST", "/", io.MultiReader(strings.NewReader("b=shop&w_wr="), strings.NewReader(strings.Repeat("x", 100<<10))))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	mg.ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d", w.Code)
	}
}
