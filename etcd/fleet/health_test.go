package fleet

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/etcd/internal/etcdtest"
	"github.com/proxybalancer/balancer/healthcheck"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// healthFleet is the setting of the shared-health tests: two members,
// "good" and "bad", whose /health fails while failing is set; checked is
// the configuration of a replica that checks both.
type healthFleet struct {
	srv       *etcdtest.Server
	failing   atomic.Bool
	cfg       balancer.Config // no checks
	checked   balancer.Config // both members checked every MinInterval
	badURL    string
	verdictAt atomic.Int64 // when a checker last reported bad's check result changing, UnixNano
}

func newHealthFleet(t *testing.T) *healthFleet {
	hf := &healthFleet{srv: etcdtest.Start(t)}
	member := func(name string, checked bool) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if checked && r.URL.Path == "/health" && hf.failing.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			_, _ = w.Write([]byte(name))
		}))
		t.Cleanup(s.Close)
		return s
	}
	good, bad := member("good", false), member("bad", true)
	hf.badURL = bad.URL
	hf.cfg = testConfig(good.URL, bad.URL)
	hf.checked = hf.cfg
	hf.checked.Members = slices.Clone(hf.cfg.Members)
	for i := range hf.checked.Members {
		hf.checked.Members[i].HealthCheck = healthcheck.Check{Method: healthcheck.MethodGet, URI: "/health",
			Interval: healthcheck.MinInterval, Passes: 1, Fails: 1}
	}
	// Stamp the moment a check of bad first disagrees with the last one:
	// the checker's verdict, before the fleet hears of it.
	var last atomic.Int32 // 0 unknown, 1 passed, 2 failed
	hf.checked.Observer = &balancer.Observer{HealthChecked: func(ev balancer.HealthEvent) {
		if ev.Member != hf.badURL {
			return
		}
		v := int32(1)
		if !ev.Result.Passed {
			v = 2
		}
		if last.Swap(v) != v {
			hf.verdictAt.Store(time.Now().UnixNano())
		}
	}}
	return hf
}

// runChecks runs r's health checks until the returned stop is called or
// the test ends.
func runChecks(t *testing.T, r *replica) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.b.RunHealthChecks(ctx)
	}()
	stop = sync.OnceFunc(func() { cancel(); <-done })
	t.Cleanup(stop)
	return stop
}

func hcFailed(r *replica, member string) bool {
	for _, m := range r.b.Members() {
		if m.URL == member {
			return m.Status.Has(balancer.StatusHCFailed)
		}
	}
	return false
}

// answers sends 20 requests through r and counts the members' answers.
func answers(r *replica) map[string]int {
	got := map[string]int{}
	for range 20 {
		rec := httptest.NewRecorder()
		r.b.ServeHTTP(rec, httptest.NewRequest("GET", "http://front.test/", nil))
		got[rec.Body.String()]++
	}
	return got
}

// waitHC waits until bad's C flag is want on each of rs, woken by the
// changes their fleets apply.
func (hf *healthFleet) waitHC(t *testing.T, want bool, rs ...*replica) {
	t.Helper()
	for _, r := range rs {
		waitFor(t, r, func() bool { return hcFailed(r, hf.badURL) == want })
	}
}

// waitOwnHC waits until r's own checker has set (or cleared) bad's C.
func (hf *healthFleet) waitOwnHC(t *testing.T, r *replica, want bool) {
	t.Helper()
	require.Eventually(t, func() bool { return hcFailed(r, hf.badURL) == want }, 30*time.Second, 5*time.Millisecond,
		"%s: C on %s never became %v", r.name, hf.badURL, want)
}

func shareHealth(ttl time.Duration) func(*Fleet) {
	return func(f *Fleet) { f.ShareHealth, f.HealthTTL = true, ttl }
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(p*float64(len(s)-1)+0.5)]
}

