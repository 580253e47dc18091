package balancer_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/proxybalancer/balancer"
)

// A steady GET load over 50 connections while one of three members is
// killed mid-run (listener and open connections) and later restarted on the
// same address. No client sees an error: requests to the dead member fail
// over (refused) or are retried (reset after send); the member goes into
// error state at once and serves again after its retry. Bounded: at most
// 12,000 requests or 90 s (the phases go by request count; the time bound
// only ends a run that hangs, so a loaded machine does not fail it).
func TestChaosKillAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	const (
		conns     = 50
		killAt    = 1000
		restartAt = 2000
		minTotal  = 3000
		maxTotal  = 12000
	)
	var served [3]atomic.Int64
	handler := func(i int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			served[i].Add(1)
			fmt.Fprintf(w, "m%d", i)
		})
	}
	var srvs [3]*httptest.Server
	var ms []balancer.Member
	for i := range srvs {
		srvs[i] = httptest.NewServer(handler(i))
		t.Cleanup(srvs[i].Close)
		ms = append(ms, balancer.Member{URL: srvs[i].URL, Retry: 100 * time.Millisecond})
	}
	b := mustNew(t, balancer.Config{Name: "chaos", Members: ms})
	front := httptest.NewServer(b)
	t.Cleanup(front.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
	t.Cleanup(client.CloseIdleConnections)

	var (
		done, failed atomic.Int64
		servedAfter  atomic.Int64 // by the restarted member
		sawError     atomic.Bool
		phase        sync.Mutex // serialises kill and restart
		killed       bool
		restarted    *http.Server
	)
	deadline := time.Now().Add(90 * time.Second)
	addr := srvs[1].Listener.Addr().String()
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := done.Load()
				if n >= maxTotal || time.Now().After(deadline) || (n >= minTotal && servedAfter.Load() >= 20) {
					return
				}
				res, err := client.Get(front.URL + "/")
				if err == nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
				if err != nil || res.StatusCode != 200 {
					failed.Add(1)
					t.Logf("client error: %v %v", err, res)
				}
				n = done.Add(1)
				if b.Members()[1].Status.Has(balancer.StatusError) {
					sawError.Store(true)
				}
				phase.Lock()
				switch {
				case n >= killAt && !killed:
					killed = true
					srvs[1].Listener.Close()
					srvs[1].CloseClientConnections()
				case n >= restartAt && killed && restarted == nil:
					l, err := net.Listen("tcp", addr)
					if err != nil {
						phase.Unlock()
						t.Errorf("restart on %s: %v", addr, err)
						return
					}
					restarted = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						servedAfter.Add(1)
						io.WriteString(w, "m1")
					})}
					go restarted.Serve(l)
				}
				phase.Unlock()
			}
		}()
	}
	wg.Wait()
	if restarted != nil {
		restarted.Close()
	}
	t.Logf("requests %d, client errors %d; served m0 %d, m1 before kill %d, m1 after restart %d, m2 %d; m1 seen in error state: %v",
		done.Load(), failed.Load(), served[0].Load(), served[1].Load(), servedAfter.Load(), served[2].Load(), sawError.Load())
	if failed.Load() != 0 {
		t.Errorf("%d client-visible errors, want 0", failed.Load())
	}
	if !sawError.Load() {
		t.Errorf("the killed member was never seen in error state")
	}
	if servedAfter.Load() == 0 {
		t.Errorf("the restarted member served nothing")
	}
	if done.Load() < minTotal {
		t.Errorf("only %d requests in the time bound", done.Load())
	}
}
