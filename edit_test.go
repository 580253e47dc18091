package balancer_test

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/lbmethod"
)

func ptr[T any](v T) *T { return &v }

// shop is a balancer "shop" over stub members a, b and c.
func shop(t *testing.T, mods ...func(*balancer.Config)) (*balancer.Balancer, *stub) {
	t.Helper()
	st := newStub()
	cfg := balancer.Config{
		Name:          "shop",
		StickySession: "JSESSIONID|jsessionid",
		Members:       members("a route=r1", "b route=r2 lf=2", "c route=r3"),
		Transport:     st,
	}
	for _, m := range mods {
		m(&cfg)
	}
	return mustNew(t, cfg), st
}

func memberState(t *testing.T, s balancer.State, url string) balancer.MemberState {
	t.Helper()
	for _, ms := range s.Members {
		if ms.URL == url {
			return ms
		}
	}
	require.Failf(t, "no such member", "%s in %+v", url, s.Members)
	return balancer.MemberState{}
}

func TestApplyMemberEdits(t *testing.T) {
	b, _ := shop(t)
	before := b.State()
	err := b.Apply(balancer.Change{
		Source: "test",
		Members: []balancer.MemberChange{{
			URL:        "HTTP://A:80", // normalised: http://a
			LoadFactor: ptr(3.5),
			LBSet:      ptr(2),
			Route:      ptr("r9"),
			Redirect:   ptr("r2"),
			Set:        "DN",
			HealthCheck: &balancer.HealthCheckChange{
				Method: ptr("get"), URI: ptr("/health"), Interval: ptr(10 * time.Second),
				Passes: ptr(2), Fails: ptr(3),
			},
		}},
	})
	require.NoError(t, err)
	after := b.State()
	want := before
	want.Members = append([]balancer.MemberState(nil), before.Members...)
	want.Members[0] = balancer.MemberState{
		URL: "http://a", LoadFactor: 3.5, LBSet: 2, Route: "r9", Redirect: "r2", Flags: "ND",
		HealthCheck: balancer.HealthCheckState{Method: "GET", URI: "/health", Interval: 10 * time.Second, Passes: 2, Fails: 3},
	}
	assert.Empty(t, cmp.Diff(want, after))

	// The flags are runtime flags, and the member left the rotation.
	a := b.Members()[0]
	assert.True(t, a.Status.Has(balancer.StatusDisabled|balancer.StatusDrain), "status %v", a.Status)
	assert.Equal(t, "r9", b.Config().Members[0].Route, "the configuration has the new route")

	// Clearing enables it again.
	require.NoError(t, b.Apply(balancer.Change{Members: []balancer.MemberChange{{URL: "http://a", Clear: "dn"}}}))
	assert.True(t, b.Members()[0].Status.Usable())
}

func TestApplyLoadFactorRecalc(t *testing.T) {
	b, st := shop(t)
	for range 5 {
		b.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}
	require.Len(t, st.Attempts(), 5)
	require.NoError(t, b.Apply(balancer.Change{Members: []balancer.MemberChange{{URL: "http://c", LoadFactor: ptr(4.0)}}}))
	var loads []int64
	for _, ms := range b.Members() {
		loads = append(loads, ms.Load)
	}
	// Apache's recalc_factors: every lbstatus restarts at its factor.
	assert.Equal(t, []int64{100, 200, 400}, loads)

	// A balancer's only member always has factor 1.
	one := mustNew(t, balancer.Config{Name: "one", Members: members("x"), Transport: newStub()})
	require.NoError(t, one.Apply(balancer.Change{Members: []balancer.MemberChange{{URL: "http://x", LoadFactor: ptr(7.0)}}}))
	assert.Equal(t, 1.0, one.State().Members[0].LoadFactor)
}

func TestApplyBalancerParameters(t *testing.T) {
	b, _ := shop(t)
	sched := b.Config().Method
	require.NoError(t, b.Apply(balancer.Change{Method: ptr("ByRequests")}))
	assert.Equal(t, sched, b.Config().Method, "the method it runs already keeps its instance")

	require.NoError(t, b.Apply(balancer.Change{
		Method: ptr("bybusyness"), StickySession: ptr("SID"), NoFailover: ptr(true),
		MaxAttempts: ptr(-1), Timeout: ptr(3 * time.Second),
	}))
	s := b.State()
	assert.Equal(t, "bybusyness", s.Method)
	assert.Equal(t, "SID", s.StickySession)
	assert.True(t, s.NoFailover)
	assert.Equal(t, -1, s.MaxAttempts)
	assert.Equal(t, 3*time.Second, s.Timeout)
	c := b.Config()
	assert.Equal(t, "bybusyness", c.Method.Name())
	assert.Equal(t, 3*time.Second, c.Timeout)

	require.NoError(t, b.Apply(balancer.Change{StickySession: ptr("")}))
	assert.Equal(t, "", b.Config().StickySession, "sticky sessions off")
}

