package manager_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/healthcheck"
	"github.com/proxybalancer/balancer/manager"
)

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
	st.Reset()
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

// The page offers every method lbmethod.ByName builds, hash included.
func TestManagerMethods(t *testing.T) {
	b, mg, _ := managed(t)
	page := get(t, mg, "/balancer-manager?b=shop").Body.String()
	for _, m := range []string{"byrequests", "bybusyness", "bytraffic", "latency", "hash"} {
		assert.Contains(t, page, `<option value="`+m+`"`)
	}
	assert.NotContains(t, page, `<option value="heartbeat"`, "heartbeat needs a report table")
	w := post(t, mg, form("b_lbm", "hash"))
	require.Equal(t, 200, w.Code, w.Body.String())
	assert.Equal(t, "hash", b.State().Method)
	w = post(t, mg, form("b_lbm", "heartbeat"))
	assert.Equal(t, 400, w.Code)
	assert.Contains(t, w.Body.String(), "the manager can set: byrequests, bybusyness, bytraffic, latency, hash")
}
