package balancer_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
)

// statusMembers is an in-process transport: each host answers the status
// its function gives for its n-th request (from 0); 0 means the
// connection is lost after the request was sent, -1 that it never answers
// (until the request's context ends).
type statusMembers struct {
	mu     sync.Mutex
	status map[string]func(n int) int
	n      map[string]int
}

func newStatusMembers(status map[string]func(n int) int) *statusMembers {
	return &statusMembers{status: status, n: map[string]int{}}
}

func always(code int) func(int) int { return func(int) int { return code } }

func (s *statusMembers) RoundTrip(r *http.Request) (*http.Response, error) {
	host := r.URL.Host
	s.mu.Lock()
	f := s.status[host]
	n := s.n[host]
	s.n[host]++
	s.mu.Unlock()
	code := 200
	if f != nil {
		code = f(n)
	}
	switch code {
	case 0:
		return nil, errSentFailure
	case -1:
		<-r.Context().Done()
		return nil, r.Context().Err()
	}
	return &http.Response{StatusCode: code, Header: http.Header{}, Request: r, Body: io.NopCloser(strings.NewReader(host))}, nil
}

func (s *statusMembers) set(host string, f func(int) int) {
	s.mu.Lock()
	s.status[host] = f
	s.mu.Unlock()
}

// ejected returns the members ejected by outlier detection.
func ejected(b *balancer.Balancer) []string {
	var out []string
	for _, m := range b.Members() {
		if m.Status.Has(balancer.StatusEjected) {
			out = append(out, m.URL)
		}
	}
	return out
}

// Consecutive 5xx eject a member for the base ejection time, then twice
// that after the next ejection; it is visible in Members(), in the state
// events and in Status.String; it comes back when a request arrives after
// its time.
func TestOutlierConsecutive5xx(t *testing.T) {
	clk := newClock()
	tr := newStatusMembers(map[string]func(int) int{"a": always(500)})
	var mu sync.Mutex
	var events []balancer.StateEvent
	obs := &balancer.Observer{StateChanged: func(e balancer.StateEvent) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}}
	b := mustNew(t, balancer.Config{Members: members("a", "b", "c"), Transport: tr, Now: clk.Now, Observer: obs,
		Outlier: &balancer.OutlierDetection{MaxEjectionPercent: 50}})
	// Round robin: a gets every third request; its fifth 500 ejects it.
	got := seq(t, b, 15, nil)
	assert.Equal(t, 5, strings.Count(strings.Join(got, ","), "Internal Server Error"))
	require.Equal(t, []string{"http://a"}, ejected(b))
	ms := b.Members()[0]
	assert.WithinDuration(t, clk.Now().Add(30*time.Second), ms.EjectedUntil, 0)
	assert.Equal(t, int64(1), ms.Ejections)
	assert.Contains(t, ms.Status.String(), "Ejct")
	assert.NotContains(t, ms.Status.String(), "Ok")
	mu.Lock()
	require.Len(t, events, 1)
	assert.Equal(t, "http://a", events[0].Member)
	assert.True(t, events[0].To.Has(balancer.StatusEjected))
	assert.Contains(t, events[0].Why, "5 consecutive 5xx")
	mu.Unlock()

	assert.NotContains(t, seq(t, b, 10, nil), "Internal Server Error", "a is out of use")
	clk.Advance(30 * time.Second)
	assert.Equal(t, []string{"http://a"}, ejected(b), "still ejected at its end")
	clk.Advance(time.Nanosecond)
	seq(t, b, 15, nil)
	require.Equal(t, []string{"http://a"}, ejected(b), "back, then ejected again")
	assert.WithinDuration(t, clk.Now().Add(60*time.Second), b.Members()[0].EjectedUntil, 0, "the second ejection lasts twice as long")
	clk.Advance(60*time.Second + time.Nanosecond)
	tr.set("a", always(200))
	seq(t, b, 3, nil)
	assert.Empty(t, ejected(b))
	assert.Equal(t, balancer.StatusInit, b.Members()[0].Status)
	t.Logf("events: %d state changes for a", len(events))
}

