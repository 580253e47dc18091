package manager_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/proxybalancer/balancer"
)

// clock is a settable time source for retry timers.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// stub is an in-process transport: each member host answers 200 with its
// host as the body, or fails to connect when marked dead.
type stub struct {
	mu    sync.Mutex
	dead  map[string]bool
	calls []string // hosts in the order they were asked
}

func newStub(dead ...string) *stub {
	s := &stub{dead: map[string]bool{}}
	for _, d := range dead {
		s.dead[d] = true
	}
	return s
}

func (s *stub) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.calls = append(s.calls, r.URL.Host)
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

func (s *stub) reset() {
	s.mu.Lock()
	s.calls = nil
	s.mu.Unlock()
}

// seq sends n GET requests to h and returns the member host that answered
// each, or "Service Unavailable" and the like for an error status.
func seq(t *testing.T, h http.Handler, n int, mod func(*http.Request)) []string {
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

// members builds member configs whose hosts are the names given, so a stub
// answer names the member: "a route=r1 lf=2 lbset=1 status=D redirect=r2".
func members(specs ...string) []balancer.Member {
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

func mustNew(t *testing.T, cfg balancer.Config) *balancer.Balancer {
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

// testHosts are the host names the tests' managers answer for: the host of
// httptest.NewRequest's default target.
var testHosts = []string{"example.com"}

// formBody is a form as a request body.
func formBody(v url.Values) io.Reader { return strings.NewReader(v.Encode()) }

func ptr[T any](v T) *T { return &v }
