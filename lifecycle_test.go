package balancer_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/healthcheck"
)

// openFDs counts the process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// settle waits, by a loop of short yields bounded by within, until the
// goroutine count is at most limit, and returns the last count.
func settle(limit int, within time.Duration) int {
	n := runtime.NumGoroutine()
	for end := time.Now().Add(within); n > limit && time.Now().Before(end); n = runtime.NumGoroutine() {
		runtime.Gosched()
		time.Sleep(time.Millisecond) // a yield to the closing connections, not a timed assertion
	}
	return n
}

// Balancers that come and go (a reload) leave nothing behind once closed:
// 1,000 balancers each send a GET and a POST through a real loopback
// member and are closed; goroutines and open file descriptors end within 5
// of where they started. Without Close, each left two pooled connections,
// counted at both ends.
func TestCloseLeavesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 balancers")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Got", http.StatusText(200))
		io.WriteString(w, r.Method+" "+strings.Repeat("x", int(n)))
	}))
	defer srv.Close()
	startG := settle(0, 500*time.Millisecond) // whatever earlier tests left ends
	startFD := openFDs(t)
	for i := range 1000 {
		b, err := balancer.New(balancer.Config{Name: "reload", Members: []balancer.Member{{URL: srv.URL}}})
		require.NoError(t, err)
		w := fetch(b, "/", "")
		require.Equal(t, "GET ", w.Body.String(), "balancer %d", i)
		r := httptest.NewRequest("POST", "/", strings.NewReader("abc"))
		w = httptest.NewRecorder()
		b.ServeHTTP(w, r)
		require.Equal(t, "POST xxx", w.Body.String(), "balancer %d", i)
		require.NoError(t, b.Close())
	}
	// Returns as soon as the count is down; the bound only ends a run
	// that leaks (a loaded machine may take long to end the connections).
	endG := settle(startG+5, 10*time.Second)
	endFD := openFDs(t)
	t.Logf("goroutines %d -> %d, open fds %d -> %d", startG, endG, startFD, endFD)
	assert.LessOrEqual(t, endG, startG+5, "goroutines")
	assert.LessOrEqual(t, endFD, startFD+5, "open file descriptors")
}

// Close is idempotent and safe with requests in flight: they finish; the
// requests after it get 503; later configuration changes are refused;
// running health checks end.
func TestCloseWithRequestsInFlight(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			arrived <- struct{}{}
			<-release
		}
		io.WriteString(w, "done")
	}))
	defer srv.Close()
	b := mustNew(t, balancer.Config{Members: []balancer.Member{{URL: srv.URL,
		HealthCheck: healthcheck.Check{Method: healthcheck.MethodTCP, Interval: healthcheck.MinInterval}}}})
	checks := make(chan error, 1)
	go func() { checks <- b.RunHealthChecks(context.Background()) }()

	inflight := make(chan *httptest.ResponseRecorder, 1)
	go func() { inflight <- fetch(b, "/slow", "") }()
	<-arrived

	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); assert.NoError(t, b.Close()) }()
	}
	wg.Wait()
	assert.NoError(t, b.Close(), "a second Close")

	w := fetch(b, "/", "")
	assert.Equal(t, http.StatusServiceUnavailable, w.Code, "a request after Close")
	close(release)
	w = <-inflight
	assert.Equal(t, http.StatusOK, w.Code, "the request in flight finished")
	assert.Equal(t, "done", w.Body.String())

	select {
	case err := <-checks:
		assert.ErrorIs(t, err, balancer.ErrClosed)
	case <-time.After(10 * time.Second):
		t.Fatal("RunHealthChecks still running 10s after Close")
	}
	assert.ErrorIs(t, b.RunHealthChecks(context.Background()), balancer.ErrClosed)
	assert.ErrorIs(t, b.Update(members("a")), balancer.ErrClosed)
	assert.ErrorIs(t, b.Reconfigure(func(c *balancer.Config) error { return nil }), balancer.ErrClosed)
}

// A request waiting for a usable member (Config.Timeout) is answered 503
// as soon as the balancer closes.
func TestCloseWakesWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, balancer.Config{Members: members("a status=S"), Transport: newStub(), Timeout: time.Hour})
		done := make(chan int, 1)
		start := time.Now()
		go func() { done <- fetch(b, "/", "").Code }()
		synctest.Wait() // the request waits for a usable member
		require.NoError(t, b.Close())
		assert.Equal(t, http.StatusServiceUnavailable, <-done)
		assert.Zero(t, time.Since(start), "woken at once, not by the Timeout")
	})
}
