package fleet

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/etcd/internal/etcdtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStartTakesUpFleetState edits a fleet, then starts a replica with
// the configuration: after Load, before it serves, it has the fleet's
// state, and the configuration's value for what was never edited
// (BalancerPersist: the persisted state wins where it exists).
func TestStartTakesUpFleetState(t *testing.T) {
	srv := etcdtest.Start(t)
	c := srv.Client()
	cfg := testConfig("http://m0.test", "http://m1.test", "http://m2.test")
	gw0 := startReplica(t, srv, "gw0", cfg)
	gw1 := startReplica(t, srv, "gw1", cfg)
	edits := []balancer.Change{
		{Method: ptr("bybusyness"), MaxAttempts: ptr(1)},
		{Members: []balancer.MemberChange{{URL: "http://m2.test", Set: "D", LoadFactor: ptr(7.0)}}},
		{Add: []balancer.MemberChange{{URL: "http://m3.test", Set: "D", Route: ptr("r3")}}},
		{Members: []balancer.MemberChange{{URL: "http://m3.test", Clear: "D"}}},
		{Remove: []string{"http://m1.test"}},
	}
	for _, e := range edits {
		e.Source, e.Who = "balancer-manager", "operator"
		require.NoError(t, gw0.b.Apply(e))
	}
	syncAll(t, c, gw0, gw1)
	assert.Empty(t, cmp.Diff(gw0.b.State(), gw1.b.State()))

	// A new replica whose configuration also sets a timeout nobody edited.
	cfg2 := cfg
	cfg2.Timeout = 5 * time.Second
	b, err := balancer.New(cfg2)
	require.NoError(t, err)
	f := &Fleet{Client: srv.Client(), Replica: "gw2", Balancers: []*balancer.Balancer{b}, Prefix: "/test/"}
	require.NoError(t, f.Load(context.Background()))
	want := gw0.b.State()
	want.Timeout = 5 * time.Second
	assert.Empty(t, cmp.Diff(want, b.State()))
	st := b.State()
	require.Len(t, st.Members, 3)
	assert.Equal(t, "bybusyness", st.Method)
	assert.Equal(t, "D", st.Members[1].Flags)
	assert.Equal(t, "http://m3.test", st.Members[2].URL)
	assert.Equal(t, "", st.Members[2].Flags)

	// gw0 restarts: stopped, and a new balancer from the configuration.
	gw0.stop()
	gw0b := startReplica(t, srv, "gw0", cfg)
	assert.Empty(t, cmp.Diff(gw1.b.State(), gw0b.b.State()))

	// Edits made after a restart reach the others as before.
	require.NoError(t, gw0b.b.Apply(balancer.Change{Source: "balancer-manager", Members: []balancer.MemberChange{{URL: "http://m0.test", Route: ptr("back")}}}))
	waitFor(t, gw1, func() bool { return gw1.b.State().Members[0].Route == "back" })
}
