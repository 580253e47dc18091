package fleet

import (
	"context"
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/etcd/internal/etcdtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCatchUpAfterCompaction loads a replica, lets the fleet move on and
// etcd compact the history that replica missed, then runs it: it reads
// the whole state again and ends like the others.
func TestCatchUpAfterCompaction(t *testing.T) {
	srv := etcdtest.Start(t)
	c := srv.Client()
	cfg := testConfig("http://m0.test", "http://m1.test")
	gw0 := startReplica(t, srv, "gw0", cfg)

	b, err := balancer.New(cfg)
	require.NoError(t, err)
	logs := &logRecords{}
	late := &Fleet{Client: srv.Client(), Replica: "late", Balancers: []*balancer.Balancer{b}, Prefix: "/test/", Logger: slog.New(logs)}
	require.NoError(t, late.Load(context.Background()))

	for i := range 5 {
		require.NoError(t, gw0.b.Apply(balancer.Change{Source: "balancer-manager",
			Members: []balancer.MemberChange{{URL: "http://m1.test", LBSet: ptr(i + 1)}}}))
	}
	require.NoError(t, gw0.b.Apply(balancer.Change{Source: "balancer-manager", Method: ptr("bytraffic")}))
	rev := syncAll(t, c, gw0)
	_, err = c.Compact(context.Background(), rev)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- late.Run(ctx) }()
	defer func() {
		cancel()
		assert.ErrorIs(t, <-done, context.Canceled)
	}()
	require.NoError(t, late.Synced(context.Background(), rev))
	assert.Empty(t, cmp.Diff(gw0.b.State(), b.State()))
	assert.Equal(t, 5, b.State().Members[1].LBSet)
	assert.Equal(t, 1, logs.count("INFO fleet: the history this replica missed is compacted"), "%q", logs.msgs)
}
