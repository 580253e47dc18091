package balancer_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/internal/balancertest"
)

// The shared in-process helpers, under the names these tests use.
type stub = balancertest.Stub

var (
	newClock = balancertest.NewClock
	newStub  = balancertest.NewStub
	seq      = balancertest.Seq
	members  = balancertest.Members
	mustNew  = balancertest.MustNew
)

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
var closedPort = balancertest.ClosedURL

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