// TestShareHealth runs 3 replicas sharing health, of which only gw0 runs
// checks: a member failing gw0's checks is marked C on gw1 and gw2, which
// then send it nothing, and its recovery clears C on both, over several
// flips (timed); then gw0 dies (no revoke) while reporting the member
// failed, and when its lease expires its report goes and the others
// clear C.
func TestShareHealth(t *testing.T) {
	hf := newHealthFleet(t)
	const ttl = 2 * time.Second
	gw0 := startReplica(t, hf.srv, "gw0", hf.checked, shareHealth(ttl))
	gw1 := startReplica(t, hf.srv, "gw1", hf.cfg, shareHealth(ttl))
	gw2 := startReplica(t, hf.srv, "gw2", hf.cfg, shareHealth(ttl))
	stopChecks := runChecks(t, gw0)
	for _, r := range []*replica{gw1, gw2} {
		require.Eventually(t, func() bool { return len(r.f.Status().Health.Replicas) == 2 }, 30*time.Second, 5*time.Millisecond,
			"%s holds the reports of the two others", r.name)
	}
	assert.Equal(t, map[string]int{"good": 10, "bad": 10}, answers(gw1), "both members serve before")

	const flips = 10
	var mark, clear, markProp, clearProp []time.Duration
	for i := range flips {
		hf.failing.Store(true)
		start := time.Now()
		hf.waitHC(t, true, gw1, gw2)
		mark = append(mark, time.Since(start))
		markProp = append(markProp, time.Since(time.Unix(0, hf.verdictAt.Load())))
		hf.waitOwnHC(t, gw0, true)
		if i == 0 {
			assert.Equal(t, map[string]int{"good": 20}, answers(gw1), "gw1 avoids the member gw0 finds failing")
			assert.Equal(t, map[string]int{"good": 20}, answers(gw2), "gw2 avoids the member gw0 finds failing")
			assert.Contains(t, gw1.b.Members()[1].Status.String(), "HcFl")
			assert.Equal(t, HealthStatus{Shared: true, Current: true, Replicas: []string{"gw0", "gw2"},
				Marked: map[string][]string{"balancer://app": {hf.badURL}}}, gw1.f.Status().Health)
			assert.Contains(t, gw1.f.Notes()[0].Detail, "; health shared: reports of 2 other replicas (gw0, gw2), balancer://app: C set from them on "+hf.badURL)
		}

		hf.failing.Store(false)
		start = time.Now()
		hf.waitHC(t, false, gw1, gw2)
		clear = append(clear, time.Since(start))
		clearProp = append(clearProp, time.Since(time.Unix(0, hf.verdictAt.Load())))
		hf.waitOwnHC(t, gw0, false)
		if i == 0 {
			assert.Equal(t, map[string]int{"good": 10, "bad": 10}, answers(gw1), "recovered on gw1")
			assert.Equal(t, map[string]int{"good": 10, "bad": 10}, answers(gw2), "recovered on gw2")
			assert.Empty(t, gw2.f.Status().Health.Marked)
		}
	}
	t.Logf("%d flips, check interval %v: member failing -> C on gw1 and gw2: p50 %v, p99 %v (from gw0's verdict: p50 %v, p99 %v); "+
		"recovered -> C cleared on both: p50 %v, p99 %v (from gw0's verdict: p50 %v, p99 %v)", flips, healthcheck.MinInterval,
		percentile(mark, .5), percentile(mark, .99), percentile(markProp, .5), percentile(markProp, .99),
		percentile(clear, .5), percentile(clear, .99), percentile(clearProp, .5), percentile(clearProp, .99))
	assert.Zero(t, gw1.logs.count("ERROR"), "%q", gw1.logs.msgs)

	// gw0 dies reporting the member failed: its client goes without
	// revoking its lease, as a killed process's would.
	hf.failing.Store(true)
	hf.waitHC(t, true, gw1, gw2)
	stopChecks()
	died := time.Now()
	require.NoError(t, gw0.f.Client.Close())
	gw0.stop()
	t.Logf("gw0 stopped %v after its etcd client went", time.Since(died).Round(time.Millisecond))
	key := "/test.health/gw0"
	c := hf.srv.Client()
	resp, err := c.Get(context.Background(), key)
	require.NoError(t, err)
	require.Len(t, resp.Kvs, 1, "gw0's report outlives it until its lease expires")
	require.NotZero(t, resp.Kvs[0].Lease)
	assert.True(t, hcFailed(gw1, hf.badURL), "gw0's report still counts until its lease expires")
	hf.waitHC(t, false, gw1, gw2)
	t.Logf("gw0's report went, and C with it on gw1 and gw2, %v after gw0 died (HealthTTL %v)", time.Since(died).Round(time.Millisecond), ttl)
	resp, err = c.Get(context.Background(), key)
	require.NoError(t, err)
	assert.Empty(t, resp.Kvs, "the lease expired")

	// A replica that stops revokes its lease: its report goes at once.
	gw1.stop()
	resp, err = c.Get(context.Background(), "/test.health/gw1")
	require.NoError(t, err)
	assert.Empty(t, resp.Kvs, "gw1 revoked its lease when it stopped")
}

