package prometheus_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/healthcheck"
	"github.com/proxybalancer/balancer/internal/balancertest"
	balancerprom "github.com/proxybalancer/balancer/prometheus"
)

// refusing returns a loopback URL on which nothing listens.
var refusing = balancertest.ClosedURL

func backend(t *testing.T, name string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, name)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func get(t *testing.T, h http.Handler, cookie string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("GET", "/", nil)
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// scenario runs a known sequence of requests: a failover from a refusing
// member, a sticky hit, a scheduled request, and a 503 once every member
// is disabled.
func scenario(t *testing.T, c *balancerprom.Collector) (b *balancer.Balancer, dead, live string) {
	t.Helper()
	dead, live = refusing(t), backend(t, "live")
	cfg := balancer.Config{Name: "shop", StickySession: "JSESSIONID", Members: []balancer.Member{
		{URL: dead, Route: "a"},
		{URL: live, Route: "b", LoadFactor: 2},
	}}
	c.Instrument(&cfg)
	b, err := balancer.New(cfg)
	require.NoError(t, err)
	c.Add(b)

	require.Equal(t, "live", get(t, b, "").Body.String())               // dead refuses: failover
	require.Equal(t, "live", get(t, b, "JSESSIONID=x.b").Body.String()) // sticky
	require.Equal(t, "live", get(t, b, "").Body.String())               // dead is in error: scheduled
	require.NoError(t, b.SetStatus(live, balancer.StatusDisabled, 0))   // nothing usable left
	require.Equal(t, http.StatusServiceUnavailable, get(t, b, "").Code) // 503 from the balancer
	return b, dead, live
}

// The collector's families, with their types: each one the issue asks
// for, named by Prometheus' conventions (checked by promlint).
func TestMetricFamilies(t *testing.T) {
	c := balancerprom.New(balancerprom.Options{})
	scenario(t, c)
	reg := prom.NewRegistry()
	require.NoError(t, reg.Register(c))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]string{}
	for _, mf := range mfs {
		got[mf.GetName()] = mf.GetType().String()
	}
	want := map[string]string{
		"balancer_member_usable":                   "GAUGE",
		"balancer_member_status":                   "GAUGE",
		"balancer_member_busy":                     "GAUGE",
		"balancer_member_load_factor":              "GAUGE",
		"balancer_member_elected_total":            "COUNTER",
		"balancer_member_errors_total":             "COUNTER",
		"balancer_member_sent_bytes_total":         "COUNTER",
		"balancer_member_received_bytes_total":     "COUNTER",
		"balancer_member_request_duration_seconds": "HISTOGRAM",
		"balancer_requests_total":                  "COUNTER",
		"balancer_sticky_hits_total":               "COUNTER",
		"balancer_route_changes_total":             "COUNTER",
		"balancer_retries_total":                   "COUNTER",
		"balancer_unavailable_total":               "COUNTER",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metric families (-want +got):\n%s", diff)
	}
	problems, err := testutil.CollectAndLint(c)
	require.NoError(t, err)
	assert.Empty(t, problems)
}

