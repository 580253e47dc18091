package manager_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
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

func TestManagerMemberEdits(t *testing.T) {
	hc := func(m balancer.MemberStats) healthcheck.Check { return m.HealthCheck }
	tests := []struct {
		name  string
		kv    []string
		check func(t *testing.T, b *balancer.Balancer)
	}{
		{"loadfactor", []string{"w", "http://a", "w_lf", "2.5"}, func(t *testing.T, b *balancer.Balancer) {
			if got := member(t, b, "http://a").LoadFactor; got != 2.5 {
				t.Errorf("factor %v", got)
			}
		}},
		{"lbset", []string{"w", "http://a", "w_ls", "7"}, func(t *testing.T, b *balancer.Balancer) {
			if got := member(t, b, "http://a").LBSet; got != 7 {
				t.Errorf("lbset %d", got)
			}
		}},
		{"route", []string{"w", "http://a", "w_wr", " r9 "}, func(t *testing.T, b *balancer.Balancer) {
			if got := member(t, b, "http://a").Route; got != "r9" {
				t.Errorf("route %q (trimmed r9)", got)
			}
		}},
		{"route cleared", []string{"w", "http://a", "w_wr", ""}, func(t *testing.T, b *balancer.Balancer) {
			if got := member(t, b, "http://a").Route; got != "" {
				t.Errorf("route %q", got)
			}
		}},
		{"redirect", []string{"w", "http://a", "w_rr", "r2"}, func(t *testing.T, b *balancer.Balancer) {
			if got := member(t, b, "http://a").Redirect; got != "r2" {
				t.Errorf("redirect %q", got)
			}
		}},
		{"member by unnormalised URL", []string{"w", "HTTP://A:80", "w_ls", "3"}, func(t *testing.T, b *balancer.Balancer) {
			if got := member(t, b, "http://a").LBSet; got != 3 {
				t.Errorf("lbset %d", got)
			}
		}},
		{"health check", []string{"w", "http://a", "w_hm", "get", "w_hi", "1500", "w_hp", "2", "w_hf", "3", "w_hu", "/health"}, func(t *testing.T, b *balancer.Balancer) {
			want := healthcheck.Check{Method: healthcheck.MethodGet, Interval: 1500 * time.Millisecond, Passes: 2, Fails: 3, URI: "/health"}
			if diff := cmp.Diff(want, hc(member(t, b, "http://a")), checkOpts); diff != "" {
				t.Errorf("health check (-want +got):\n%s", diff)
			}
		}},
		{"empty hcexpr accepted", []string{"w", "http://a", "w_he", "", "w_ls", "1"}, func(t *testing.T, b *balancer.Balancer) {
			if got := member(t, b, "http://a").LBSet; got != 1 {
				t.Errorf("lbset %d", got)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, mg, _ := managed(t)
			w := post(t, mg, form(tt.kv...))
			if w.Code != 200 {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if !strings.Contains(w.Body.String(), "Changes applied to balancer://shop") {
				t.Errorf("page does not say the change was applied")
			}
			tt.check(t, b)
		})
	}
}

func TestManagerStatusFlags(t *testing.T) {
	flags := []struct {
		letter string
		flag   balancer.Status
	}{
		{"I", balancer.StatusIgnoreErrors}, {"N", balancer.StatusDrain}, {"D", balancer.StatusDisabled},
		{"H", balancer.StatusStandby}, {"R", balancer.StatusSpare}, {"S", balancer.StatusStopped},
		{"C", balancer.StatusHCFailed},
	}
	for _, f := range flags {
		t.Run(f.letter, func(t *testing.T) {
			b, mg, _ := managed(t)
			if w := post(t, mg, form("w", "http://b", "w_status_"+f.letter, "1")); w.Code != 200 {
				t.Fatalf("set: %d %s", w.Code, w.Body)
			}
			if got := member(t, b, "http://b").Status; got != balancer.StatusInit|f.flag {
				t.Errorf("after set: %v", got)
			}
			if w := post(t, mg, form("w", "http://b", "w_status_"+f.letter, "0")); w.Code != 200 {
				t.Fatalf("clear: %d %s", w.Code, w.Body)
			}
			if got := member(t, b, "http://b").Status; got != balancer.StatusInit {
				t.Errorf("after clear: %v", got)
			}
		})
	}
}

// A disabled member gets no more requests from the next one on, and
// re-enabled it gets them again.
func TestManagerDisableAppliesToNextRequest(t *testing.T) {
	b, mg, st := managed(t)
	if w := post(t, mg, form("w", "http://b", "w_status_D", "1")); w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	for _, got := range seq(t, b, 9, nil) {
		if got == "b" {
			t.Fatalf("disabled member b served a request")
		}
	}
	if w := post(t, mg, form("w", "http://b", "w_status_D", "0")); w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	st.reset()
	served := strings.Join(seq(t, b, 8, nil), " ")
	if !strings.Contains(served, "b") {
		t.Errorf("re-enabled b served nothing: %s", served)
	}
}

// A load factor change restarts every member's lbstatus at its factor
// (Apache's recalc_factors).
func TestManagerLoadFactorRecalc(t *testing.T) {
	b, mg, _ := managed(t)
	seq(t, b, 5, nil) // move the credits away from the factors
	if w := post(t, mg, form("w", "http://c", "w_lf", "3")); w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	got := map[string]int64{}
	for _, ms := range b.Members() {
		got[ms.URL] = ms.Load
	}
	want := map[string]int64{"http://a": 100, "http://b": 200, "http://c": 300}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lbstatus after w_lf (-want +got):\n%s", diff)
	}
}

// With one member, a factor is always 1 (Apache forces 100).
func TestManagerLoadFactorSingleMember(t *testing.T) {
	b := mustNew(t, balancer.Config{Name: "one", Members: members("a lf=3"), Transport: newStub()})
	mg, err := manager.New(manager.Config{Hosts: testHosts, Balancers: []*balancer.Balancer{b}, Nonces: map[string]string{"one": "n"}})
	if err != nil {
		t.Fatal(err)
	}
	w := post(t, mg, url.Values{"b": {"one"}, "nonce": {"n"}, "w": {"http://a"}, "w_lf": {"7"}})
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if ms := b.Members()[0]; ms.LoadFactor != 1 || ms.Load != 100 {
		t.Errorf("single member: factor %v load %d, want 1 and 100", ms.LoadFactor, ms.Load)
	}
}

func TestManagerBalancerEdits(t *testing.T) {
	tests := []struct {
		name  string
		kv    []string
		check func(t *testing.T, c balancer.Config)
	}{
		{"method", []string{"b_lbm", "bybusyness"}, func(t *testing.T, c balancer.Config) {
			if methodOf(c) != "bybusyness" {
				t.Errorf("method %s", methodOf(c))
			}
		}},
		{"timeout", []string{"b_tmo", "2.5"}, func(t *testing.T, c balancer.Config) {
			if c.Timeout != 2500*time.Millisecond {
				t.Errorf("timeout %v", c.Timeout)
			}
		}},
		{"maxattempts", []string{"b_max", "5"}, func(t *testing.T, c balancer.Config) {
			if c.MaxAttempts != 5 {
				t.Errorf("maxattempts %d", c.MaxAttempts)
			}
		}},
		{"maxattempts 0 is no failover", []string{"b_max", "0"}, func(t *testing.T, c balancer.Config) {
			if c.MaxAttempts >= 0 {
				t.Errorf("maxattempts %d, want negative (none)", c.MaxAttempts)
			}
		}},
		{"maxattempts as shown changes nothing", []string{"b_max", "2"}, func(t *testing.T, c balancer.Config) {
			if c.MaxAttempts != 0 {
				t.Errorf("maxattempts %d, want 0 (the default, members-1 = 2)", c.MaxAttempts)
			}
		}},
		{"nofailover", []string{"b_sforce", "1"}, func(t *testing.T, c balancer.Config) {
			if !c.NoFailover {
				t.Errorf("nofailover off")
			}
		}},
		{"sticky trimmed", []string{"b_ss", " SID | sid "}, func(t *testing.T, c balancer.Config) {
			if c.StickySession != "SID|sid" {
				t.Errorf("stickysession %q", c.StickySession)
			}
		}},
		{"sticky cleared", []string{"b_ss", "-"}, func(t *testing.T, c balancer.Config) {
			if c.StickySession != "" {
				t.Errorf("stickysession %q", c.StickySession)
			}
		}},
		{"sticky empty changes nothing", []string{"b_ss", ""}, func(t *testing.T, c balancer.Config) {
			if c.StickySession != "JSESSIONID|jsessionid" {
				t.Errorf("stickysession %q", c.StickySession)
			}
		}},
		{"all at once", []string{"b_lbm", "bytraffic", "b_tmo", "3", "b_max", "1", "b_sforce", "1", "b_ss", "X"}, func(t *testing.T, c balancer.Config) {
			got := []any{methodOf(c), c.Timeout, c.MaxAttempts, c.NoFailover, c.StickySession}
			want := []any{"bytraffic", 3 * time.Second, 1, true, "X"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, mg, _ := managed(t)
			if w := post(t, mg, form(tt.kv...)); w.Code != 200 {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			tt.check(t, b.Config())
		})
	}
}

// The method is reset only when it changes: sending the current one back
// (as the settings form does) keeps the scheduler.
func TestManagerSameMethodKeepsScheduler(t *testing.T) {
	b, mg, _ := managed(t)
	post(t, mg, form("b_lbm", "bybusyness"))
	before := b.Config().Method
	if w := post(t, mg, form("b_lbm", "BYBUSYNESS")); w.Code != 200 || !strings.Contains(w.Body.String(), "No change") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if b.Config().Method != before {
		t.Errorf("the same method made a new scheduler")
	}
}

// GrowthFor overrides Growth per balancer, as Apache's growth= is.
func TestManagerGrowthFor(t *testing.T) {
	_, mg, _ := managed(t, func(c *manager.Config) { c.GrowthFor = map[string]int{"balancer://shop": 1} })
	if w := post(t, mg, form("b_wyes", "1", "b_nwrkr", "http://new1")); w.Code != 200 {
		t.Fatalf("first: %d %s", w.Code, w.Body)
	}
	if w := post(t, mg, form("b_wyes", "1", "b_nwrkr", "http://new2")); w.Code != 400 || !strings.Contains(w.Body.String(), "growth is 1") {
		t.Errorf("second with growthfor 1 (growth 2): %d %s", w.Code, w.Body)
	}
}

func TestManagerAddMember(t *testing.T) {
	b, mg, _ := managed(t)
	if w := post(t, mg, form("b_wyes", "1", "b_nwrkr", " HTTP://New:80/app ")); w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	ms := member(t, b, "http://new/app")
	if ms.Status != balancer.StatusInit|balancer.StatusDisabled || ms.Route != "" {
		t.Errorf("added member: %v route %q; want disabled without route", ms.Status, ms.Route)
	}
	if w := post(t, mg, form("b_wyes", "1", "b_nwrkr", "http://new/app")); w.Code != 400 || !strings.Contains(w.Body.String(), "b_nwrkr") {
		t.Errorf("adding it again: %d %s", w.Code, w.Body)
	}
	if w := post(t, mg, form("b_wyes", "1", "b_nwrkr", "http://new2")); w.Code != 200 {
		t.Fatalf("second: %d %s", w.Code, w.Body)
	}
	before := stateOf(b)
	w := post(t, mg, form("b_wyes", "1", "b_nwrkr", "http://new3"))
	if w.Code != 400 || !strings.Contains(w.Body.String(), "growth is 2") {
		t.Errorf("third addition with growth 2: %d %s", w.Code, w.Body)
	}
	if diff := cmp.Diff(before, stateOf(b), statsOpts); diff != "" {
		t.Errorf("rejected addition changed state:\n%s", diff)
	}
	// The manager's members leave with an Update; their slots come back.
	if err := b.Update(members("a", "b", "c")); err != nil {
		t.Fatal(err)
	}
	if w := post(t, mg, form("b_wyes", "1", "b_nwrkr", "http://new3")); w.Code != 200 {
		t.Errorf("after the added members left: %d %s", w.Code, w.Body)
	}
}

func TestManagerNoGrowthNoAdd(t *testing.T) {
	_, mg, _ := managed(t, func(c *manager.Config) { c.Growth = 0 })
	if w := post(t, mg, form("b_wyes", "1", "b_nwrkr", "http://new")); w.Code != 400 || !strings.Contains(w.Body.String(), "no room") {
		t.Errorf("%d %s", w.Code, w.Body)
	}
	if body := get(t, mg, "/").Body.String(); strings.Contains(body, "b_nwrkr") {
		t.Errorf("the page offers to add a member without growth")
	}
}

// Every rejected change answers with the status and a message naming the
// parameter, and changes nothing, not even the parts that were valid.
func TestManagerRejections(t *testing.T) {
	long := strings.Repeat("x", 64)
	tests := []struct {
		name   string
		kv     []string
		header []string
		code   int
		names  string
	}{
		{"missing nonce", []string{"nonce", ""}, nil, 403, "nonce"},
		{"wrong nonce", []string{"nonce", "guess"}, nil, 403, "nonce"},
		{"cross-origin Origin", nil, []string{"Origin", "http://evil.example"}, 403, "Origin"},
		{"null Origin", nil, []string{"Origin", "null"}, 403, "Origin"},
		{"cross-site fetch", nil, []string{"Sec-Fetch-Site", "cross-site"}, 403, "Sec-Fetch-Site"},
		{"same-site fetch", nil, []string{"Sec-Fetch-Site", "same-site", "Origin", "http://other.example.com"}, 403, "Sec-Fetch-Site"},
		{"foreign Referer", nil, []string{"Origin", "", "Referer", "http://evil.example/x"}, 403, "Referer"},
		{"unknown balancer", []string{"b", "nope"}, nil, 400, "b"},
		{"unknown member", []string{"w", "http://zzz"}, nil, 400, `w "http://zzz"`},
		{"member not a URL", []string{"w", "::"}, nil, 400, "w"},
		{"member edit without member", []string{"w_lf", "2"}, nil, 400, "w_lf"},
		{"loadfactor 0", []string{"w_lf", "0"}, nil, 400, "w_lf"},
		{"loadfactor 101", []string{"w_lf", "101"}, nil, 400, "w_lf"},
		{"loadfactor text", []string{"w_lf", "abc"}, nil, 400, "w_lf"},
		{"loadfactor NaN", []string{"w_lf", "NaN"}, nil, 400, "w_lf"},
		{"lbset 100", []string{"w_ls", "100"}, nil, 400, "w_ls"},
		{"lbset -1", []string{"w_ls", "-1"}, nil, 400, "w_ls"},
		{"route too long", []string{"w_wr", long}, nil, 400, "w_wr"},
		{"redirect control char", []string{"w_rr", "a\x01b"}, nil, 400, "w_rr"},
		{"status 2", []string{"w_status_D", "2"}, nil, 400, "w_status_D"},
		{"status E not settable", []string{"w_status_E", "1"}, nil, 400, "w_status_E"},
		{"hc method", []string{"w_hm", "PING"}, nil, 400, "w_hm"},
		{"hc interval", []string{"w_hi", "50"}, nil, 400, "w_hi"},
		{"hc passes", []string{"w_hp", "0"}, nil, 400, "w_hp"},
		{"hc fails", []string{"w_hf", "x"}, nil, 400, "w_hf"},
		{"hc uri", []string{"w_hu", "/a b"}, nil, 400, "w_hu"},
		{"hc expr", []string{"w_he", "ok"}, nil, 400, "w_he"},
		{"unknown method", []string{"b_lbm", "fastest"}, nil, 400, "b_lbm"},
		{"heartbeat needs a source", []string{"b_lbm", "heartbeat"}, nil, 400, "b_lbm"},
		{"timeout 7201", []string{"b_tmo", "7201"}, nil, 400, "b_tmo"},
		{"timeout -1", []string{"b_tmo", "-1"}, nil, 400, "b_tmo"},
		{"maxattempts 100", []string{"b_max", "100"}, nil, 400, "b_max"},
		{"nofailover yes", []string{"b_sforce", "yes"}, nil, 400, "b_sforce"},
		{"sticky empty half", []string{"b_ss", "A|"}, nil, 400, "b_ss"},
		{"add without yes", []string{"b_nwrkr", "http://n"}, nil, 400, "b_wyes"},
		{"add without URL", []string{"b_wyes", "1"}, nil, 400, "b_nwrkr"},
		{"add bad URL", []string{"b_wyes", "1", "b_nwrkr", "ftp://n"}, nil, 400, "b_nwrkr"},
		{"unknown parameter", []string{"w_xx", "1"}, nil, 400, "w_xx"},
		{"given twice", []string{"w_ls", "1", "w_ls", "2"}, nil, 400, "w_ls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, mg, _ := managed(t)
			before := stateOf(b)
			// A valid change rides along: it must not be applied either.
			v := form("w", "http://a", "w_lf", "5", "w_status_D", "1", "b_lbm", "bybusyness")
			seen := map[string]bool{}
			for i := 0; i+1 < len(tt.kv); i += 2 {
				if k := tt.kv[i]; seen[k] {
					v.Add(k, tt.kv[i+1])
				} else {
					v.Set(k, tt.kv[i+1])
					seen[k] = true
				}
			}
			if tt.name == "member edit without member" {
				v.Del("w")
				v.Del("w_status_D")
			}
			w := post(t, mg, v, tt.header...)
			if w.Code != tt.code {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.code, w.Body)
			}
			if !strings.Contains(html.UnescapeString(w.Body.String()), tt.names) {
				t.Errorf("answer does not name %s: %s", tt.names, w.Body)
			}
			if diff := cmp.Diff(before, stateOf(b), statsOpts); diff != "" {
				t.Errorf("a rejected change changed state (-before +after):\n%s", diff)
			}
		})
	}
}

func TestManagerChangesNeedPOST(t *testing.T) {
	b, mg, _ := managed(t)
	before := stateOf(b)
	w := get(t, mg, "/?b=shop&w=http://a&nonce="+testNonce+"&w_status_D=1")
	if w.Code != http.StatusMethodNotAllowed || !strings.Contains(w.Body.String(), "w_status_D") || w.Header().Get("Allow") != "POST" {
		t.Errorf("GET with a change: %d Allow %q %s", w.Code, w.Header().Get("Allow"), w.Body)
	}
	// In a POST, changes in the URL are refused too.
	r := httptest.NewRequest("POST", "/?w_lf=3", strings.NewReader(form("w", "http://a").Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rw := httptest.NewRecorder()
	mg.ServeHTTP(rw, r)
	if rw.Code != 400 || !strings.Contains(rw.Body.String(), "w_lf") {
		t.Errorf("POST with a change in the URL: %d %s", rw.Code, rw.Body)
	}
	for _, method := range []string{"PUT", "DELETE", "PATCH"} {
		r := httptest.NewRequest(method, "/", strings.NewReader(form("w", "http://a", "w_status_D", "1").Encode()))
		rw := httptest.NewRecorder()
		mg.ServeHTTP(rw, r)
		if rw.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s: %d", method, rw.Code)
		}
	}
	r = httptest.NewRequest("POST", "/", strings.NewReader("w_status_D=1"))
	r.Header.Set("Content-Type", "text/plain")
	rw = httptest.NewRecorder()
	mg.ServeHTTP(rw, r)
	if rw.Code != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain body: %d", rw.Code)
	}
	if diff := cmp.Diff(before, stateOf(b), statsOpts); diff != "" {
		t.Errorf("state changed:\n%s", diff)
	}
}

// Requests that carry no browser headers are not from a browser: the
// nonce suffices (scripts). Same-origin and trusted origins pass.
func TestManagerOriginsAccepted(t *testing.T) {
	tests := []struct {
		name   string
		header []string
	}{
		{"no browser headers", []string{"Origin", ""}},
		{"same-origin fetch", []string{"Sec-Fetch-Site", "same-origin", "Origin", ""}},
		{"user-initiated fetch", []string{"Sec-Fetch-Site", "none"}},
		{"Origin with default port", []string{"Origin", "http://EXAMPLE.com:80"}},
		{"same-host Referer (Apache scripts)", []string{"Origin", "", "Referer", "http://example.com/balancer-manager?b=shop"}},
		{"trusted origin", []string{"Origin", "https://admin.example.net"}},
		{"trusted origin, cross-site fetch", []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://admin.example.net"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, mg, _ := managed(t, func(c *manager.Config) { c.TrustedOrigins = []string{"https://Admin.example.net:443"} })
			if w := post(t, mg, form("w", "http://a", "w_ls", "4"), tt.header...); w.Code != 200 {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			if got := member(t, b, "http://a").LBSet; got != 4 {
				t.Errorf("lbset %d", got)
			}
		})
	}
}

func TestManagerReadOnly(t *testing.T) {
	for name, mod := range map[string]func(*manager.Config){
		"empty nonce": func(c *manager.Config) { c.Nonces = map[string]string{"balancer://shop": ""} },
		"ReadOnly":    func(c *manager.Config) { c.ReadOnly = true },
	} {
		t.Run(name, func(t *testing.T) {
			b, mg, _ := managed(t, mod)
			before := stateOf(b)
			v := form("w", "http://a", "w_status_D", "1")
			v.Set("nonce", "")
			if w := post(t, mg, v); w.Code != 403 || !strings.Contains(w.Body.String(), "read-only") {
				t.Errorf("%d %s", w.Code, w.Body)
			}
			if diff := cmp.Diff(before, stateOf(b), statsOpts); diff != "" {
				t.Errorf("state changed:\n%s", diff)
			}
			page := get(t, mg, "/").Body.String()
			if strings.Contains(page, `name="nonce"`) || !strings.Contains(page, "read-only") {
				t.Errorf("read-only page shows forms or no notice")
			}
			var doc struct{ Balancers []struct{ Nonce string } }
			json.Unmarshal(get(t, mg, "/?json").Body.Bytes(), &doc)
			if len(doc.Balancers) != 1 || doc.Balancers[0].Nonce != "" {
				t.Errorf("JSON shows a nonce: %+v", doc)
			}
		})
	}
}

func TestManagerNonceKeys(t *testing.T) {
	b := mustNew(t, balancer.Config{Name: "Shop", Members: members("a"), Transport: newStub()})
	mg, err := manager.New(manager.Config{Hosts: testHosts, Balancers: []*balancer.Balancer{b}, Nonces: map[string]string{"BALANCER://SHOP": "fixed"}})
	if err != nil {
		t.Fatal(err)
	}
	if w := post(t, mg, url.Values{"b": {"shop"}, "nonce": {"fixed"}, "w": {"http://a"}, "w_ls": {"1"}}); w.Code != 200 {
		t.Errorf("fixed nonce under an upper-case key: %d %s", w.Code, w.Body)
	}
}

func TestManagerRandomNonce(t *testing.T) {
	b := mustNew(t, balancer.Config{Name: "x", Members: members("a"), Transport: newStub()})
	nonces := map[string]bool{}
	for range 2 {
		mg, err := manager.New(manager.Config{Hosts: testHosts, Balancers: []*balancer.Balancer{b}})
		if err != nil {
			t.Fatal(err)
		}
		var doc struct{ Balancers []struct{ Nonce string } }
		if err := json.Unmarshal(get(t, mg, "/?json").Body.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		n := doc.Balancers[0].Nonce
		if len(n) != 36 || strings.Count(n, "-") != 4 {
			t.Errorf("nonce %q: want a UUID", n)
		}
		nonces[n] = true
	}
	if len(nonces) != 2 {
		t.Errorf("two managers got the same nonce")
	}
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

func TestManagerPage(t *testing.T) {
	b, mg, _ := managed(t)
	// Everything shown is escaped: a route is free text.
	if err := b.Update([]balancer.Member{{URL: "http://a", Route: `<script>alert(1)</script>`}, {URL: "http://b"}}); err != nil {
		t.Fatal(err)
	}
	w := get(t, mg, "/")
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("%d %s", w.Code, w.Header().Get("Content-Type"))
	}
	body := w.Body.String()
	if strings.Contains(body, "<script>") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("route not escaped")
	}
	for _, want := range []string{"balancer://shop", "http://a", "http://b", `name="w_status_D" value="1"`, testNonce, "JSESSIONID | jsessionid"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// The page loads one thing: its chart script, from the manager
	// itself, allowed by its hash.
	script := regexp.MustCompile(`<script src="\?asset=charts\.js" integrity="(sha256-[A-Za-z0-9+/=]+)" defer></script>`).FindStringSubmatch(body)
	if script == nil || strings.Count(body, "src=") != 1 || strings.Count(body, "<script") != 1 || strings.Contains(body, "<link") {
		t.Errorf("page loads something else than its own chart script")
	}
	h := w.Header()
	csp := h.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	if script != nil && !strings.Contains(csp, "script-src '"+script[1]+"';") {
		t.Errorf("CSP %q does not allow the script %s, or allows more", csp, script[1])
	}
	js := get(t, mg, "/?asset=charts.js")
	sum := sha256.Sum256(js.Body.Bytes())
	if js.Code != 200 || js.Header().Get("Content-Type") != "text/javascript; charset=utf-8" ||
		script == nil || "sha256-"+base64.StdEncoding.EncodeToString(sum[:]) != script[1] {
		t.Errorf("?asset=charts.js: %d %q, not the script the page names", js.Code, js.Header().Get("Content-Type"))
	}
	if w := get(t, mg, "/?asset=evil.js"); w.Code != 404 {
		t.Errorf("?asset=evil.js: %d", w.Code)
	}
	if h.Get("X-Frame-Options") != "DENY" || h.Get("Cache-Control") != "no-store" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("security headers: %v", h)
	}
	// ?b=&w= opens the member's edit form.
	edit := get(t, mg, "/?b=shop&w=http://b").Body.String()
	if !strings.Contains(edit, `id="edit"`) || !strings.Contains(edit, `name="w_lf"`) {
		t.Errorf("no edit form for ?b=shop&w=http://b")
	}
	if w := get(t, mg, "/?b=nope"); w.Code != 404 || !strings.Contains(w.Body.String(), "nope") {
		t.Errorf("unknown balancer: %d", w.Code)
	}
	if w := get(t, mg, "/?b=shop&w=http://nope"); w.Code != 404 {
		t.Errorf("unknown member: %d", w.Code)
	}
	if w := get(t, mg, "/"); w.Code != 200 {
		t.Errorf("HEAD-less GET: %d", w.Code)
	}
}

// The page shows health-check state and error state.
func TestManagerPageHealthAndErrors(t *testing.T) {
	clk := newClock()
	st := newStub("b")
	b := mustNew(t, balancer.Config{Name: "shop", Now: clk.Now, Transport: st, Members: []balancer.Member{
		{URL: "http://a", HealthCheck: healthcheck.Check{Method: healthcheck.MethodHead, URI: "/hc", Passes: 2, Fails: 3}},
		{URL: "http://b", Retry: 30 * time.Second},
	}})
	mg, err := manager.New(manager.Config{Hosts: testHosts, Balancers: []*balancer.Balancer{b}, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	seq(t, b, 2, nil) // b fails to connect: error state for 30 s
	clk.Advance(10 * time.Second)
	body := get(t, mg, "/").Body.String()
	for _, want := range []string{"HEAD /hc every 30s", "–/2", "–/3", "Init Err", "03:04:35", "in 20s"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestManagerJSONRead(t *testing.T) {
	b, mg, _ := managed(t)
	seq(t, b, 3, nil)
	for _, target := range []string{"/?json", "/"} {
		w := get(t, mg, target, "Accept", "application/json")
		if w.Code != 200 || w.Header().Get("Content-Type") != "application/json; charset=utf-8" {
			t.Fatalf("%s: %d %s", target, w.Code, w.Header().Get("Content-Type"))
		}
		var doc struct {
			Balancers []struct {
				Name, Nonce, StickySession, Method string
				MaxAttempts, Growth, GrowthUsed    int
				Members                            []struct {
					URL, Route, Status, Flags string
					LoadFactor                float64
					Elected                   int64
					Usable                    bool
				}
			}
		}
		if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		jb := doc.Balancers[0]
		if jb.Name != "balancer://shop" || jb.Nonce != testNonce || jb.StickySession != "JSESSIONID|jsessionid" ||
			jb.Method != "byrequests" || jb.MaxAttempts != 2 || jb.Growth != 2 || len(jb.Members) != 3 {
			t.Errorf("%s: %+v", target, jb)
		}
		if m := jb.Members[1]; m.URL != "http://b" || m.Route != "r2" || m.LoadFactor != 2 || m.Status != "Init Ok" || !m.Usable || m.Elected == 0 {
			t.Errorf("member b: %+v", m)
		}
	}
	if w := get(t, mg, "/?json&b=nope"); w.Code != 404 || !strings.Contains(w.Body.String(), `"fields": [`) {
		t.Errorf("unknown balancer in JSON: %d %s", w.Code, w.Body)
	}
}

func TestManagerJSONEdit(t *testing.T) {
	b, mg, _ := managed(t)
	w := postJSON(t, mg, `{
		"balancer": "balancer://shop", "nonce": "`+testNonce+`",
		"settings": {"method": "bybusyness", "stickySession": "S|s", "noFailover": true, "maxAttempts": 4, "timeoutMs": 1500},
		"members": [
			{"url": "http://a", "loadFactor": 3, "lbSet": 1, "route": "x", "redirect": "y", "flags": {"N": true, "H": false}},
			{"url": "http://b", "flags": {"D": true}, "healthCheck": {"method": "TCP", "intervalMs": 200, "passes": 2, "fails": 2}}
		],
		"add": ["http://d"]
	}`)
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	c := b.Config()
	if got := []any{methodOf(c), c.StickySession, c.NoFailover, c.MaxAttempts, c.Timeout}; !cmp.Equal(got, []any{"bybusyness", "S|s", true, 4, 1500 * time.Millisecond}) {
		t.Errorf("settings: %v", got)
	}
	a := member(t, b, "http://a")
	if a.LoadFactor != 3 || a.LBSet != 1 || a.Route != "x" || a.Redirect != "y" || a.Status != balancer.StatusInit|balancer.StatusDrain {
		t.Errorf("a: %+v", a)
	}
	bm := member(t, b, "http://b")
	if want := (healthcheck.Check{Method: healthcheck.MethodTCP, Interval: 200 * time.Millisecond, Passes: 2, Fails: 2}); !cmp.Equal(bm.HealthCheck, want, checkOpts) || !bm.Status.Has(balancer.StatusDisabled) {
		t.Errorf("b: %v %+v", bm.Status, bm.HealthCheck)
	}
	if d := member(t, b, "http://d"); d.Status != balancer.StatusInit|balancer.StatusDisabled {
		t.Errorf("added d: %v", d.Status)
	}
	var doc struct {
		Balancers []struct {
			Method  string
			Members []struct {
				URL   string
				Added bool
			}
		}
	}
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil || doc.Balancers[0].Method != "bybusyness" || !doc.Balancers[0].Members[3].Added {
		t.Errorf("answer: %v %s", err, w.Body)
	}
}

func TestManagerJSONRejections(t *testing.T) {
	tests := []struct {
		name, body string
		code       int
		fields     []string
	}{
		{"wrong nonce", `{"balancer":"shop","nonce":"x","members":[{"url":"http://a","lbSet":1}]}`, 403, []string{"nonce"}},
		{"no nonce", `{"balancer":"shop","members":[{"url":"http://a","lbSet":1}]}`, 403, []string{"nonce"}},
		{"out of range", `{"balancer":"shop","nonce":"N","members":[{"url":"http://a","loadFactor":0,"lbSet":100}]}`, 400, []string{"members[0].loadFactor", "members[0].lbSet"}},
		{"unknown member", `{"balancer":"shop","nonce":"N","members":[{"url":"http://a","lbSet":1},{"url":"http://zz","lbSet":1}]}`, 400, []string{"members[1].url"}},
		{"member without url", `{"balancer":"shop","nonce":"N","members":[{"lbSet":1}]}`, 400, []string{"members[0].url"}},
		{"unknown flag", `{"balancer":"shop","nonce":"N","members":[{"url":"http://a","flags":{"E":false}}]}`, 400, []string{"members[0].flags.E"}},
		{"wrong type", `{"balancer":"shop","nonce":"N","members":[{"url":"http://a","loadFactor":"2"}]}`, 400, []string{"members.loadFactor"}},
		{"unknown method", `{"balancer":"shop","nonce":"N","settings":{"method":"random"}}`, 400, []string{"settings.method"}},
		{"timeout", `{"balancer":"shop","nonce":"N","settings":{"timeoutMs":7200001}}`, 400, []string{"settings.timeoutMs"}},
		{"bad add", `{"balancer":"shop","nonce":"N","add":["http://a","mailto:x"]}`, 400, []string{"add[1]"}},
		{"duplicate add", `{"balancer":"shop","nonce":"N","add":["http://a"]}`, 400, []string{"add[0]"}},
		{"unknown field", `{"balancer":"shop","nonce":"N","membres":[]}`, 400, nil},
		{"two documents", `{"balancer":"shop","nonce":"N"}{}`, 400, nil},
		{"not JSON", `b=shop`, 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, mg, _ := managed(t)
			before := stateOf(b)
			w := postJSON(t, mg, strings.ReplaceAll(tt.body, `"N"`, `"`+testNonce+`"`))
			if w.Code != tt.code {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.code, w.Body)
			}
			var je struct {
				Error  string
				Fields []string
			}
			if err := json.Unmarshal(w.Body.Bytes(), &je); err != nil || !strings.HasPrefix(je.Error, "balancer: manager: ") {
				t.Fatalf("answer %v: %s", err, w.Body)
			}
			if tt.fields != nil {
				if diff := cmp.Diff(tt.fields, je.Fields); diff != "" {
					t.Errorf("fields (-want +got):\n%s\n%s", diff, je.Error)
				}
			}
			if diff := cmp.Diff(before, stateOf(b), statsOpts); diff != "" {
				t.Errorf("state changed:\n%s", diff)
			}
		})
	}
}

// A form change can ask for JSON or XML back (scripts).
func TestManagerFormAnswerFormats(t *testing.T) {
	_, mg, _ := managed(t)
	v := form("w", "http://a", "w_ls", "2", "xml", "1")
	if w := post(t, mg, v); w.Code != 200 || w.Header().Get("Content-Type") != "text/xml" || !strings.Contains(w.Body.String(), "<httpd:lbset>2</httpd:lbset>") {
		t.Errorf("xml: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	w := post(t, mg, form("w", "http://a", "w_ls", "3"), "Accept", "application/json")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"lbSet": 3`) {
		t.Errorf("json: %d %s", w.Code, w.Body)
	}
	w = post(t, mg, form("w", "http://a", "w_ls", "300"), "Accept", "application/json")
	if w.Code != 400 || !strings.Contains(w.Body.String(), `"w_ls"`) {
		t.Errorf("json error: %d %s", w.Code, w.Body)
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

// The JSON and the page show what the health checker knows and the error
// state. The test waits for checks to reach the backend, not for time:
// checks of one member never overlap, so once the second arrives the first
// has been reported.
func TestManagerShowsHealth(t *testing.T) {
	checks := make(chan struct{}, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			w.WriteHeader(503)
			checks <- struct{}{}
		}
	}))
	t.Cleanup(srv.Close)
	b := mustNew(t, balancer.Config{Name: "hc", Transport: newStub(), Members: []balancer.Member{
		{URL: srv.URL, HealthCheck: healthcheck.Check{Method: healthcheck.MethodGet, URI: "/health", Interval: 100 * time.Millisecond, Fails: 1}},
		{URL: "http://other"},
	}})
	mg, err := manager.New(manager.Config{Hosts: testHosts, Balancers: []*balancer.Balancer{b}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.RunHealthChecks(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for range 2 {
		select {
		case <-checks:
		case <-time.After(10 * time.Second):
			t.Fatal("no health check arrived within 10s")
		}
	}
	if err := b.SetStatus("http://other", balancer.StatusError, 0); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Balancers []struct {
			Members []struct {
				Status      string
				ErrorSince  *time.Time
				ErrorUntil  *time.Time
				HealthCheck struct {
					Method     string
					IntervalMs int64
				}
				Health *struct {
					Healthy    bool
					Fails      int
					LastCheck  *time.Time
					LastStatus int
					LastError  string
				}
			}
		}
	}
	if err := json.Unmarshal(get(t, mg, "/?json").Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	m := doc.Balancers[0].Members[0]
	if m.Status != "Init HcFl" || m.HealthCheck.Method != "GET" || m.HealthCheck.IntervalMs != 100 || m.Health == nil ||
		m.Health.Healthy || m.Health.LastStatus != 503 || m.Health.LastCheck == nil || !strings.Contains(m.Health.LastError, "503") {
		t.Errorf("checked member: %+v health %+v", m, m.Health)
	}
	if o := doc.Balancers[0].Members[1]; o.Status != "Init Err" || o.ErrorSince == nil || o.ErrorUntil.Sub(*o.ErrorSince) != balancer.DefaultRetry {
		t.Errorf("member in error: %+v", o)
	}
	page := html.UnescapeString(get(t, mg, "/").Body.String())
	if !strings.Contains(page, "Init HcFl") || !strings.Contains(page, "GET /health every 100ms") || !strings.Contains(page, "503") {
		t.Errorf("page lacks the health state")
	}
}