func TestApplyAddRemove(t *testing.T) {
	b, st := shop(t)
	require.NoError(t, b.Apply(balancer.Change{
		Remove: []string{"http://A"},
		Add: []balancer.MemberChange{
			{URL: "http://D:80", Route: ptr("r4"), Set: "D"},
			{URL: "http://e", LoadFactor: ptr(2.0)},
		},
		Members: []balancer.MemberChange{{URL: "http://e", LBSet: ptr(1)}}, // edits a member it adds
	}))
	s := b.State()
	var urls []string
	for _, ms := range s.Members {
		urls = append(urls, ms.URL)
	}
	assert.Equal(t, []string{"http://b", "http://c", "http://d", "http://e"}, urls)
	d, e := memberState(t, s, "http://d"), memberState(t, s, "http://e")
	assert.Equal(t, "r4", d.Route)
	assert.Equal(t, "D", d.Flags, "an added member's Set flags are its status")
	assert.Equal(t, 2.0, e.LoadFactor)
	assert.Equal(t, 1, e.LBSet)
	assert.Equal(t, "D", b.Config().Members[2].Status)

	// d is disabled, e in lbset 1: requests go to b and c only; a is gone.
	st.Reset()
	for range 6 {
		b.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}
	assert.ElementsMatch(t, []string{"b", "b", "b", "b", "c", "c"}, st.Attempts(), "b has load factor 2")

	require.NoError(t, b.Apply(balancer.Change{Members: []balancer.MemberChange{{URL: "http://d", Clear: "D"}}}))
	assert.True(t, b.Members()[2].Status.Usable())
}