// The values after the scenario, series by series.
func TestMetricValues(t *testing.T) {
	c := balancerprom.New(balancerprom.Options{})
	b, dead, live := scenario(t, c)

	flags := func(member string, set ...string) string {
		var sb strings.Builder
		for _, f := range []string{"disabled", "drain", "ejected", "error", "health_check_failed", "ignore_errors", "init", "spare", "standby", "stopped"} {
			v := 0
			for _, s := range set {
				if s == f {
					v = 1
				}
			}
			fmt.Fprintf(&sb, "balancer_member_status{balancer=\"balancer://shop\",flag=%q,member=%q} %d\n", f, member, v)
		}
		return sb.String()
	}
	expected := fmt.Sprintf(`
# HELP balancer_member_usable 1 if the member may receive requests (Init set; none of Shutdown, Disabled, Stopped, Error, HealthCheckFailed).
# TYPE balancer_member_usable gauge
balancer_member_usable{balancer="balancer://shop",member=%[1]q} 0
balancer_member_usable{balancer="balancer://shop",member=%[2]q} 0
# HELP balancer_member_busy Requests in flight to the member.
# TYPE balancer_member_busy gauge
balancer_member_busy{balancer="balancer://shop",member=%[1]q} 0
balancer_member_busy{balancer="balancer://shop",member=%[2]q} 0
# HELP balancer_member_load_factor The member's load factor (1-100).
# TYPE balancer_member_load_factor gauge
balancer_member_load_factor{balancer="balancer://shop",member=%[1]q} 1
balancer_member_load_factor{balancer="balancer://shop",member=%[2]q} 2
# HELP balancer_member_elected_total Times the member was chosen for an attempt.
# TYPE balancer_member_elected_total counter
balancer_member_elected_total{balancer="balancer://shop",member=%[1]q} 1
balancer_member_elected_total{balancer="balancer://shop",member=%[2]q} 3
# HELP balancer_member_errors_total Times the member was put into error state.
# TYPE balancer_member_errors_total counter
balancer_member_errors_total{balancer="balancer://shop",member=%[1]q} 1
balancer_member_errors_total{balancer="balancer://shop",member=%[2]q} 0
# HELP balancer_requests_total Requests through the balancer, by the status the client got.
# TYPE balancer_requests_total counter
balancer_requests_total{balancer="balancer://shop",code="200"} 3
balancer_requests_total{balancer="balancer://shop",code="503"} 1
# HELP balancer_sticky_hits_total Members chosen because they own the request's sticky route.
# TYPE balancer_sticky_hits_total counter
balancer_sticky_hits_total{balancer="balancer://shop"} 1
# HELP balancer_route_changes_total Requests with BALANCER_ROUTE_CHANGED set: no usable route, or a redirected one.
# TYPE balancer_route_changes_total counter
balancer_route_changes_total{balancer="balancer://shop"} 2
# HELP balancer_retries_total Failed attempts tried again on another member: failover (nothing was sent) or retry (sent, idempotent).
# TYPE balancer_retries_total counter
balancer_retries_total{balancer="balancer://shop",kind="failover"} 1
# HELP balancer_unavailable_total Requests answered 503 by the balancer itself: no usable member, or none left to fail over to.
# TYPE balancer_unavailable_total counter
balancer_unavailable_total{balancer="balancer://shop"} 1
# HELP balancer_member_status 1 for each status flag set on the member.
# TYPE balancer_member_status gauge
%[3]s%[4]s`, dead, live, flags(dead, "init", "error"), flags(live, "init", "disabled"))
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(expected),
		"balancer_member_usable", "balancer_member_busy", "balancer_member_load_factor",
		"balancer_member_elected_total", "balancer_member_errors_total",
		"balancer_requests_total", "balancer_sticky_hits_total", "balancer_route_changes_total",
		"balancer_retries_total", "balancer_unavailable_total", "balancer_member_status"))

	// Bytes: the balancer's own counts, nothing sent to the refusing member.
	ms := b.Members()
	require.Positive(t, ms[1].Transferred)
	require.Positive(t, ms[1].Read)
	expected = fmt.Sprintf(`
# HELP balancer_member_sent_bytes_total Bytes sent to the member: request lines, headers and bodies.
# TYPE balancer_member_sent_bytes_total counter
balancer_member_sent_bytes_total{balancer="balancer://shop",member=%[1]q} 0
balancer_member_sent_bytes_total{balancer="balancer://shop",member=%[2]q} %[3]d
# HELP balancer_member_received_bytes_total Bytes received from the member: status lines and bodies.
# TYPE balancer_member_received_bytes_total counter
balancer_member_received_bytes_total{balancer="balancer://shop",member=%[1]q} 0
balancer_member_received_bytes_total{balancer="balancer://shop",member=%[2]q} %[4]d
`, dead, live, ms[1].Transferred, ms[1].Read)
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(expected),
		"balancer_member_sent_bytes_total", "balancer_member_received_bytes_total"))

	// The latency histogram: one observation per request the member
	// answered, none for the balancer's 503.
	reg := prom.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var hist *dto.MetricFamily
	for _, mf := range mfs {
		if mf.GetName() == "balancer_member_request_duration_seconds" {
			hist = mf
		}
	}
	require.NotNil(t, hist)
	require.Len(t, hist.Metric, 1)
	h := hist.Metric[0].GetHistogram()
	assert.Equal(t, uint64(3), h.GetSampleCount())
	assert.Positive(t, h.GetSampleSum())
	assert.Len(t, h.Bucket, len(prom.DefBuckets))
	labels := map[string]string{}
	for _, l := range hist.Metric[0].Label {
		labels[l.GetName()] = l.GetValue()
	}
	assert.Equal(t, map[string]string{"balancer": "balancer://shop", "member": live}, labels)
}