// TestShareHealthOff: without ShareHealth nothing is shared; gw1 keeps
// sending requests to the member that gw0's checks find failing.
func TestShareHealthOff(t *testing.T) {
	hf := newHealthFleet(t)
	gw0 := startReplica(t, hf.srv, "gw0", hf.checked)
	gw1 := startReplica(t, hf.srv, "gw1", hf.cfg)
	runChecks(t, gw0)
	hf.failing.Store(true)
	hf.waitOwnHC(t, gw0, true)

	// An edit made on gw0 after it marked the member reaches gw1: gw1 has
	// then seen everything gw0 published before it.
	good := gw0.b.Members()[0].URL
	require.NoError(t, gw0.b.Apply(balancer.Change{Members: []balancer.MemberChange{{URL: good, LoadFactor: ptr(2.0)}}}))
	waitFor(t, gw1, func() bool { return gw1.b.Members()[0].LoadFactor == 2 })
	assert.False(t, hcFailed(gw1, hf.badURL), "gw1 did not take gw0's health result")
	assert.Positive(t, answers(gw1)["bad"], "gw1 keeps routing to the member gw0 finds failing")
	resp, err := hf.srv.Client().Get(context.Background(), "/test.health/", clientv3.WithPrefix())
	require.NoError(t, err)
	assert.Empty(t, resp.Kvs, "no health report in etcd")
	assert.Equal(t, HealthStatus{}, gw1.f.Status().Health)
	assert.Contains(t, gw1.f.Notes()[0].Detail, "; health checks and error state per replica (not shared)")
}

// TestShareHealthEtcdOutage: a replica that etcd no longer answers keeps
// the others' reports for HealthTTL, then goes back to its own checks
// (none here: it clears C), and takes the reports up again when etcd is
// back.
func TestShareHealthEtcdOutage(t *testing.T) {
	hf := newHealthFleet(t)
	const ttl = 2 * time.Second
	gw0 := startReplica(t, hf.srv, "gw0", hf.checked, shareHealth(ttl))
	gw1 := startReplica(t, hf.srv, "gw1", hf.cfg, shareHealth(ttl))
	runChecks(t, gw0)
	hf.failing.Store(true)
	hf.waitHC(t, true, gw1)

	hf.srv.Kill()
	killed := time.Now()
	hf.waitHC(t, false, gw1)
	t.Logf("etcd killed: gw1 went back to its own checks %v later (HealthTTL %v)", time.Since(killed).Round(time.Millisecond), ttl)
	assert.Equal(t, 1, gw1.logs.count("WARN fleet: shared health: etcd has not confirmed"), "%q", gw1.logs.msgs)
	assert.True(t, hcFailed(gw0, hf.badURL), "gw0 follows its own checks")
	assert.Positive(t, answers(gw1)["bad"], "gw1 serves with its own view")
	assert.Equal(t, HealthStatus{Shared: true}, gw1.f.Status().Health)
	assert.Contains(t, gw1.f.Notes()[0].Detail, "its own checks only")

	hf.srv.Restart()
	back := time.Now()
	hf.waitHC(t, true, gw1)
	t.Logf("etcd restarted: gw1 took gw0's report up again %v later", time.Since(back).Round(time.Millisecond))
	hf.failing.Store(false)
	hf.waitHC(t, false, gw1)
	assert.Equal(t, 1, gw1.logs.count("WARN fleet: shared health: etcd has not confirmed"), "%q", gw1.logs.msgs)
	assert.Equal(t, 1, gw1.logs.count("INFO fleet: shared health: etcd answers again"), "%q", gw1.logs.msgs)
	assert.Zero(t, gw1.logs.count("ERROR"), "%q", gw1.logs.msgs)
}