func TestApplyRefusals(t *testing.T) {
	long := string(make([]byte, 64))
	tests := []struct {
		name   string
		change balancer.Change
		fields []string
	}{
		{"another balancer", balancer.Change{Balancer: "balancer://other"}, []string{"balancer"}},
		{"empty method", balancer.Change{Method: ptr(" ")}, []string{"method"}},
		{"unknown method", balancer.Change{Method: ptr("fastest")}, []string{"method"}},
		{"bad sticky", balancer.Change{StickySession: ptr("a=b|c")}, []string{"stickySession"}},
		{"negative timeout", balancer.Change{Timeout: ptr(-time.Second)}, []string{"timeout"}},
		{"no such member", balancer.Change{Members: []balancer.MemberChange{{URL: "http://zz"}}}, []string{"members[0].url"}},
		{"not a URL", balancer.Change{Members: []balancer.MemberChange{{URL: "ftp://a"}}}, []string{"members[0].url"}},
		{"load factor", balancer.Change{Members: []balancer.MemberChange{{URL: "http://a", LoadFactor: ptr(101.0)}}}, []string{"members[0].loadFactor"}},
		{"lbset", balancer.Change{Members: []balancer.MemberChange{{URL: "http://a", LBSet: ptr(100)}}}, []string{"members[0].lbSet"}},
		{"route", balancer.Change{Members: []balancer.MemberChange{{URL: "http://a", Route: ptr(long)}}}, []string{"members[0].route"}},
		{"redirect", balancer.Change{Members: []balancer.MemberChange{{URL: "http://a", Redirect: ptr("x\ny")}}}, []string{"members[0].redirect"}},
		{"flag E", balancer.Change{Members: []balancer.MemberChange{{URL: "http://a", Set: "E"}}}, []string{"members[0].set"}},
		{"flag letter", balancer.Change{Members: []balancer.MemberChange{{URL: "http://a", Clear: "D+"}}}, []string{"members[0].clear"}},
		{"hc method", balancer.Change{Members: []balancer.MemberChange{{URL: "http://a", HealthCheck: &balancer.HealthCheckChange{Method: ptr("PING")}}}}, []string{"members[0].healthCheck.method"}},
		{"hc interval", balancer.Change{Members: []balancer.MemberChange{{URL: "http://a", HealthCheck: &balancer.HealthCheckChange{Interval: ptr(time.Millisecond)}}}}, []string{"members[0].healthCheck.interval"}},
		{"hc uri", balancer.Change{Members: []balancer.MemberChange{{URL: "http://a", HealthCheck: &balancer.HealthCheckChange{URI: ptr("/a b")}}}}, []string{"members[0].healthCheck.uri"}},
		{"hc passes", balancer.Change{Members: []balancer.MemberChange{{URL: "http://a", HealthCheck: &balancer.HealthCheckChange{Passes: ptr(-1), Fails: ptr(-2)}}}}, []string{"members[0].healthCheck.passes", "members[0].healthCheck.fails"}},
		{"add existing", balancer.Change{Add: []balancer.MemberChange{{URL: "http://B:80"}}}, []string{"add[0].url"}},
		{"remove unknown", balancer.Change{Remove: []string{"http://zz"}}, []string{"remove[0]"}},
		{"remove and edit", balancer.Change{Remove: []string{"http://a"}, Members: []balancer.MemberChange{{URL: "http://a"}}}, []string{"members[0].url"}},
		{"named twice", balancer.Change{Members: []balancer.MemberChange{{URL: "http://a"}, {URL: "http://A"}}}, []string{"members[1].url"}},
		{"several values, the good ones not applied", balancer.Change{
			NoFailover: ptr(true),
			Members: []balancer.MemberChange{
				{URL: "http://a", Set: "D", LoadFactor: ptr(0.5)},
				{URL: "http://b", Set: "X"},
			},
		}, []string{"members[0].loadFactor", "members[1].set"}},
		{"several members, the good ones not applied", balancer.Change{
			Timeout: ptr(time.Second),
			Remove:  []string{"http://yy"},
			Members: []balancer.MemberChange{{URL: "http://a", Set: "D"}, {URL: "http://zz"}},
		}, []string{"remove[0]", "members[1].url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := shop(t)
			before, flags := b.State(), b.Members()
			var events int
			b.OnChange(func(balancer.ChangeEvent) { events++ })
			err := b.Apply(tt.change)
			require.Error(t, err)
			var got []string
			for _, e := range flatten(err) {
				var ee *balancer.EditError
				require.True(t, errors.As(e, &ee), "%T %v is not an EditError", e, e)
				assert.Contains(t, e.Error(), ee.Field)
				got = append(got, ee.Field)
			}
			assert.Equal(t, tt.fields, got, "%v", err)
			assert.Empty(t, cmp.Diff(before, b.State()), "nothing changed")
			assert.Equal(t, flags[0].Status, b.Members()[0].Status)
			assert.Zero(t, events)
		})
	}
}

// flatten returns the errors joined in err, or err.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestApplyStickyOffWithRouteCookie(t *testing.T) {
	b, _ := shop(t, func(c *balancer.Config) { c.RouteCookie = &balancer.RouteCookie{Name: "ROUTEID"} })
	err := b.Apply(balancer.Change{StickySession: ptr("")})
	var ee *balancer.EditError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, "stickySession", ee.Field)
	assert.Equal(t, "JSESSIONID|jsessionid", b.Config().StickySession)
}

func TestOnChange(t *testing.T) {
	clk := newClock()
	b, _ := shop(t, func(c *balancer.Config) { c.Now = clk.Now })
	var (
		mu     sync.Mutex
		events []balancer.ChangeEvent
		states []balancer.State
	)
	stop := b.OnChange(func(ev balancer.ChangeEvent) {
		// Called with no lock held: reading the balancer is fine.
		s := b.State()
		b.Members()
		mu.Lock()
		events = append(events, ev)
		states = append(states, s)
		mu.Unlock()
	})
	when := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	c1 := balancer.Change{Source: "manager", Who: "127.0.0.1", Version: 7, When: when,
		Members: []balancer.MemberChange{{URL: "http://b", Set: "D"}}}
	require.NoError(t, b.Apply(c1))
	require.NoError(t, b.Apply(c1), "the same change again changes nothing")
	c2 := balancer.Change{Source: "etcd", Timeout: ptr(time.Second)}
	require.NoError(t, b.Apply(c2))

	require.Len(t, events, 2)
	assert.Equal(t, balancer.ChangeEvent{Balancer: "balancer://shop", Seq: 1, Change: c1}, events[0])
	c2.When = clk.Now() // filled in
	assert.Equal(t, balancer.ChangeEvent{Balancer: "balancer://shop", Seq: 2, Change: c2}, events[1])
	assert.Equal(t, "D", memberState(t, states[0], "http://b").Flags, "the listener sees the change applied")

	stop()
	stop()
	require.NoError(t, b.Apply(balancer.Change{Timeout: ptr(2 * time.Second)}))
	assert.Len(t, events, 2, "no call after stop")
}

