package membership

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/discovery"
	"github.com/proxybalancer/balancer/etcd/internal/etcdtest"
	"github.com/proxybalancer/balancer/internal/loadtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// harness runs a Watcher over a balancer and lets a test wait for the
// balancer's member list.
type harness struct {
	t       *testing.T
	b       *balancer.Balancer
	w       *Watcher
	applied chan Result
}

func startWatcher(t *testing.T, c *clientv3.Client, prefix string, seed string) *harness {
	t.Helper()
	b, err := balancer.New(balancer.Config{Name: "reg", Members: []balancer.Member{{URL: seed}}})
	require.NoError(t, err)
	h := &harness{t: t, b: b, applied: make(chan Result, 100)}
	h.w = &Watcher{Client: c, Prefix: prefix, Members: &discovery.MemberSet{Balancer: b}, OnApply: func(r Result) { h.applied <- r }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		assert.ErrorIs(t, <-done, context.Canceled)
	})
	return h
}

func (h *harness) urls() []string {
	var out []string
	for _, m := range h.b.Members() {
		out = append(out, m.URL)
	}
	return out
}

// waitFor waits until the balancer's members are want (in any order).
func (h *harness) waitFor(want ...string) {
	h.t.Helper()
	slices.Sort(want)
	timeout := time.After(30 * time.Second)
	for {
		got := h.urls()
		slices.Sort(got)
		if slices.Equal(got, want) {
			return
		}
		select {
		case <-h.applied:
		case <-timeout:
			h.t.Fatalf("members are %v, want %v", got, want)
		}
	}
}

func TestWatcherRegistrations(t *testing.T) {
	srv := etcdtest.Start(t)
	c := srv.Client()
	ctx := context.Background()
	h := startWatcher(t, c, "/svc/api/", "http://seed.test")

	run := func(key string, reg Registration) (stop func() error) {
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- Register(rctx, srv.Client(), key, reg, time.Second) }()
		return sync.OnceValue(func() error { cancel(); return <-done })
	}
	stopA := run("/svc/api/a", Registration{URL: "http://a.test:8080"})
	defer stopA()
	stopB := run("/svc/api/b", Registration{URL: "http://b.test:8080", LoadFactor: 7, LBSet: 1})
	h.waitFor("http://a.test:8080", "http://b.test:8080")
	ms := h.b.Members()
	assert.Equal(t, 7.0, ms[1].LoadFactor)
	assert.Equal(t, 1, ms[1].LBSet)

	// A plain URL value, under a lease nobody keeps alive: a crashed
	// service. It goes when the lease expires.
	lease, err := c.Grant(ctx, 1)
	require.NoError(t, err)
	_, err = c.Put(ctx, "/svc/api/c", "http://c.test:8080", clientv3.WithLease(lease.ID))
	require.NoError(t, err)
	h.waitFor("http://a.test:8080", "http://b.test:8080", "http://c.test:8080")
	start := time.Now()
	h.waitFor("http://a.test:8080", "http://b.test:8080")
	t.Logf("crashed service's member removed %v after its registration (lease TTL 1s)", time.Since(start).Round(10*time.Millisecond))

	// A service that stops revokes its lease: its member goes at once.
	assert.ErrorIs(t, stopB(), context.Canceled)
	h.waitFor("http://a.test:8080")

	// Unreadable registrations are ignored; an empty list is not applied.
	_, err = c.Put(ctx, "/svc/api/bad", "ftp://x")
	require.NoError(t, err)
	_, err = c.Delete(ctx, "/svc/api/bad")
	require.NoError(t, err)
	assert.ErrorIs(t, stopA(), context.Canceled)
	r := <-h.applied
	for r.Err == nil {
		r = <-h.applied
	}
	assert.ErrorContains(t, r.Err, "empty member list")
	assert.Equal(t, []string{"http://a.test:8080"}, h.urls())
	assert.Error(t, h.w.Status().Err)
}

func TestRegisterRefuses(t *testing.T) {
	assert.ErrorContains(t, Register(context.Background(), nil, "k", Registration{URL: "http://x"}, time.Millisecond), "ttl 1ms")
	assert.ErrorContains(t, Register(context.Background(), nil, "k", Registration{}, time.Second), "URL is empty")
	_, err := parseRegistration([]byte(`{"url":"ftp://x"}`))
	assert.ErrorContains(t, err, `url "ftp://x"`)
}

// TestWatcherUnderLoadAndEtcdRestart changes the registered members while
// 50 clients send requests, kills etcd and restarts it, and changes them
// again: no request fails.
func TestWatcherUnderLoadAndEtcdRestart(t *testing.T) {
	const clients = 50
	srv := etcdtest.Start(t)
	c := srv.Client()
	ctx := context.Background()
	var members []*loadtest.Member
	for range 5 {
		members = append(members, loadtest.StartMember(t))
	}
	h := startWatcher(t, c, "/svc/load/", members[0].Srv.URL)
	front := httptest.NewServer(h.b)
	defer front.Close()
	load := loadtest.Start(t, front.URL, clients)

	set := func(idx ...int) {
		t.Helper()
		var want []string
		var ops []clientv3.Op
		for i := range members {
			if !slices.Contains(idx, i) {
				ops = append(ops, clientv3.OpDelete(fmt.Sprintf("/svc/load/m%d", i)))
			}
		}
		for _, i := range idx {
			ops = append(ops, clientv3.OpPut(fmt.Sprintf("/svc/load/m%d", i), members[i].Srv.URL))
			want = append(want, members[i].Srv.URL)
		}
		_, err := c.Txn(ctx).Then(ops...).Commit()
		require.NoError(t, err)
		h.waitFor(want...)
		load.Await(1000)
		for _, i := range idx {
			assert.Positive(t, members[i].Hits.Load(), "member %d", i)
		}
	}
	load.Await(500)
	set(0, 1)
	set(1, 2, 3)
	members[0].Srv.Close() // scaled in
	srv.Kill()
	load.Await(2000) // the last list serves while etcd is down
	srv.Restart()
	set(2, 3, 4)
	members[1].Srv.Close()
	set(4)
	load.Stop()
	t.Logf("%d clients: %d requests succeeded, %d failed, over 4 member list changes and an etcd kill and restart", clients, load.OK.Load(), load.Failed.Load())
	assert.Zero(t, load.Failed.Load())
}
