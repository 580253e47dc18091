package fleet

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/etcd/internal/etcdtest"
	"github.com/proxybalancer/balancer/internal/loadtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEtcdKillUnderLoad kills etcd while 50 clients send requests through
// 3 replicas, makes an edit on one replica during the outage, and
// restarts etcd: no request fails, every replica logs the outage once and
// shows it in Status, and the edit reaches the others when etcd is back.
func TestEtcdKillUnderLoad(t *testing.T) {
	srv := etcdtest.Start(t)
	var urls []string
	for range 3 {
		urls = append(urls, loadtest.StartMember(t).Srv.URL)
	}
	cfg := testConfig(urls...)
	var rs []*replica
	var loads []*loadtest.Load
	for i, n := range []string{"gw0", "gw1", "gw2"} {
		r := startReplica(t, srv, n, cfg)
		rs = append(rs, r)
		front := httptest.NewServer(r.b)
		t.Cleanup(front.Close)
		loads = append(loads, loadtest.Start(t, front.URL, []int{17, 17, 16}[i]))
	}
	progress := func(n int64) {
		for _, l := range loads {
			l.Await(n)
		}
	}
	progress(300)

	srv.Kill()
	deadline := time.Now().Add(30 * time.Second)
	for _, r := range rs {
		for r.f.Status().Connected {
			require.True(t, time.Now().Before(deadline), "%s never noticed the outage", r.name)
			progress(50)
		}
	}
	// An edit during the outage is in force where it was made, and kept.
	require.NoError(t, rs[0].b.Apply(balancer.Change{Source: "balancer-manager", Who: "operator",
		Members: []balancer.MemberChange{{URL: urls[2], LoadFactor: ptr(9.0)}}}))
	assert.Equal(t, 9.0, rs[0].b.State().Members[2].LoadFactor)
	progress(300) // serving with etcd down
	st := rs[0].f.Status()
	assert.False(t, st.Connected)
	assert.Error(t, st.Err)
	assert.Equal(t, 1, st.Pending)

	srv.Restart()
	back := time.Now()
	for _, r := range rs[1:] {
		waitFor(t, r, func() bool { return r.b.State().Members[2].LoadFactor == 9 })
	}
	t.Logf("the edit made during the outage was in force on the other replicas %v after etcd was back", time.Since(back).Round(time.Millisecond))
	progress(300)
	var ok, failed int64
	for _, l := range loads {
		l.Stop()
		ok += l.OK.Load()
		failed += l.Failed.Load()
	}
	t.Logf("50 clients over 3 replicas across an etcd kill and restart: %d requests succeeded, %d failed", ok, failed)
	assert.Zero(t, failed)
	for _, r := range rs {
		require.NoError(t, r.f.Flush(t.Context()))
		assert.True(t, r.f.Status().Connected, r.name)
		assert.Equal(t, 1, r.logs.count("WARN fleet: etcd unreachable"), "%s: %q", r.name, r.logs.msgs)
		assert.Equal(t, 1, r.logs.count("INFO fleet: etcd answers again"), "%s: %q", r.name, r.logs.msgs)
	}
}