// The OnChange contract: only Apply is reported, not the configuration
// arriving by Update or Reconfigure (a replica's own), nor SetStatus.
func TestOnChangeOnlyApply(t *testing.T) {
	b, _ := shop(t)
	var events []balancer.ChangeEvent
	b.OnChange(func(ev balancer.ChangeEvent) { events = append(events, ev) })
	ms := b.Config().Members
	require.NoError(t, b.Update(append(ms, balancer.Member{URL: "http://added"})))
	require.NoError(t, b.Reconfigure(func(c *balancer.Config) error { c.Timeout = time.Minute; return nil }))
	require.NoError(t, b.SetStatus("http://added", balancer.StatusDisabled, 0))
	assert.Empty(t, events)
	require.NoError(t, b.Apply(balancer.Change{Source: "manager", Members: []balancer.MemberChange{{URL: "http://added", Clear: "D"}}}))
	require.Len(t, events, 1)
	assert.Equal(t, "manager", events[0].Change.Source)
}

// A listener may apply a change itself, and an observer of the flags may
// read the balancer: nothing runs under a lock.
func TestApplyCallbacksOutsideLocks(t *testing.T) {
	var b *balancer.Balancer
	var seen []balancer.StateEvent
	b, _ = shop(t, func(c *balancer.Config) {
		c.Observer = &balancer.Observer{StateChanged: func(ev balancer.StateEvent) {
			b.State()
			b.Members()
			b.Config()
			seen = append(seen, ev)
		}}
	})
	b.OnChange(func(ev balancer.ChangeEvent) {
		if ev.Change.Source == "first" {
			require.NoError(t, b.Apply(balancer.Change{Source: "second", Members: []balancer.MemberChange{{URL: "http://c", Set: "H"}}}))
		}
	})
	require.NoError(t, b.Apply(balancer.Change{Source: "first", Members: []balancer.MemberChange{{URL: "http://a", Set: "D"}}}))
	require.Len(t, seen, 2)
	assert.Equal(t, "changed by first", seen[0].Why)
	assert.Equal(t, "http://a", seen[0].Member)
	assert.Equal(t, "http://c", seen[1].Member)
	assert.Equal(t, "H", memberState(t, b.State(), "http://c").Flags)
}

func TestStateChangeRecreates(t *testing.T) {
	b, _ := shop(t)
	require.NoError(t, b.Apply(balancer.Change{
		Method: ptr("bytraffic"), NoFailover: ptr(true), MaxAttempts: ptr(1), Timeout: ptr(time.Minute),
		Members: []balancer.MemberChange{
			{URL: "http://a", Set: "IH", LBSet: ptr(1)},
			{URL: "http://b", Set: "C", Route: ptr("rb")}, // C is runtime state, not kept
			{URL: "http://c", HealthCheck: &balancer.HealthCheckChange{Method: ptr("TCP"), Interval: ptr(5 * time.Second)}},
		},
	}))
	s := b.State()
	assert.Equal(t, "", memberState(t, s, "http://b").Flags)

	// The state as JSON and back is the same state.
	data, err := json.Marshal(s)
	require.NoError(t, err)
	var back balancer.State
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Empty(t, cmp.Diff(s, back))

	// Its change, applied to a fresh balancer with the same members,
	// recreates it.
	fresh, _ := shop(t)
	require.NoError(t, fresh.Apply(back.Change()))
	assert.Empty(t, cmp.Diff(s, fresh.State()))
	assert.Equal(t, balancer.StatusInit|balancer.StatusIgnoreErrors|balancer.StatusStandby, fresh.Members()[0].Status)
}

