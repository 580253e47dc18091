//go:build chromium

package manager_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/manager"
)

// The live charts in a real Chromium, under changing load: both members
// serve, then b is disabled, then a member that refuses connections joins.
// The charts follow each phase in place (the page is not reloaded), and
// screenshots of every phase are kept.
func TestManagerChromiumCharts(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	require.NoError(t, err, "chromium not found (apt-get install chromium)")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	var hitsA, hitsB atomic.Int64
	counting := func(hits *atomic.Int64) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			io.WriteString(w, "ok")
		})
	}
	backA := httptest.NewServer(counting(&hitsA))
	t.Cleanup(backA.Close)
	backB := httptest.NewServer(counting(&hitsB))
	t.Cleanup(backB.Close)
	dead := closedPort(t)
	b, err := balancer.New(balancer.Config{
		Name: "shop",
		Members: []balancer.Member{
			{URL: backA.URL},
			{URL: backB.URL},
			// Refuses connections; tried again at every request once it
			// is enabled.
			{URL: dead, Status: "+H", Retry: balancer.RetryNow},
		},
	})
	require.NoError(t, err)
	mg, err := manager.New(manager.Config{Balancers: []*balancer.Balancer{b}, SampleInterval: 250 * time.Millisecond, History: time.Minute})
	require.NoError(t, err)
	runCtx, stopRun := context.WithCancel(ctx)
	runDone := make(chan error, 1)
	go func() { runDone <- mg.Run(runCtx) }()
	t.Cleanup(func() { stopRun(); <-runDone })

	mux := http.NewServeMux()
	mux.Handle("/app/", b)
	mux.Handle("/balancer-manager", mg)
	front := httptest.NewServer(mux)
	t.Cleanup(front.Close)
	send := func(n int) {
		t.Helper()
		for range n {
			res, err := front.Client().Get(front.URL + "/app/x")
			require.NoError(t, err)
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			require.Equal(t, 200, res.StatusCode)
		}
	}
	browser := startChromium(ctx, t, chromium)
	last := func(metric, member string) float64 {
		t.Helper()
		v := browser.eval(ctx, fmt.Sprintf(`(() => { const l = document.querySelector('svg[data-metric=%q] polyline[data-member=%q]');
			return l ? Number(l.getAttribute("data-last")) : -1 })()`, metric, member))
		return v.(float64)
	}
	points := func(metric, member string) string {
		t.Helper()
		v := browser.eval(ctx, fmt.Sprintf(`(() => { const l = document.querySelector('svg[data-metric=%q] polyline[data-member=%q]');
			return l ? l.getAttribute("points") : "" })()`, metric, member))
		return v.(string)
	}
	// until sends load and reads the charts until cond holds (the charts
	// are redrawn every 250 ms), or the test's deadline passes.
	// Each phase lasts at least six redraws, so that its screenshot shows
	// a trend.
	updates := func() float64 {
		t.Helper()
		return browser.eval(ctx, `Number(document.querySelector("[data-charts]").getAttribute("data-updates"))`).(float64)
	}
	until := func(what string, cond func() bool) {
		t.Helper()
		from := updates()
		for !cond() || updates() < from+6 {
			require.NoError(t, ctx.Err(), "charts never showed: %s", what)
			send(20)
		}
	}

	browser.viewport(ctx, 1280, 900, false)
	browser.navigate(ctx, front.URL+"/balancer-manager")
	browser.eval(ctx, `window.notReloaded = true`)

	// Phase 1: a and b share the load.
	until("requests on a and b", func() bool { return last("requests", backA.URL) > 0 && last("requests", backB.URL) > 0 })
	assert.Equal(t, 0.0, last("requests", dead), "the standby has no traffic")
	browser.scrollTo(ctx, `[data-charts]`)
	browser.screenshot(ctx, "charts-1-both.png")
	p1 := points("requests", backB.URL)

	// Phase 2: b is disabled; its rate falls to zero, a takes everything.
	require.NoError(t, b.Apply(balancer.Change{Members: []balancer.MemberChange{{URL: backB.URL, Set: "D"}}}))
	until("b idle, a busy", func() bool { return last("requests", backB.URL) == 0 && last("requests", backA.URL) > 0 })
	assert.NotEqual(t, p1, points("requests", backB.URL), "b's line changed")
	browser.screenshot(ctx, "charts-2-b-disabled.png")

	// Phase 3: the refusing member is enabled: errors appear.
	require.NoError(t, b.Apply(balancer.Change{Members: []balancer.MemberChange{{URL: dead, Clear: "H"}}}))
	until("errors of the refusing member", func() bool { return last("errors", dead) > 0 })
	assert.Equal(t, 0.0, last("errors", backA.URL))
	latencyMax := browser.eval(ctx, `Number(document.querySelector('svg[data-metric="latencyMs"]').getAttribute("data-max"))`)
	assert.Greater(t, latencyMax.(float64), 0.0, "latency of the members that answer")
	browser.screenshot(ctx, "charts-3-errors.png")

	assert.GreaterOrEqual(t, updates(), 18.0, "the charts were redrawn six times in each of the three phases")
	assert.Equal(t, true, browser.eval(ctx, `window.notReloaded === true`), "in place: the page was not reloaded")

	// On a phone the three charts stack, each as wide as the screen.
	browser.viewport(ctx, 390, 844, true)
	browser.scrollTo(ctx, `[data-charts]`)
	width := browser.eval(ctx, `document.querySelector('svg[data-metric="requests"]').getBoundingClientRect().width`)
	assert.Greater(t, width.(float64), 300.0)
	assert.Less(t, width.(float64), 390.0)
	browser.screenshot(ctx, "charts-phone.png")
}