// TestShareHealthOwnChecksWin: a replica that checks a member itself
// follows its own checks only. gw0's checks of the member fail, gw1's
// (another URI) pass: gw0 marks it C, gw1 never does, although it holds
// gw0's report, and gw2, which does not check, marks it C on the tie.
func TestShareHealthOwnChecksWin(t *testing.T) {
	hf := newHealthFleet(t)
	const ttl = 2 * time.Second
	var gw1Flips atomic.Int32
	other := hf.checked
	other.Members = slices.Clone(hf.checked.Members)
	for i := range other.Members {
		other.Members[i].HealthCheck.URI = "/alive" // answers 200 throughout
	}
	other.Observer = &balancer.Observer{StateChanged: func(ev balancer.StateEvent) {
		if ev.Member == hf.badURL && ev.From.Has(balancer.StatusHCFailed) != ev.To.Has(balancer.StatusHCFailed) {
			gw1Flips.Add(1)
		}
	}}
	gw0 := startReplica(t, hf.srv, "gw0", hf.checked, shareHealth(ttl))
	gw1 := startReplica(t, hf.srv, "gw1", other, shareHealth(ttl))
	gw2 := startReplica(t, hf.srv, "gw2", hf.cfg, shareHealth(ttl))
	runChecks(t, gw0)
	runChecks(t, gw1)
	hf.failing.Store(true)
	hf.waitOwnHC(t, gw0, true)
	hf.waitHC(t, true, gw2)
	assert.Equal(t, map[string][]string{"balancer://app": {hf.badURL}}, gw2.f.Status().Health.Marked, "gw0 fails it, gw1 passes it: a tie fails")

	// A report put after gw0's: once gw1 holds it, it has seen gw0's.
	c := hf.srv.Client()
	lease, err := c.Grant(context.Background(), 60)
	require.NoError(t, err)
	_, err = c.Put(context.Background(), "/test.health/zz-barrier", "{}", clientv3.WithLease(lease.ID))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return slices.Contains(gw1.f.Status().Health.Replicas, "zz-barrier") }, 30*time.Second, 5*time.Millisecond)
	assert.False(t, hcFailed(gw1, hf.badURL), "gw1 follows its own checks")
	assert.Zero(t, gw1Flips.Load(), "gw1 never switched to the others' view")
	assert.Empty(t, gw1.f.Status().Health.Marked)
	assert.Positive(t, answers(gw1)["bad"])
}

// TestShareHealthHostileReports: reports that a buggy or hostile client
// writes under the health prefix, malformed, of the wrong shape, nested
// past the JSON decoder's depth limit or of a megabyte, neither stop nor
// wedge a replica's loop: the malformed ones are not counted, a
// malformed value replacing a report drops it, and well-formed reports
// written after them still take effect. A report without a lease, which
// would outlive its writer, is not counted either.
func TestShareHealthHostileReports(t *testing.T) {
	hf := newHealthFleet(t)
	gw1 := startReplica(t, hf.srv, "gw1", hf.cfg, shareHealth(2*time.Second))
	c := hf.srv.Client()
	lease, err := c.Grant(context.Background(), 60)
	require.NoError(t, err)
	put := func(name, val string) {
		t.Helper()
		_, err := c.Put(context.Background(), "/test.health/"+name, val, clientv3.WithLease(lease.ID))
		require.NoError(t, err)
	}
	replicas := func(want ...string) {
		t.Helper()
		require.Eventually(t, func() bool { return slices.Equal(gw1.f.Status().Health.Replicas, want) },
			30*time.Second, 5*time.Millisecond, "gw1 holds the reports %q", want)
	}
	var huge strings.Builder
	huge.WriteString(`{"app":{`)
	for i := range 40000 {
		fmt.Fprintf(&huge, `"http://10.%d.%d.%d:80":"fail",`, i>>16, i>>8&255, i&255)
	}
	huge.WriteString(`"http://192.0.2.1:80":"pass"}}`)
	require.Greater(t, huge.Len(), 1<<20)

	_, err = c.Put(context.Background(), "/test.health/forever", `{"app":{"`+hf.badURL+`":"fail"}}`) // no lease
	require.NoError(t, err)
	put("junk", "not json {")
	put("null", "null")
	put("types", `{"app":{"`+hf.badURL+`":1}}`)
	put("deep", strings.Repeat("[", 100000))
	put("huge", huge.String())
	put("a/b", `{"app":{"`+hf.badURL+`":"fail"}}`)
	hf.waitHC(t, true, gw1)
	replicas("a/b", "huge", "null")

	put("a/b", "{") // the report replaced by a malformed one: dropped
	hf.waitHC(t, false, gw1)
	replicas("huge", "null")
	put("a/b", `{"app":{"`+hf.badURL+`":"fail"}}`)
	hf.waitHC(t, true, gw1)
	_, err = c.Delete(context.Background(), "/test.health/", clientv3.WithPrefix())
	require.NoError(t, err)
	hf.waitHC(t, false, gw1)
	replicas()
	assert.Zero(t, gw1.logs.count("ERROR"), "%q", gw1.logs.msgs)
}
