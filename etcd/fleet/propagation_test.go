package fleet

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/etcd/internal/etcdtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// TestPropagation makes 150 edits, each on one of 3 replicas in turn, and
// measures how long each takes to be in force on the two others.
func TestPropagation(t *testing.T) {
	srv := etcdtest.Start(t)
	cfg := testConfig("http://m0.test", "http://m1.test", "http://m2.test")
	var rs []*replica
	for _, n := range []string{"gw0", "gw1", "gw2"} {
		rs = append(rs, startReplica(t, srv, n, cfg))
	}
	const edits = 150
	var lat []time.Duration
	for k := range edits {
		origin := rs[k%3]
		lf := 2 + float64(k%98) + 0.25*float64(k/98) // never 1, the start
		start := time.Now()
		require.NoError(t, origin.b.Apply(balancer.Change{
			Source: "balancer-manager", Who: "tester 127.0.0.1",
			Members: []balancer.MemberChange{{URL: "http://m1.test", LoadFactor: ptr(lf)}},
		}))
		for _, r := range rs {
			if r == origin {
				continue
			}
			waitFor(t, r, func() bool { return r.b.State().Members[1].LoadFactor == lf })
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	t.Logf("propagation to both other replicas over %d edits on 3 replicas: p50 %v, p99 %v, max %v",
		edits, p50.Round(time.Microsecond), p99.Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond))

	// Wait for every replica to apply the last edit's revision.
	resp, err := rs[0].f.Client.Get(context.Background(), "/test/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	require.NoError(t, err)
	for _, r := range rs {
		require.NoError(t, r.f.Synced(context.Background(), resp.Header.Revision))
	}

	// Every replica has the same state, and each saw every edit in the
	// same order with its provenance.
	for _, r := range rs[1:] {
		assert.Empty(t, cmp.Diff(rs[0].b.State(), r.b.State()), r.name)
	}
	h := rs[2].f.History()
	require.Len(t, h, edits)
	assert.Equal(t, "gw0", h[0].Replica)
	assert.Equal(t, "gw1", h[1].Replica)
	assert.Equal(t, "balancer-manager", h[0].Source)
	assert.Equal(t, "tester 127.0.0.1", h[0].Who)
	assert.Equal(t, map[string]string{"member/http:%2F%2Fm1.test/loadFactor": "2"}, stringFields(h[0]))
	assert.True(t, slices.IsSortedFunc(h, func(a, b Record) int { return int(a.Revision - b.Revision) }))
	assert.Empty(t, cmp.Diff(h, rs[0].f.History()))
}

func stringFields(r Record) map[string]string {
	m := map[string]string{}
	for k, v := range r.Fields {
		m[k] = string(v)
	}
	return m
}

// waitFor waits until cond holds on r, re-checking after each change the
// fleet applies there.
func waitFor(t *testing.T, r *replica, cond func() bool) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for !cond() {
		select {
		case <-r.fleet:
		case <-timeout:
			t.Fatalf("%s: condition not met within 30s: %q %+v", r.name, r.logs.msgs, r.f.Status())
		}
	}
}
