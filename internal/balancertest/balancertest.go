// Package balancertest holds the in-process test helpers that the tests of
// the balancer and of its manager share: a settable clock, a stub
// transport whose members answer with their host, and builders of
// members and balancers. It is for tests only.
package balancertest

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/proxybalancer/balancer"
)

// Clock is a settable time source for retry timers. It is safe for
// concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock set to 2026-01-02 03:04:05 UTC.
func NewClock() *Clock { return &Clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

// Now returns the Clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the Clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Stub is an in-process transport: each member host answers 200 with its
// host as the body (and in X-Member), or fails to connect when marked
// dead. It is safe for concurrent use.
type Stub struct {
	mu    sync.Mutex
	dead  map[string]bool
	calls []string // hosts in the order they were asked
	last  *http.Request
}

// NewStub returns a Stub whose given hosts are dead.
func NewStub(dead ...string) *Stub {
	s := &Stub{dead: map[string]bool{}}
	for _, d := range dead {
		s.dead[d] = true
	}
	return s
}

// SetDead marks host dead or alive.
func (s *Stub) SetDead(host string, dead bool) {
	s.mu.Lock()
	s.dead[host] = dead
	s.mu.Unlock()
}

// RoundTrip records the request and answers it as the Stub's doc says.
func (s *Stub) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.calls = append(s.calls, r.URL.Host)
	s.last = r
	dead := s.dead[r.URL.Host]
	s.mu.Unlock()
	if dead {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	}
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
	}
	return &http.Response{
		StatusCode: 200,
		Header:     http.Header{"X-Member": {r.URL.Host}},
		Body:       io.NopCloser(strings.NewReader(r.URL.Host)),
		Request:    r,
	}, nil
}

// Attempts returns the hosts asked since the last Reset, in order.
func (s *Stub) Attempts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// Last returns the last request the Stub was asked, or nil.
func (s *Stub) Last() *http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// Reset forgets the hosts asked so far.
func (s *Stub) Reset() {
	s.mu.Lock()
	s.calls = nil
	s.mu.Unlock()
}

// Seq sends n GET requests to h and returns the member host that answered
// each, or the status text ("Service Unavailable" and the like) for an
// error status. mod, if not nil, edits each request before it is sent.
func Seq(t *testing.T, h http.Handler, n int, mod func(*http.Request)) []string {
	t.Helper()
	out := make([]string, n)
	for i := range out {
		r := httptest.NewRequest("GET", "http://front.example/x", nil)
		if mod != nil {
			mod(r)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			out[i] = http.StatusText(w.Code)
			continue
		}
		out[i] = w.Body.String()
	}
	return out
}

// Members builds member configs whose hosts are the names given, so a Stub
// answer names the member: "a route=r1 lf=2 lbset=1 status=D redirect=r2".
func Members(specs ...string) []balancer.Member {
	var ms []balancer.Member
	for _, s := range specs {
		f := strings.Fields(s)
		m := balancer.Member{URL: "http://" + f[0]}
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "status":
				m.Status = v
			case "route":
				m.Route = v
			case "redirect":
				m.Redirect = v
			case "lbset":
				m.LBSet = atoi(v)
			case "lf":
				m.LoadFactor = float64(atoi(v))
			}
		}
		ms = append(ms, m)
	}
	return ms
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// MustNew builds a balancer from cfg (named "test" when cfg has no name)
// and ends the test if that fails.
func MustNew(t *testing.T, cfg balancer.Config) *balancer.Balancer {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "test"
	}
	b, err := balancer.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

// ClosedURL returns the http URL of a loopback port nothing listens on:
// connections to it are refused.
func ClosedURL(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr
}
