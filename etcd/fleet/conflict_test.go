package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/etcd/internal/etcdtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// syncAll waits until every replica has published its edits and applied the fleet's latest
// revision.
func syncAll(t *testing.T, c *clientv3.Client, rs ...*replica) int64 {
	t.Helper()
	for _, r := range rs {
		require.NoError(t, r.f.Flush(context.Background()), r.name)
	}
	resp, err := c.Get(context.Background(), "/test/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	require.NoError(t, err)
	for _, r := range rs {
		require.NoError(t, r.f.Synced(context.Background(), resp.Header.Revision), r.name)
	}
	return resp.Header.Revision
}

// TestConcurrentEditsConverge has 3 replicas edit the same value at once
// (m0's load factor) and each its own value (its member's lbset): every
// replica ends with the same state, the shared value is the one with the
// highest etcd revision, and no replica's last edit of its own value is
// lost.
func TestConcurrentEditsConverge(t *testing.T) {
	srv := etcdtest.Start(t)
	c := srv.Client()
	cfg := testConfig("http://m0.test", "http://m1.test", "http://m2.test")
	var rs []*replica
	for i := range 3 {
		rs = append(rs, startReplica(t, srv, fmt.Sprint("gw", i), cfg))
	}
	const rounds = 40
	var wg sync.WaitGroup
	for i, r := range rs {
		wg.Go(func() {
			for k := range rounds {
				mine := fmt.Sprintf("http://m%d.test", i)
				ms := []balancer.MemberChange{{URL: "http://m0.test", Route: ptr(fmt.Sprintf("r-%d-%d", i, k))}}
				if i == 0 {
					ms[0].LBSet = ptr(k + 1)
				} else {
					ms = append(ms, balancer.MemberChange{URL: mine, LBSet: ptr(k + 1)})
				}
				assert.NoError(t, r.b.Apply(balancer.Change{Source: "balancer-manager", Who: r.name, Members: ms}))
			}
		})
	}
	wg.Wait()
	rev := syncAll(t, c, rs...)

	want := rs[0].b.State()
	for _, r := range rs[1:] {
		assert.Empty(t, cmp.Diff(want, r.b.State()), "%s differs from gw0", r.name)
	}
	resp, err := c.Get(context.Background(), "/test/app/member/http:%2F%2Fm0.test/route")
	require.NoError(t, err)
	require.Len(t, resp.Kvs, 1)
	var route string
	require.NoError(t, json.Unmarshal(resp.Kvs[0].Value, &route))
	assert.Equal(t, route, want.Members[0].Route, "the highest revision wins")
	for i := range 3 {
		assert.Equal(t, rounds, want.Members[i].LBSet, "gw%d's last lbset edit", i)
	}
	h := rs[0].f.History()
	for _, r := range rs[1:] {
		assert.Empty(t, cmp.Diff(h, r.f.History()), "%s's history", r.name)
	}
	t.Logf("%d concurrent edits on 3 replicas, fleet revision %d, %d published; final route of m0 %q", 3*rounds, rev, len(h), route)
}
