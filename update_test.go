package balancer_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/lbmethod"
)

func TestUpdateKeepsStateOfMembersThatStay(t *testing.T) {
	st := newStub("b")
	b := mustNew(t, balancer.Config{Members: members("a", "b", "c"), Transport: st})
	seq(t, b, 4, nil) // b goes into error state; a and c serve
	before := map[string]balancer.MemberStats{}
	for _, m := range b.Members() {
		before[m.URL] = m
	}
	// c leaves, d arrives, a and b stay; a's factor changes.
	ms := members("d", "b", "a")
	ms[2].LoadFactor = 3
	if err := b.Update(ms); err != nil {
		t.Fatal(err)
	}
	after := b.Members()
	if len(after) != 3 || after[0].URL != "http://d" || after[1].URL != "http://b" || after[2].URL != "http://a" {
		t.Fatalf("members after update: %+v", after)
	}
	if a := after[2]; a.Elected != before["http://a"].Elected || a.Load != before["http://a"].Load || a.LoadFactor != 3 {
		t.Errorf("a: elected %d load %d lf %v; want elected %d load %d lf 3", a.Elected, a.Load, a.LoadFactor, before["http://a"].Elected, before["http://a"].Load)
	}
	if bm := after[1]; !bm.Status.Has(balancer.StatusError) || !bm.ErrorSince.Equal(before["http://b"].ErrorSince) {
		t.Errorf("b lost its error state: %v since %v", bm.Status, bm.ErrorSince)
	}
	if d := after[0]; d.Elected != 0 || d.Status != balancer.StatusInit {
		t.Errorf("new member d: %+v", d)
	}
}

func TestUpdateAppliesOnlyChangedStatus(t *testing.T) {
	b := mustNew(t, balancer.Config{Members: members("a", "b status=D"), Transport: newStub("a")})
	seq(t, b, 1, nil) // a goes into error state (runtime flag)
	// The configuration now drains a and re-enables b.
	if err := b.Update(members("a status=N", "b")); err != nil {
		t.Fatal(err)
	}
	ms := b.Members()
	if want := balancer.StatusInit | balancer.StatusError | balancer.StatusDrain; ms[0].Status != want {
		t.Errorf("a: %v, want %v (error state kept, drain added)", ms[0].Status, want)
	}
	if ms[1].Status != balancer.StatusInit {
		t.Errorf("b: %v, want Init Ok", ms[1].Status)
	}
}

func TestUpdateRejectsBadListAndChangesNothing(t *testing.T) {
	b := mustNew(t, balancer.Config{Members: members("a lf=2", "b"), Transport: newStub()})
	err := b.Update([]balancer.Member{{URL: "http://a", LoadFactor: 5}, {URL: "http://b", LBSet: 300}})
	if err == nil || !strings.Contains(err.Error(), `member "http://b": lbset 300`) {
		t.Fatalf("Update error = %v", err)
	}
	ms := b.Members()
	if len(ms) != 2 || ms[0].LoadFactor != 2 {
		t.Errorf("a half-applied update: %+v", ms)
	}
}

// Changing the method resets the schedulers' state (Apache's reset);
// changing anything else keeps it.
func TestReconfigureMethodResets(t *testing.T) {
	b := mustNew(t, balancer.Config{Members: members("a route=ra", "b route=rb"), StickySession: "S", Transport: newStub()})
	for range 3 {
		serve(t, b, "/", "S=x.rb")
	}
	loads := func() []int64 {
		var out []int64
		for _, m := range b.Members() {
			out = append(out, m.Load)
		}
		return out
	}
	require.NoError(t, b.Update(members("a route=ra", "b route=rb", "c")))
	require.Equal(t, []int64{300, -300, 0}, loads(), "Update keeps lbstatus")
	require.NoError(t, b.Reconfigure(func(c *balancer.Config) error { c.NoFailover = true; return nil }))
	require.Equal(t, []int64{300, -300, 0}, loads(), "Reconfigure without a method change keeps lbstatus")
	// nil is byrequests: naming it is no change of method.
	require.NoError(t, b.Reconfigure(func(c *balancer.Config) error { c.Method = lbmethod.MethodByRequests; return nil }))
	require.Equal(t, []int64{300, -300, 0}, loads(), "Reconfigure to the same method keeps lbstatus")
	require.NoError(t, b.Reconfigure(func(c *balancer.Config) error { c.Method = lbmethod.MethodByBusyness; return nil }))
	assert.Equal(t, []int64{0, 0, 0}, loads(), "a method of another name resets")
	assert.True(t, b.Config().NoFailover, "Config() keeps NoFailover")
	err := b.Reconfigure(func(c *balancer.Config) error { c.Name = "other"; return nil })
	assert.ErrorContains(t, err, "cannot change")
}

func TestSetStatus(t *testing.T) {
	b := mustNew(t, balancer.Config{Members: members("a", "b"), Transport: newStub()})
	if err := b.SetStatus("HTTP://A:80", balancer.StatusDisabled, 0); err != nil {
		t.Fatal(err)
	}
	if got := seq(t, b, 3, nil); strings.Join(got, " ") != "b b b" {
		t.Errorf("after disabling a: %v", got)
	}
	if err := b.SetStatus("http://a", 0, balancer.StatusDisabled); err != nil {
		t.Fatal(err)
	}
	if got := seq(t, b, 2, nil); strings.Join(got, " ") == "b b" {
		t.Errorf("a not back: %v", got)
	}
	if err := b.SetStatus("http://zz", balancer.StatusDisabled, 0); err == nil || !strings.Contains(err.Error(), `"http://zz"`) {
		t.Errorf("unknown member error = %v", err)
	}
}
