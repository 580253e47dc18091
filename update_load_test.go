package balancer_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/proxybalancer/balancer"
)

// countingBackend starts a loopback backend that answers with its name and
// counts its requests.
func countingBackend(t *testing.T, name string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		io.WriteString(w, name)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// The member list is swapped 200 times while 20 clients send 2,000
// requests over loopback to real backends: no request fails, and the
// members that stay keep their counters (elected only grows, and in the
// end equals what their backends served).
func TestUpdateUnderLoad(t *testing.T) {
	const (
		requests = 2000
		clients  = 20
		updates  = 200
	)
	a, hitsA := countingBackend(t, "a")
	bb, hitsB := countingBackend(t, "b")
	c, hitsC := countingBackend(t, "c")
	d, hitsD := countingBackend(t, "d")
	stay := func(lf float64) []balancer.Member {
		return []balancer.Member{{URL: a.URL, Route: "a", LoadFactor: lf}, {URL: bb.URL, Route: "b"}}
	}
	b := mustNew(t, balancer.Config{Name: "load", Members: append(stay(1), balancer.Member{URL: c.URL})})
	front := httptest.NewServer(b)
	t.Cleanup(front.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// Clients tick the updater every requests/updates requests, so that
	// updates and requests interleave over the whole run.
	tick := make(chan struct{}, updates+1)
	var sent, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			client := front.Client()
			for {
				n := sent.Add(1)
				if n > requests || ctx.Err() != nil {
					return
				}
				if n%(requests/updates) == 0 {
					tick <- struct{}{}
				}
				req, _ := http.NewRequestWithContext(ctx, "GET", front.URL+"/x", nil)
				res, err := client.Do(req)
				if err == nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != 200 {
						err = fmt.Errorf("status %d", res.StatusCode)
					}
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		})
	}
	updErr := make(chan error, 1)
	go func() {
		defer close(updErr)
		var lastA, lastB int64
		for i := range updates {
			select {
			case <-tick:
			case <-ctx.Done():
				updErr <- ctx.Err()
				return
			}
			ms := stay(float64(1 + i%3)) // a's factor changes too
			switch i % 3 {
			case 0:
				ms = append(ms, balancer.Member{URL: d.URL})
			case 1:
				ms = append(ms, balancer.Member{URL: c.URL}, balancer.Member{URL: d.URL})
			}
			if err := b.Update(ms); err != nil {
				updErr <- err
				return
			}
			ea, eb := electedOf(b, a.URL), electedOf(b, bb.URL)
			if ea < lastA || eb < lastB {
				updErr <- fmt.Errorf("update %d: elected went down: a %d→%d, b %d→%d", i, lastA, ea, lastB, eb)
				return
			}
			lastA, lastB = ea, eb
		}
	}()
	wg.Wait()
	for err := range updErr {
		t.Fatal(err)
	}
	if n := failed.Load(); n != 0 {
		t.Fatalf("%d of %d requests failed; first: %v", n, requests, firstErr.Load())
	}
	served := hitsA.Load() + hitsB.Load() + hitsC.Load() + hitsD.Load()
	if served != requests {
		t.Errorf("backends served %d requests; want %d", served, requests)
	}
	if ea := member(t, b, a.URL).Elected; ea != hitsA.Load() {
		t.Errorf("a: elected %d, served %d: counters were lost on update", ea, hitsA.Load())
	}
	if eb := member(t, b, bb.URL).Elected; eb != hitsB.Load() {
		t.Errorf("b: elected %d, served %d: counters were lost on update", eb, hitsB.Load())
	}
	if hitsC.Load() == 0 || hitsD.Load() == 0 {
		t.Errorf("members that came and went served nothing: c %d, d %d", hitsC.Load(), hitsD.Load())
	}
}

// A member removed while it serves a request finishes that request; the
// next request goes to the new list.
func TestUpdateRemovedMemberFinishesInFlight(t *testing.T) {
	arrived := make(chan struct{})
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
		io.WriteString(w, "slow")
	}))
	t.Cleanup(slow.Close)
	fast, _ := countingBackend(t, "fast")
	b := mustNew(t, balancer.Config{Name: "x", Members: []balancer.Member{{URL: slow.URL}}})
	front := httptest.NewServer(b)
	t.Cleanup(front.Close)

	type answer struct {
		body string
		code int
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		res, err := front.Client().Get(front.URL + "/x")
		if err != nil {
			got <- answer{err: err}
			return
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		got <- answer{string(body), res.StatusCode, err}
	}()
	<-arrived
	if err := b.Update([]balancer.Member{{URL: fast.URL}}); err != nil {
		close(release)
		t.Fatal(err)
	}
	close(release)
	if ans := <-got; ans.err != nil || ans.code != 200 || ans.body != "slow" {
		t.Fatalf("in-flight request on the removed member: %+v", ans)
	}
	res, err := front.Client().Get(front.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "fast" {
		t.Errorf("next request went to %q", body)
	}
}

// electedOf returns a member's elected counter, or -1 when it is not a
// member; safe to call from any goroutine.
func electedOf(b *balancer.Balancer, url string) int64 {
	for _, ms := range b.Members() {
		if ms.URL == url {
			return ms.Elected
		}
	}
	return -1
}