func TestChangeJSON(t *testing.T) {
	c := balancer.Change{
		Balancer: "shop", Source: "etcd", Who: "gw-2", When: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC), Version: 42,
		Method: ptr("bybusyness"), StickySession: ptr(""), NoFailover: ptr(false), MaxAttempts: ptr(0), Timeout: ptr(1500 * time.Millisecond),
		Remove:  []string{"http://a"},
		Add:     []balancer.MemberChange{{URL: "http://d", Set: "D"}},
		Members: []balancer.MemberChange{{URL: "http://b", LoadFactor: ptr(2.5), Clear: "DS", HealthCheck: &balancer.HealthCheckChange{Passes: ptr(3)}}},
	}
	data, err := json.Marshal(c)
	require.NoError(t, err)
	var back balancer.Change
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Empty(t, cmp.Diff(c, back))
	// Unset fields are absent, set ones present even when zero.
	assert.JSONEq(t, `{"balancer":"shop","source":"etcd","who":"gw-2","when":"2026-12-03T10:00:00Z","version":42,
		"method":"bybusyness","stickySession":"","noFailover":false,"maxAttempts":0,"timeout":1500000000,
		"remove":["http://a"],"add":[{"url":"http://d","set":"D"}],
		"members":[{"url":"http://b","loadFactor":2.5,"clear":"DS","healthCheck":{"passes":3}}]}`, string(data))
	empty, err := json.Marshal(balancer.Change{})
	require.NoError(t, err)
	assert.Equal(t, "{}", string(empty))
}

func TestNormalizeURL(t *testing.T) {
	for raw, want := range map[string]string{
		"HTTP://Host:80/a":      "http://host/a",
		"https://H:443":         "https://h",
		"http://h:8080/x/":      "http://h:8080/x/",
		"http://[::1]:80/":      "http://[::1]/",
		"https://[::1]:8443/p":  "https://[::1]:8443/p",
		"http://h/%7Euser/a%2F": "http://h/%7Euser/a%2F",
	} {
		got, err := balancer.NormalizeURL(raw)
		if assert.NoError(t, err, raw) {
			assert.Equal(t, want, got, raw)
		}
	}
	for _, raw := range []string{"ftp://h", "http://", "http://u@h", "http://h/?q", "::"} {
		_, err := balancer.NormalizeURL(raw)
		assert.ErrorContains(t, err, raw)
	}
}

func TestApplyConcurrent(t *testing.T) {
	b, _ := shop(t)
	var seqs sync.Map
	b.OnChange(func(ev balancer.ChangeEvent) { seqs.Store(ev.Seq, true) })
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 20 {
				lf := float64(1 + (i*20+j)%99)
				assert.NoError(t, b.Apply(balancer.Change{Members: []balancer.MemberChange{{URL: "http://a", LoadFactor: &lf, Set: "N", Clear: "N"}}}))
				b.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
				_ = b.State()
			}
		})
	}
	wg.Wait()
	n := 0
	seqs.Range(func(k, _ any) bool { n++; return true })
	assert.Positive(t, n)
	for s := uint64(1); s <= uint64(n); s++ {
		_, ok := seqs.Load(s)
		assert.True(t, ok, "seq %d missing: sequence numbers are 1..n", s)
	}
}

// ChangeTo turns one balancer's state into another's: parameters, members
// added and removed, settings and operator flags.
func TestStateChangeTo(t *testing.T) {
	from, _ := shop(t)
	require.NoError(t, from.Apply(balancer.Change{Members: []balancer.MemberChange{{URL: "http://b", Set: "N"}}}))
	to := mustNew(t, balancer.Config{
		Name: "shop", Method: lbmethod.MethodByBusyness, Timeout: time.Second,
		Members:   members("b route=r2 lf=3", "c route=r3 status=D", "d route=r4 lbset=1 status=H"),
		Transport: newStub(),
	})
	require.NoError(t, to.Apply(balancer.Change{Members: []balancer.MemberChange{
		{URL: "http://d", HealthCheck: &balancer.HealthCheckChange{Method: ptr("TCP")}},
	}}))
	target := to.State()

	c := from.State().ChangeTo(target)
	assert.Equal(t, []string{"http://a"}, c.Remove)
	require.Len(t, c.Add, 1)
	assert.Equal(t, "http://d", c.Add[0].URL)
	assert.Equal(t, "H", c.Add[0].Set)
	require.NoError(t, from.Apply(c))
	assert.Empty(t, cmp.Diff(target, from.State()))
	assert.Empty(t, cmp.Diff(balancer.Change{Balancer: "balancer://shop"}, from.State().ChangeTo(target)), "nothing left to change")
}
