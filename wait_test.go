package balancer_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/proxybalancer/balancer"
)

// The balancer timeout (§6.3): with nothing usable a request waits up to
// Timeout, then gets 503; a member becoming usable wakes it at once.
func TestBalancerTimeout(t *testing.T) {
	t.Run("503 after the timeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := mustNew(t, balancer.Config{Members: members("a status=D"), Timeout: 2 * time.Second, Transport: newStub()})
			start := time.Now()
			if got := seq(t, b, 1, nil)[0]; got != "Service Unavailable" {
				t.Fatalf("got %s", got)
			}
			if d := time.Since(start); d != 2*time.Second {
				t.Errorf("503 after %v, want 2s", d)
			}
		})
	})
	t.Run("woken when a member is enabled", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := mustNew(t, balancer.Config{Members: members("a status=D", "b status=D"), Timeout: 2 * time.Second, Transport: newStub()})
			start := time.Now()
			done := make(chan string)
			go func() { done <- seq(t, b, 1, nil)[0] }()
			time.Sleep(time.Second) // fake time: the request waits
			synctest.Wait()
			if err := b.SetStatus("http://b", 0, balancer.StatusDisabled); err != nil {
				t.Fatal(err)
			}
			if got := <-done; got != "b" {
				t.Errorf("got %s, want b", got)
			}
			if d := time.Since(start); d != time.Second {
				t.Errorf("answered after %v, want 1s", d)
			}
		})
	})
	t.Run("woken when an error state ends", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			st := newStub()
			ms := members("a")
			ms[0].Retry = 1500 * time.Millisecond
			// Without forced recovery the lone member stays in error state
			// until its retry has passed.
			b := mustNew(t, balancer.Config{Members: ms, Timeout: 5 * time.Second, Transport: st, DisableForceRecovery: true})
			if err := b.SetStatus("http://a", balancer.StatusError, 0); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if got := seq(t, b, 1, nil)[0]; got != "a" {
				t.Fatalf("got %s", got)
			}
			if d := time.Since(start); d <= 1500*time.Millisecond || d > 1501*time.Millisecond {
				t.Errorf("answered after %v, want just after the 1.5s retry", d)
			}
		})
	})
	t.Run("client gone stops the wait", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := mustNew(t, balancer.Config{Members: members("a status=D"), Timeout: time.Hour, Transport: newStub()})
			r := httptest.NewRequest("GET", "/", nil)
			rctx, rcancel := context.WithCancel(context.Background())
			done := make(chan int)
			go func() {
				w := httptest.NewRecorder()
				b.ServeHTTP(w, r.WithContext(rctx))
				done <- w.Code
			}()
			time.Sleep(time.Minute)
			rcancel()
			if code := <-done; code != 503 {
				t.Errorf("code %d", code)
			}
		})
	})
}
