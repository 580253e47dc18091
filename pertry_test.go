package balancer_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
)

// slowMembers is an in-process transport whose members answer after a
// delay on the bubble's fake clock (or never, for a negative delay), echo
// the request body, and record their calls and cancellations.
type slowMembers struct {
	delay map[string]time.Duration

	mu       sync.Mutex
	calls    []string
	bodies   []string
	canceled []string
}

func (s *slowMembers) RoundTrip(r *http.Request) (*http.Response, error) {
	host := r.URL.Host
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
	}
	s.mu.Lock()
	s.calls = append(s.calls, host)
	s.bodies = append(s.bodies, string(body))
	s.mu.Unlock()
	var after <-chan time.Time
	if d := s.delay[host]; d >= 0 {
		after = time.After(d)
	}
	select {
	case <-after:
	case <-r.Context().Done():
		s.mu.Lock()
		s.canceled = append(s.canceled, host)
		s.mu.Unlock()
		return nil, r.Context().Err()
	}
	return &http.Response{StatusCode: 200, Header: http.Header{}, Request: r,
		Body: io.NopCloser(strings.NewReader(host + ":" + string(body)))}, nil
}

// A per-try timeout sends an idempotent request whose member is slow to
// another member as well; the first answer wins and the other attempt is
// canceled. Run on synctest's fake clock: no timing is measured.
func TestPerTryTimeout(t *testing.T) {
	const T = time.Second
	tests := []struct {
		name         string
		delayA       time.Duration // b is the second member
		delayB       time.Duration
		method, body string
		cfg          func(*balancer.Config)
		want         string
		wantCalls    []string
		wantCanceled []string
	}{
		{name: "a never answers: b's answer, a canceled", delayA: -1, delayB: 0, method: "GET",
			want: "b:", wantCalls: []string{"a", "b"}, wantCanceled: []string{"a"}},
		{name: "a answers within T: b never asked", delayA: T / 2, delayB: 0, method: "GET",
			want: "a:", wantCalls: []string{"a"}},
		{name: "a answers after T but before b: a's answer, b canceled", delayA: 2 * T, delayB: 5 * T, method: "GET",
			want: "a:", wantCalls: []string{"a", "b"}, wantCanceled: []string{"b"}},
		{name: "PUT with Idempotency-Key and a body from a server: b gets the whole body", delayA: -1, delayB: 0,
			method: "PUT", body: "the body", want: "b:the body", wantCalls: []string{"a", "b"}, wantCanceled: []string{"a"}},
		{name: "POST is never sent twice", delayA: 2 * T, delayB: 0, method: "POST", body: "x",
			want: "a:x", wantCalls: []string{"a"}},
		{name: "no retry budget: waits for a", delayA: 2 * T, delayB: 0, method: "GET",
			cfg:  func(c *balancer.Config) { c.RetryBudgetMin = -1 },
			want: "a:", wantCalls: []string{"a"}},
		{name: "off by default", delayA: 2 * T, delayB: 0, method: "GET",
			cfg:  func(c *balancer.Config) { c.PerTryTimeout = 0 },
			want: "a:", wantCalls: []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := &slowMembers{delay: map[string]time.Duration{"a": tt.delayA, "b": tt.delayB}}
				cfg := balancer.Config{Members: members("a", "b"), Transport: tr, PerTryTimeout: T}
				if tt.cfg != nil {
					tt.cfg(&cfg)
				}
				b := mustNew(t, cfg)
				var body io.Reader
				if tt.body != "" {
					body = strings.NewReader(tt.body)
				}
				r := httptest.NewRequest(tt.method, "http://front.example/x", body)
				if tt.method == "PUT" {
					r.Header.Set("Idempotency-Key", "k")
				}
				require.Nil(t, r.GetBody, "a server's request has no GetBody")
				w := httptest.NewRecorder()
				b.ServeHTTP(w, r)
				synctest.Wait() // the canceled attempt has ended
				assert.Equal(t, 200, w.Code)
				assert.Equal(t, tt.want, w.Body.String())
				tr.mu.Lock()
				defer tr.mu.Unlock()
				assert.Equal(t, tt.wantCalls, tr.calls, "members asked")
				assert.Equal(t, tt.wantCanceled, tr.canceled, "attempts canceled")
				for i, got := range tr.bodies {
					assert.Equal(t, tt.body, got, "body %s received", tr.calls[i])
				}
				for _, m := range b.Members() {
					assert.Zero(t, m.Busy, "%s busy after the request", m.URL)
				}
			})
		})
	}
}

// A client that goes away during a race counts against neither member.
func TestPerTryTimeoutClientGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := &slowMembers{delay: map[string]time.Duration{"a": -1, "b": -1}}
		b := mustNew(t, balancer.Config{Members: members("a", "b"), Transport: tr, PerTryTimeout: time.Second,
			Outlier: &balancer.OutlierDetection{Consecutive5xx: 1, MaxEjectionPercent: 100}})
		ctx, cancel := context.WithCancel(context.Background())
		r := httptest.NewRequest("GET", "http://front.example/x", nil).WithContext(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			b.ServeHTTP(httptest.NewRecorder(), r)
		}()
		time.Sleep(2 * time.Second) // fake clock: both members asked
		synctest.Wait()
		cancel()
		<-done
		synctest.Wait()
		tr.mu.Lock()
		assert.Equal(t, []string{"a", "b"}, tr.calls)
		tr.mu.Unlock()
		for _, m := range b.Members() {
			assert.Equal(t, balancer.StatusInit, m.Status, "%s", m.URL)
		}
	})
}