// The health gauge exists while health checks run and says which member
// passes them.
func TestHealthGauge(t *testing.T) {
	live, dead := backend(t, "live"), refusing(t)
	hc := healthcheck.Check{Method: healthcheck.MethodGet, Interval: healthcheck.MinInterval}
	var mu sync.Mutex
	checkedLive, deadDown := false, false
	ready := make(chan struct{})
	c := balancerprom.New(balancerprom.Options{})
	cfg := balancer.Config{Name: "hc", Members: []balancer.Member{
		{URL: live, HealthCheck: hc}, {URL: dead, HealthCheck: hc},
	}, Observer: &balancer.Observer{
		HealthChecked: func(ev balancer.HealthEvent) {
			mu.Lock()
			defer mu.Unlock()
			if ev.Member == live && !checkedLive {
				checkedLive = true
				if deadDown {
					close(ready)
				}
			}
		},
		StateChanged: func(ev balancer.StateEvent) {
			mu.Lock()
			defer mu.Unlock()
			if ev.Member == dead && ev.To.Has(balancer.StatusHCFailed) && !deadDown {
				deadDown = true
				if checkedLive {
					close(ready)
				}
			}
		},
	}}
	c.Instrument(&cfg)
	b, err := balancer.New(cfg)
	require.NoError(t, err)
	c.Add(b)
	assert.Equal(t, 0, testutil.CollectAndCount(c, "balancer_member_healthy"), "no health checks running")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.RunHealthChecks(ctx) }()
	<-ready
	expected := fmt.Sprintf(`
# HELP balancer_member_healthy 1 if the member passes its health checks; present while health checks run.
# TYPE balancer_member_healthy gauge
balancer_member_healthy{balancer="balancer://hc",member=%q} 0
balancer_member_healthy{balancer="balancer://hc",member=%q} 1
`, dead, live)
	assert.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(expected), "balancer_member_healthy"))
	cancel()
	<-done
}

// Instrument keeps the configuration's own Observer; Remove stops the
// member series; several balancers share one collector.
func TestInstrumentAddRemove(t *testing.T) {
	c := balancerprom.New(balancerprom.Options{ConstLabels: prom.Labels{"site": "eu"}})
	var done int
	var mu sync.Mutex
	cfg1 := balancer.Config{Name: "one", Members: []balancer.Member{{URL: backend(t, "1")}},
		Observer: &balancer.Observer{Done: func(balancer.DoneEvent) { mu.Lock(); done++; mu.Unlock() }}}
	c.Instrument(&cfg1)
	b1, err := balancer.New(cfg1)
	require.NoError(t, err)
	cfg2 := balancer.Config{Name: "two", Members: []balancer.Member{{URL: backend(t, "2")}, {URL: backend(t, "3")}}}
	c.Instrument(&cfg2)
	b2, err := balancer.New(cfg2)
	require.NoError(t, err)
	c.Add(b1)
	c.Add(b2)
	c.Add(b1) // no effect
	get(t, b1, "")
	get(t, b2, "")
	mu.Lock()
	assert.Equal(t, 1, done, "the configuration's own observer still runs")
	mu.Unlock()
	assert.Equal(t, 3, testutil.CollectAndCount(c, "balancer_member_usable"))
	assert.Equal(t, 2, testutil.CollectAndCount(c, "balancer_requests_total"))
	c.Remove(b2)
	assert.Equal(t, 1, testutil.CollectAndCount(c, "balancer_member_usable"))
	assert.Equal(t, 2, testutil.CollectAndCount(c, "balancer_requests_total"), "event series stay")

	reg := prom.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			found := false
			for _, l := range m.Label {
				if l.GetName() == "site" && l.GetValue() == "eu" {
					found = true
				}
			}
			assert.True(t, found, "%s carries the constant label", mf.GetName())
		}
	}
}
