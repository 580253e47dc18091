package balancer_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/transport"
)

// backend is a loopback member whose behaviour a test sets per request.
type backend struct {
	srv     *httptest.Server
	mu      sync.Mutex
	mode    string // "ok", "close" (no status line), "500", "block"
	calls   atomic.Int32
	bodies  []int
	release chan struct{} // closed to end blocked requests
	arrived chan struct{} // one value per request, once it has arrived
}

func newBackend(t *testing.T, name, mode string) *backend {
	t.Helper()
	bk := &backend{mode: mode, release: make(chan struct{}), arrived: make(chan struct{}, 1000)}
	bk.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bk.calls.Add(1)
		bk.arrived <- struct{}{}
		n, _ := io.Copy(io.Discard, r.Body)
		bk.mu.Lock()
		bk.bodies = append(bk.bodies, int(n))
		mode := bk.mode
		bk.mu.Unlock()
		switch mode {
		case "close":
			if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
				c.Close()
			}
			return
		case "500":
			w.WriteHeader(500)
		case "block":
			select {
			case <-bk.release:
			case <-r.Context().Done():
			}
		}
		io.WriteString(w, name)
	}))
	t.Cleanup(func() {
		select {
		case <-bk.release:
		default:
			close(bk.release)
		}
		bk.srv.Close()
	})
	return bk
}

// awaitArrivals waits until n requests have arrived at the member's
// handler (bounded: 10 s of real time, never reached when the code works).
func (bk *backend) awaitArrivals(t *testing.T, n int) {
	t.Helper()
	bound := time.NewTimer(10 * time.Second)
	defer bound.Stop()
	for range n {
		select {
		case <-bk.arrived:
		case <-bound.C:
			t.Fatalf("%d requests did not arrive at the member within 10s", n)
		}
	}
}

func (bk *backend) received() []int {
	bk.mu.Lock()
	defer bk.mu.Unlock()
	return append([]int(nil), bk.bodies...)
}

// Every failure mode of §6.3 and §6.4, with our safe retries: what the
// client sees, the first member's state after, the attempts made, and the
// body the next member received.
func TestFailureModes(t *testing.T) {
	const body = "the request body"
	// For a member that never answers: only Timeout ends the wait. The
	// connect has a bound of its own (it falls back to Timeout, and a 20 ms
	// connect can fail on a loaded machine, which is another failure mode).
	shortTimeout := func(m *balancer.Member) {
		m.Connection = transport.Options{Timeout: 20 * time.Millisecond, ConnectTimeout: time.Minute}
	}
	tests := []struct {
		name       string
		firstMode  string // the first member's behaviour; "" = nothing listens
		method     string
		cfg        func(*balancer.Config)
		first      func(*balancer.Member)
		wantStatus int
		wantBody   string
		wantErr    bool // first member in error state afterwards
		wantFirst  int32
		wantSecond []int // body lengths the second member received
	}{
		{name: "connection refused: failover, body re-sent", method: "POST",
			wantStatus: 200, wantBody: "second", wantErr: true, wantSecond: []int{len(body)}},
		{name: "name resolution failure: 500, member in error, no failover (Apache)", firstMode: "dns", method: "GET",
			wantStatus: 500, wantErr: true},
		{name: "ignore-errors member refused: still fails over, never in error", method: "POST",
			first:      func(m *balancer.Member) { m.Status = "I" },
			wantStatus: 200, wantBody: "second", wantErr: false, wantSecond: []int{len(body)}},
		{name: "closed without status, POST: 502, never sent twice", firstMode: "close", method: "POST",
			wantStatus: 502, wantFirst: 1},
		{name: "closed without status, GET: retried on another member", firstMode: "close", method: "GET",
			wantStatus: 200, wantBody: "second", wantFirst: 1, wantSecond: []int{0}},
		{name: "closed, GET, retries disabled: 502", firstMode: "close", method: "GET",
			cfg:        func(c *balancer.Config) { c.DisableIdempotentRetry = true },
			wantStatus: 502, wantFirst: 1},
		{name: "closed, POST with Idempotency-Key and no body: retried", firstMode: "close", method: "POST-KEY",
			wantStatus: 200, wantBody: "second", wantFirst: 1, wantSecond: []int{0}},
		{name: "backend 500 relayed, member not in error", firstMode: "500", method: "GET",
			wantStatus: 500, wantBody: "first", wantFirst: 1},
		{name: "failonstatus 500: relayed, member in error, no retry", firstMode: "500", method: "GET",
			cfg:        func(c *balancer.Config) { c.FailOnStatus = []int{500, 503} },
			wantStatus: 500, wantBody: "first", wantErr: true, wantFirst: 1},
		{name: "failonstatus matches the balancer's own 502", firstMode: "close", method: "POST",
			cfg:        func(c *balancer.Config) { c.FailOnStatus = []int{502} },
			wantStatus: 502, wantErr: true, wantFirst: 1},
		{name: "response header timeout: 502, no retry", firstMode: "block", method: "GET",
			first:      shortTimeout,
			wantStatus: 502, wantFirst: 1},
		{name: "failontimeout: 502 and member in error", firstMode: "block", method: "GET",
			cfg:        func(c *balancer.Config) { c.FailOnTimeout = true },
			first:      shortTimeout,
			wantStatus: 502, wantErr: true, wantFirst: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var firstURL string
			var first *backend
			switch tt.firstMode {
			case "":
				firstURL = closedPort(t)
			case "dns":
				firstURL = "http://no-such-host.invalid"
			default:
				first = newBackend(t, "first", tt.firstMode)
				firstURL = first.srv.URL
			}
			second := newBackend(t, "second", "ok")
			cfg := balancer.Config{Name: "f", Members: []balancer.Member{{URL: firstURL}, {URL: second.srv.URL}}}
			if tt.first != nil {
				tt.first(&cfg.Members[0])
			}
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			b := mustNew(t, cfg)
			front := httptest.NewServer(b)
			t.Cleanup(front.Close)

			var req *http.Request
			switch tt.method {
			case "POST":
				req, _ = http.NewRequest("POST", front.URL+"/", strings.NewReader(body))
			case "POST-KEY":
				req, _ = http.NewRequest("POST", front.URL+"/", nil)
				req.Header.Set("Idempotency-Key", "k1")
			default:
				req, _ = http.NewRequest(tt.method, front.URL+"/", nil)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d", res.StatusCode, tt.wantStatus)
			}
			if tt.wantBody != "" && string(got) != tt.wantBody {
				t.Errorf("body %q, want %q", got, tt.wantBody)
			}
			if s := b.Members()[0].Status; s.Has(balancer.StatusError) != tt.wantErr {
				t.Errorf("first member status %v, want in error %v", s, tt.wantErr)
			}
			if first != nil {
				// A member timed out may run its handler after the
				// balancer gave up on it: wait for the arrivals expected.
				first.awaitArrivals(t, int(tt.wantFirst))
				if got := first.calls.Load(); got != tt.wantFirst {
					t.Errorf("first member called %d times, want %d", got, tt.wantFirst)
				}
			}
			if got := second.received(); len(got) != len(tt.wantSecond) || (len(got) > 0 && got[0] != tt.wantSecond[0]) {
				t.Errorf("second member received bodies %v, want %v", got, tt.wantSecond)
			}
		})
	}
}

