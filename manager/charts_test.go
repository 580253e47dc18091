package manager_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/manager"
)

type chartsDoc struct {
	IntervalMs, HistoryMs, Now int64
	Balancers                  []struct {
		Name    string
		Members []struct {
			URL    string
			Points []struct {
				T                           int64
				Requests, Errors, LatencyMs float64
			}
		}
	}
}

func readCharts(t *testing.T, mg *manager.Manager) chartsDoc {
	t.Helper()
	w := get(t, mg, "/balancer-manager?charts")
	require.Equal(t, 200, w.Code, w.Body.String())
	require.Equal(t, "application/json; charset=utf-8", w.Header().Get("Content-Type"))
	var d chartsDoc
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &d))
	require.Len(t, d.Balancers, 1)
	return d
}

// points returns each member's points by URL.
func pointsOf(d chartsDoc) map[string][]float64 {
	out := map[string][]float64{}
	for _, m := range d.Balancers[0].Members {
		out[m.URL] = []float64{}
		for _, p := range m.Points {
			out[m.URL] = append(out[m.URL], p.Requests)
		}
	}
	return out
}

// The charts' data: one point per interval with the requests and errors
// per second between two samples, sampled lazily when read.
func TestManagerChartsData(t *testing.T) {
	clk := newClock()
	st := newStub("c") // c refuses connections: errors
	b := mustNew(t, balancer.Config{Name: "shop", Members: members("a", "b lf=3", "c"), Transport: st, Now: clk.Now})
	mg, err := manager.New(manager.Config{Hosts: testHosts, Balancers: []*balancer.Balancer{b},
		Now: clk.Now, SampleInterval: 2 * time.Second, History: 10 * time.Second})
	require.NoError(t, err)

	d := readCharts(t, mg) // the first sample
	assert.Equal(t, int64(2000), d.IntervalMs)
	assert.Equal(t, int64(10000), d.HistoryMs)
	assert.Equal(t, clk.Now().UnixMilli(), d.Now)
	assert.Equal(t, map[string][]float64{"http://a": {}, "http://b": {}, "http://c": {}}, pointsOf(d), "one sample: no rate yet")

	seq(t, b, 10, nil)
	before := map[string]int64{}
	for _, ms := range b.Members() {
		before[ms.URL] = ms.Elected
	}
	clk.Advance(2 * time.Second)
	d = readCharts(t, mg)
	require.Len(t, d.Balancers[0].Members[0].Points, 1)
	for _, m := range d.Balancers[0].Members {
		p := m.Points[0]
		assert.Equal(t, clk.Now().UnixMilli(), p.T)
		assert.InDelta(t, float64(before[m.URL])/2, p.Requests, 0.001, "%s: elected %d in 2 s", m.URL, before[m.URL])
		if m.URL == "http://c" {
			assert.InDelta(t, 0.5, p.Errors, 0.001, "c failed once in 2 s, then stayed in error state")
		} else {
			assert.Zero(t, p.Errors, m.URL)
		}
		assert.GreaterOrEqual(t, p.LatencyMs, 0.0)
	}
	assert.Greater(t, d.Balancers[0].Members[1].Points[0].Requests, d.Balancers[0].Members[0].Points[0].Requests, "b has load factor 3")

	// Read again within the interval: no new sample.
	clk.Advance(time.Second)
	assert.Len(t, readCharts(t, mg).Balancers[0].Members[0].Points, 1)

	// Quiet intervals are zero; the history keeps 10 s (5 points).
	for range 8 {
		clk.Advance(2 * time.Second)
		d = readCharts(t, mg)
	}
	pts := pointsOf(d)["http://a"]
	assert.Equal(t, []float64{0, 0, 0, 0, 0}, pts)

	// A member removed leaves the charts; one added starts with no points.
	require.NoError(t, b.Update(members("a", "d")))
	clk.Advance(2 * time.Second)
	d = readCharts(t, mg)
	got := pointsOf(d)
	assert.Len(t, got["http://a"], 5)
	assert.Empty(t, got["http://d"])
	assert.NotContains(t, got, "http://c")
}

// Run samples on its own, every interval, until its context ends; it
// leaves no goroutine behind.
func TestManagerRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newStub()
		b := mustNew(t, balancer.Config{Name: "shop", Members: members("a", "b"), Transport: st})
		mg, err := manager.New(manager.Config{Hosts: testHosts, Balancers: []*balancer.Balancer{b}, SampleInterval: time.Second, History: time.Minute})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- mg.Run(ctx) }()
		synctest.Wait() // Run took its first sample and waits for the ticker
		for range 3 {
			seq(t, b, 4, nil)
			time.Sleep(time.Second) // the bubble's clock: no real wait
			synctest.Wait()
		}
		d := readCharts(t, mg)
		assert.Equal(t, []float64{2, 2, 2}, pointsOf(d)["http://a"], "4 requests per second over a and b")
		cancel()
		assert.ErrorIs(t, <-done, context.Canceled)
	})
}

// The charts follow at most MaxChartMembers members of a balancer, the
// first in configuration order.
func TestManagerChartsMemberCap(t *testing.T) {
	var specs []string
	for i := range manager.MaxChartMembers + 6 {
		specs = append(specs, fmt.Sprintf("m%03d", i))
	}
	clk := newClock()
	b := mustNew(t, balancer.Config{Name: "big", Members: members(specs...), Transport: newStub(), Now: clk.Now})
	mg, err := manager.New(manager.Config{Hosts: testHosts, Balancers: []*balancer.Balancer{b}, Now: clk.Now})
	require.NoError(t, err)
	readCharts(t, mg)
	clk.Advance(manager.DefaultSampleInterval)
	d := readCharts(t, mg)
	require.Len(t, d.Balancers[0].Members, manager.MaxChartMembers)
	assert.Equal(t, "http://m000", d.Balancers[0].Members[0].URL)
	assert.Equal(t, fmt.Sprintf("http://m%03d", manager.MaxChartMembers-1), d.Balancers[0].Members[manager.MaxChartMembers-1].URL)
	assert.Len(t, d.Balancers[0].Members[0].Points, 1)
}
