package discovery

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/proxybalancer/balancer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// loadClients sends GET requests from n goroutines until stop is called,
// counting what succeeded and what failed.
type loadClients struct {
	ok, failed atomic.Int64
	tick       chan struct{}
	stop       func()
}

func startLoad(t *testing.T, target string, n int) *loadClients {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: n}
	client := &http.Client{Transport: tr}
	ctx, cancel := context.WithCancel(context.Background())
	l := &loadClients{tick: make(chan struct{}, 1)}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, "GET", target, nil)
				resp, err := client.Do(req)
				if ctx.Err() != nil {
					if err == nil {
						resp.Body.Close()
					}
					return
				}
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					l.failed.Add(1)
					t.Logf("request failed: %v", err)
				} else {
					l.ok.Add(1)
				}
				select {
				case l.tick <- struct{}{}:
				default:
				}
			}
		})
	}
	l.stop = func() {
		cancel()
		wg.Wait()
		tr.CloseIdleConnections()
	}
	return l
}

// await returns once n more requests have succeeded.
func (l *loadClients) await(n int64) {
	target := l.ok.Load() + n
	for l.ok.Load() < target {
		<-l.tick
	}
}

// backend is a member that counts its requests.
type backend struct {
	srv  *httptest.Server
	port string
	hits atomic.Int64
}

func startBackend(t *testing.T) *backend {
	b := &backend{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		_, _ = io.WriteString(w, "ok")
	}))
	u, err := url.Parse(b.srv.URL)
	require.NoError(t, err)
	b.port = u.Port()
	t.Cleanup(b.srv.Close)
	return b
}

// TestDNSMemberChangesUnderLoad changes the SRV answer while 50 clients send
// requests through the balancer: members are added, removed (and then shut
// down, as a scaled-in instance is) and replaced. No request may fail, and
// a member that stays keeps its counters.
func TestDNSMemberChangesUnderLoad(t *testing.T) {
	const clients = 50
	srv := startDNS(t)
	var backends []*backend
	for range 6 {
		backends = append(backends, startBackend(t))
	}
	records := func(idx ...int) []string {
		var rrs []string
		for _, i := range idx {
			rrs = append(rrs,
				fmt.Sprintf("_http._tcp.load.test. 5 IN SRV 0 1 %s n%d.load.test.", backends[i].port, i),
				fmt.Sprintf("n%d.load.test. 5 IN A 127.0.0.1", i))
		}
		return rrs
	}
	b, err := balancer.New(balancer.Config{Name: "load", Members: []balancer.Member{{URL: backends[0].srv.URL}}})
	require.NoError(t, err)
	d := &DNS{Members: &MemberSet{Balancer: b}, SRV: "_http._tcp.load.test.", ResolveTargets: true, Resolver: srv.resolver()}
	front := httptest.NewServer(b)
	defer front.Close()

	load := startLoad(t, front.URL, clients)
	load.await(500)

	steps := []struct {
		members []int
		gone    []int // shut down after the change
	}{
		{members: []int{0, 1}},
		{members: []int{0, 1, 2}},
		{members: []int{1, 2}, gone: []int{0}},
		{members: []int{1, 2, 3, 4}},
		{members: []int{3, 4, 5}, gone: []int{1, 2}},
		{members: []int{5}, gone: []int{3, 4}},
	}
	elected := map[string]int64{}
	for _, step := range steps {
		srv.set(t, records(step.members...)...)
		res := d.Refresh(context.Background())
		require.NoError(t, res.Err)
		t.Logf("added %v removed %v", res.Diff.Added, res.Diff.Removed)
		// Members that stayed kept their counters.
		for _, m := range b.Members() {
			assert.GreaterOrEqual(t, m.Elected, elected[m.URL], "%s lost its counters", m.URL)
			elected[m.URL] = m.Elected
		}
		for _, i := range step.gone {
			backends[i].srv.Close() // waits for the requests it has
		}
		load.await(1000)
		for _, i := range step.members {
			assert.Positive(t, backends[i].hits.Load(), "member %d got no request", i)
		}
	}
	load.stop()
	t.Logf("%d clients: %d requests succeeded, %d failed, over %d member list changes", clients, load.ok.Load(), load.failed.Load(), len(steps))
	assert.Zero(t, load.failed.Load())
}
