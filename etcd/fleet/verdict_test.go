package fleet

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/healthcheck"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFleetVerdict(t *testing.T) {
	const m = "http://m:1"
	rep := func(v string) report { return report{"app": {m: v}} }
	for _, tc := range []struct {
		name    string
		reports map[string]report
		failed  bool
	}{
		{"no report", nil, false},
		{"reports on other members only", map[string]report{"gw0": {"app": {"http://other:1": verdictFail}}}, false},
		{"one replica, failed", map[string]report{"gw0": rep(verdictFail)}, true},
		{"one replica, passed", map[string]report{"gw0": rep(verdictPass)}, false},
		{"a tie fails", map[string]report{"gw0": rep(verdictFail), "gw1": rep(verdictPass)}, true},
		{"outvoted", map[string]report{"gw0": rep(verdictFail), "gw1": rep(verdictPass), "gw2": rep(verdictPass)}, false},
		{"majority failed", map[string]report{"gw0": rep(verdictFail), "gw1": rep(verdictFail), "gw2": rep(verdictPass)}, true},
		{"unknown value ignored", map[string]report{"gw0": rep("maybe")}, false},
	} {
		failed, _, _ := fleetVerdict(tc.reports, "app", m)
		assert.Equal(t, tc.failed, failed, tc.name)
	}
	_, failing, passing := fleetVerdict(map[string]report{"gw2": rep(verdictFail), "gw0": rep(verdictFail), "gw1": rep(verdictPass)}, "app", m)
	assert.Equal(t, []string{"gw0", "gw2"}, failing)
	assert.Equal(t, []string{"gw1"}, passing)
}

// TestOwnVerdict: a replica's verdict counts its checks alone, with the
// member's Passes and Fails, whatever the checker's Healthy says (which a
// member's error state delays).
func TestOwnVerdict(t *testing.T) {
	const m = "http://m:1"
	b, err := balancer.New(balancer.Config{Name: "app", Members: []balancer.Member{{URL: m,
		HealthCheck: healthcheck.Check{Method: healthcheck.MethodGet, Passes: 2, Fails: 3}}}})
	require.NoError(t, err)
	f := &Fleet{ShareHealth: true, Balancers: []*balancer.Balancer{b}}
	check := func(passed bool) {
		// Healthy as a down member's checker would say: never from the
		// fleet's point of view.
		f.healthChecked(balancer.HealthEvent{Balancer: b.Name(), Member: m, Result: healthcheck.Result{Passed: passed, Healthy: false}})
	}
	h := f.healthState()
	own := func() report {
		r, pruned := h.localReport(map[string]map[string]bool{"app": {m: true}})
		assert.False(t, pruned)
		return r
	}
	woke := func() bool {
		select {
		case <-h.changed:
			return true
		default:
			return false
		}
	}

	check(true)
	assert.True(t, woke(), "a member's first result is published")
	assert.Empty(t, cmp.Diff(report{"app": {m: verdictPass}}, own()))
	for range 2 {
		check(false)
	}
	assert.False(t, woke())
	assert.Equal(t, verdictPass, own()["app"][m], "2 failed checks of 3")
	check(true) // a pass restarts the count
	check(false)
	check(false)
	assert.Equal(t, verdictPass, own()["app"][m])
	check(false)
	assert.True(t, woke())
	assert.Equal(t, verdictFail, own()["app"][m], "3 consecutive failed checks")
	check(true)
	assert.Equal(t, verdictFail, own()["app"][m], "1 passed check of 2")
	check(true)
	assert.True(t, woke())
	assert.Equal(t, verdictPass, own()["app"][m], "2 consecutive passed checks")

	r, pruned := h.localReport(map[string]map[string]bool{})
	assert.True(t, pruned, "checks stopped here: the member leaves the report")
	assert.Empty(t, r)

	off := &Fleet{Balancers: []*balancer.Balancer{b}}
	off.healthChecked(balancer.HealthEvent{Balancer: b.Name(), Member: m, Result: healthcheck.Result{Passed: false}})
	assert.Empty(t, off.healthState().local, "without ShareHealth nothing is recorded")
}