// At most MaxEjectionPercent of the members (at least one) are ejected.
func TestOutlierMaxEjectionPercent(t *testing.T) {
	clk := newClock()
	tr := newStatusMembers(map[string]func(int) int{"a": always(503), "b": always(503)})
	b := mustNew(t, balancer.Config{Members: members("a", "b", "c"), Transport: tr, Now: clk.Now,
		Outlier: &balancer.OutlierDetection{}})
	seq(t, b, 60, nil)
	assert.Len(t, ejected(b), 1, "10%% of 3 members: one")
}

// Lost connections count (gateway failures), client cancellations never.
func TestOutlierGatewayFailuresNotCancellations(t *testing.T) {
	clk := newClock()
	tr := newStatusMembers(map[string]func(int) int{"a": always(-1)})
	b := mustNew(t, balancer.Config{Members: members("a", "b"), Transport: tr, Now: clk.Now,
		Outlier: &balancer.OutlierDetection{Consecutive5xx: -1, ConsecutiveGatewayFailure: 3, MaxEjectionPercent: 50}})
	for range 10 {
		ctx, cancel := context.WithCancel(context.Background())
		r := httptest.NewRequest("GET", "http://front.example/x", nil).WithContext(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			b.ServeHTTP(httptest.NewRecorder(), r)
		}()
		cancel()
		<-done
	}
	assert.Empty(t, ejected(b), "client cancellations never count")
	tr.set("a", always(0)) // lost after send; GET is retried on b
	got := seq(t, b, 6, nil)
	assert.Equal(t, []string{"b", "b", "b", "b", "b", "b"}, got, "retried, the client sees b")
	assert.Equal(t, []string{"http://a"}, ejected(b), "three lost connections in a row")
}

// The success-rate check ejects a member whose share of good answers over
// an interval is far below the others'.
func TestOutlierSuccessRate(t *testing.T) {
	clk := newClock()
	half := func(n int) int { // 200, 500, 200, ...: never 5 in a row
		if n%2 == 1 {
			return 500
		}
		return 200
	}
	tr := newStatusMembers(map[string]func(int) int{"a": half})
	b := mustNew(t, balancer.Config{Members: members("a", "b", "c", "d", "e"), Transport: tr, Now: clk.Now,
		Outlier: &balancer.OutlierDetection{SuccessRate: true, SuccessRateRequestVolume: 10}})
	seq(t, b, 100, nil)
	assert.Empty(t, ejected(b), "the interval has not ended")
	clk.Advance(10 * time.Second)
	seq(t, b, 1, nil)
	assert.Equal(t, []string{"http://a"}, ejected(b), "50%% against 100%% for the others")
}

// Turning detection off ends every ejection at the next request.
func TestOutlierOffReleases(t *testing.T) {
	clk := newClock()
	tr := newStatusMembers(map[string]func(int) int{"a": always(500)})
	b := mustNew(t, balancer.Config{Members: members("a", "b"), Transport: tr, Now: clk.Now,
		Outlier: &balancer.OutlierDetection{MaxEjectionPercent: 50}})
	seq(t, b, 10, nil)
	require.Equal(t, []string{"http://a"}, ejected(b))
	reconfigure(t, b, func(c *balancer.Config) { c.Outlier = nil })
	seq(t, b, 1, nil)
	assert.Empty(t, ejected(b))
}

// Bad values are refused with the field and the value.
func TestOutlierValidation(t *testing.T) {
	_, err := balancer.New(balancer.Config{Name: "x", Members: members("a"),
		Outlier: &balancer.OutlierDetection{MaxEjectionPercent: 101}})
	assert.ErrorContains(t, err, "outlier.maxejectionpercent 101")
	_, err = balancer.New(balancer.Config{Name: "x", Members: members("a"),
		Outlier: &balancer.OutlierDetection{BaseEjectionTime: -1}})
	assert.ErrorContains(t, err, "outlier.baseejectiontime -1ns")
}