// The pool acquire timeout (max + acquire) puts the member into error
// state and fails over, as Apache does (§6.2, verified).
func TestAcquireTimeoutFailsOver(t *testing.T) {
	slow := newBackend(t, "slow", "block")
	second := newBackend(t, "second", "ok")
	b := mustNew(t, balancer.Config{Name: "a", Members: []balancer.Member{
		{URL: slow.srv.URL, Connection: transport.Options{Max: 1, Acquire: 10 * time.Millisecond}},
		{URL: second.srv.URL},
	}})
	// The first request holds the only connection to slow.
	held := make(chan struct{})
	go func() {
		defer close(held)
		w := httptest.NewRecorder()
		b.ServeHTTP(w, httptest.NewRequest("GET", "/hold", nil))
	}()
	select {
	case <-slow.arrived:
	case <-held:
		t.Fatal("the holding request ended early")
	}
	// byrequests now picks second, then slow again.
	seq(t, b, 1, nil)
	got := seq(t, b, 1, nil)
	if got[0] != "second" {
		t.Errorf("answer %q, want second after slow's acquire timeout", got[0])
	}
	if s := b.Members()[0].Status; !s.Has(balancer.StatusError) {
		t.Errorf("slow: %v, want in error", s)
	}
	close(slow.release)
	<-held
}

// A client that goes away never counts against a member.
func TestClientCancelDoesNotCount(t *testing.T) {
	slow := newBackend(t, "slow", "block")
	b := mustNew(t, balancer.Config{Name: "c", Members: []balancer.Member{{URL: slow.srv.URL}}, FailOnStatus: []int{502}, FailOnTimeout: true})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		w := httptest.NewRecorder()
		b.ServeHTTP(w, httptest.NewRequest("GET", "/", nil).WithContext(ctx))
		done <- w.Code
	}()
	<-slow.arrived // the request reached the member
	cancel()
	<-done
	if s := b.Members()[0].Status; s != balancer.StatusInit {
		t.Errorf("member %v after a client cancellation, want Init Ok", s)
	}
}

// The retry budget bounds retries after send by concurrency: one request
// at a time is always within the minimum (3 retries in flight), and with
// no minimum a share of one request in flight allows none.
func TestRetryBudget(t *testing.T) {
	for _, tc := range []struct {
		name        string
		ratio       float64
		min         int
		wantRetried bool
	}{
		{"default minimum", 0, 0, true},
		{"no minimum, share below one request", 0.1, -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			closer := newBackend(t, "closer", "close")
			ok := newBackend(t, "ok", "ok")
			b := mustNew(t, balancer.Config{Name: "r", RetryBudget: tc.ratio, RetryBudgetMin: tc.min,
				Members: []balancer.Member{{URL: closer.srv.URL}, {URL: ok.srv.URL}}})
			front := httptest.NewServer(b)
			t.Cleanup(front.Close)
			const n = 20
			failed := 0
			for range n {
				res, err := http.Get(front.URL + "/")
				require.NoError(t, err)
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					failed++
				}
			}
			// Round robin: half the requests go to closer first.
			retried := int(ok.calls.Load()) - (n - int(closer.calls.Load()))
			t.Logf("%d requests one at a time: closer tried %d times, %d retried, %d failed", n, closer.calls.Load(), retried, failed)
			assert.Equal(t, int(closer.calls.Load()), failed+retried)
			if tc.wantRetried {
				assert.Equal(t, n/2, retried)
			} else {
				assert.Zero(t, retried)
			}
		})
	}
}
