package balancer_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/healthcheck"
)

// Health checks set C on a failing member and clear C (and an error state)
// when it passes again. The test waits for checks to arrive at the backend,
// not for time: checks of one member never overlap, so once check n+1
// arrives, check n has been reported.
func TestHealthChecksSetAndClearC(t *testing.T) {
	var healthy atomic.Bool
	checks := make(chan bool, 100) // each check's answer: passed or not
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/app/health" {
			ok := healthy.Load()
			if !ok {
				w.WriteHeader(500)
			}
			checks <- ok
			return
		}
		w.Write([]byte("served"))
	}))
	t.Cleanup(srv.Close)
	other, _ := namedBackend(t, "other")
	b := mustNew(t, balancer.Config{Members: []balancer.Member{
		{URL: srv.URL + "/app", HealthCheck: healthcheck.Check{Method: healthcheck.MethodGet, URI: "/health", Interval: 100 * time.Millisecond}},
		{URL: other.URL},
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.RunHealthChecks(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != context.Canceled {
			t.Errorf("RunHealthChecks returned %v, want context.Canceled", err)
		}
	})
	// wait returns once n checks answered with passed have arrived.
	wait := func(n int, passed bool) {
		t.Helper()
		for n > 0 {
			select {
			case ok := <-checks:
				if ok == passed {
					n--
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no health check arrived within 10s")
			}
		}
	}
	wait(2, false)
	m := b.Members()[0]
	if !m.Status.Has(balancer.StatusHCFailed) || !m.HealthKnown || m.Health.Last.Status != 500 {
		t.Fatalf("after failing checks: %v, health %+v", m.Status, m.Health)
	}
	for range 4 {
		if got := seq(t, b, 1, nil)[0]; got != "other" {
			t.Fatalf("request went to %q while its member failed its checks", got)
		}
	}
	// The member is also put into error state; a passing check ends both.
	if err := b.SetStatus(srv.URL+"/app", balancer.StatusError, 0); err != nil {
		t.Fatal(err)
	}
	healthy.Store(true)
	wait(2, true)
	if m := b.Members()[0]; m.Status != balancer.StatusInit {
		t.Fatalf("after passing checks: %v, want Init Ok", m.Status)
	}
	if err := b.RunHealthChecks(ctx); err == nil {
		t.Errorf("a second RunHealthChecks started")
	}
}
