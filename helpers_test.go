package balancer_test

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
	last  *http.Request
}

func newStub(dead ...string) *stub {
	s := &stub{dead: map[string]bool{}}
	for _, d := range dead {
		s.dead[d] = true
	}
	return s
}

func (s *stub) setDead(host string, dead bool) {
	s.mu.Lock()
	s.dead[host] = dead
	s.mu.Unlock()
}

func (s *stub) RoundTrip(r *http.Request) (*http.Response, error) {
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

func (s *stub) attempts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

func (s *stub) reset() {
	s.mu.Lock()
	s.calls = nil
	s.mu.Unlock()
}

// seq sends n GET requests to h and returns the member host that answered
// each, or "503" and the like for an error status.
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
// answer names the member.
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

// namedBackend starts a loopback backend that answers with its name and
// records the body length it received.
func namedBackend(t *testing.T, name string) (*httptest.Server, *[]int) {
	t.Helper()
	var mu sync.Mutex
	var got []int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		mu.Lock()
		got = append(got, int(n))
		mu.Unlock()
		w.Header().Set("X-Member", name)
		io.WriteString(w, name)
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

// closedPort returns a loopback URL on which nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// member returns the stats of b's member url.
func member(t *testing.T, b *balancer.Balancer, url string) balancer.MemberStats {
	t.Helper()
	for _, ms := range b.Members() {
		if ms.URL == url {
			return ms
		}
	}
	t.Fatalf("no member %s in %+v", url, b.Members())
	return balancer.MemberStats{}
}
