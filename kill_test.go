package balancer_test

import (
	"fmt"
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
	"github.com/proxybalancer/balancer/transport"
)

// killResult is what the clients and the members saw in a kill scenario.
type killResult struct {
	requests, errors int // client requests, non-200 answers
	arrivals         int // requests the members received whole
	resent           int // arrivals beyond the first of an id
	duplicates       int // ids received more than once
	short            int // bodies that arrived not whole
}

// sendWave sends n requests at once through front, ids prefix-0..n-1, and
// returns a channel of their statuses (0 for a transport error).
func sendWave(client *http.Client, front, method, prefix string, n int) <-chan int {
	out := make(chan int, n)
	for i := range n {
		go func() {
			var body io.Reader
			if method != http.MethodGet {
				body = strings.NewReader(strings.Repeat("b", 1024))
			}
			req, _ := http.NewRequest(method, front+"/", body)
			req.Header.Set("X-Request-Id", fmt.Sprintf("%s-%d", prefix, i))
			if method == http.MethodPut {
				req.Header.Set("Idempotency-Key", req.Header.Get("X-Request-Id"))
			}
			res, err := client.Do(req)
			if err != nil {
				out <- 0
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			out <- res.StatusCode
		}()
	}
	return out
}

// runKill runs the scenario: three member processes that hold requests;
// a wave of 30 requests spreads over them (10 each, byrequests); once all
// 30 arrived, member 0 is SIGKILLed with its 10 in flight. The others go on
// holding theirs until the killed member's requests were re-sent to them
// (or, for POST, failed), so that a third of the requests in flight were on
// the killed member when it died; then they answer. A second wave of 30
// finds member 0 dead (refused, failed over before sending).
func runKill(t *testing.T, method string, disableReuse bool, replay int, resend bool) killResult {
	const wave = 30
	procs := []*memberProc{startMemberProc(t, "hold"), startMemberProc(t, "hold"), startMemberProc(t, "hold")}
	var ms []balancer.Member
	for _, p := range procs {
		ms = append(ms, balancer.Member{URL: p.URL, Connection: transport.Options{DisableReuse: disableReuse}})
	}
	obs := &balancer.Observer{Done: func(e balancer.DoneEvent) {
		if e.Status != http.StatusOK {
			t.Logf("%d after %d attempts, last %s: %v", e.Status, e.Attempts, e.Member, e.Err)
		}
	}}
	b := mustNew(t, balancer.Config{Name: "kill", Members: ms, ReplayBuffer: replay, Observer: obs})
	front := httptest.NewServer(b)
	t.Cleanup(front.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: wave, MaxConnsPerHost: wave}}
	t.Cleanup(client.CloseIdleConnections)

	first := sendWave(client, front.URL, method, "w1", wave)
	waitReceived(t, wave, procs...)
	n0, _ := procs[0].received()
	require.Equal(t, wave/3, n0, "member 0's share of the requests in flight")
	procs[0].kill()
	var r killResult
	got := 0
	if !resend {
		// The requests on the killed member fail; the others are still
		// held.
		deadline := time.After(30 * time.Second)
		for r.errors < wave/3 {
			select {
			case code := <-first:
				got++
				if code != http.StatusOK {
					r.errors++
				}
			case <-deadline:
				t.Fatalf("%d POSTs failed, waited for %d", r.errors, wave/3)
			}
		}
	} else {
		// The idempotent requests on the killed member were re-sent to
		// the others, which still hold theirs.
		waitReceived(t, wave, procs[1], procs[2]) // 20 held + 10 re-sent
	}
	procs[1].release()
	procs[2].release()
	for ; got < wave; got++ {
		if code := <-first; code != http.StatusOK {
			r.errors++
		}
	}
	second := sendWave(client, front.URL, method, "w2", wave)
	for range wave {
		if code := <-second; code != http.StatusOK {
			r.errors++
		}
	}
	r.requests = 2 * wave
	// Every answer came from a member still running; their reports of
	// what arrived may lag behind the answers.
	waitReceived(t, r.requests-r.errors, procs[1], procs[2])
	seen := map[string]int{}
	for _, p := range procs {
		n, ids := p.received()
		r.arrivals += n
		p.mu.Lock()
		r.short += p.short
		p.mu.Unlock()
		for id, c := range ids {
			seen[id] += c
		}
	}
	for _, c := range seen {
		if c > 1 {
			r.duplicates++
			r.resent += c - 1
		}
	}
	return r
}

// One member of three SIGKILLed with a third of the requests in flight on
// it: idempotent requests (GET, and PUT with an Idempotency-Key and a body
// from a real http.Server, kept by the replay buffer) see no error, with
// and without connection reuse; a POST is never sent twice (the ones in
// flight on the killed member get 502), counted by request id at the
// members.
func TestKillMemberInFlight(t *testing.T) {
	if testing.Short() {
		t.Skip("starts member processes")
	}
	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodPost} {
		for _, reuse := range []bool{true, false} {
			name := fmt.Sprintf("%s/reuse=%v", method, reuse)
			t.Run(name, func(t *testing.T) {
				r := runKill(t, method, !reuse, 0, method != http.MethodPost)
				t.Logf("%s: %d client requests, %d client errors, %d arrivals at members, %d re-sent, %d ids received twice, %d bodies not whole",
					name, r.requests, r.errors, r.arrivals, r.resent, r.duplicates, r.short)
				assert.Zero(t, r.short, "bodies that arrived not whole")
				if method == http.MethodPost {
					assert.Zero(t, r.duplicates, "POSTs received twice")
					assert.Equal(t, 10, r.errors, "POSTs in flight on the killed member get 502, the others succeed")
					return
				}
				assert.Zero(t, r.errors, "client-visible errors")
				assert.Equal(t, 10, r.resent, "the requests in flight on the killed member are re-sent once")
			})
		}
	}
}

// Without the replay buffer a PUT's body from the http.Server cannot be
// given again: the PUTs in flight on the killed member get 502 and none is
// sent twice. With a buffer smaller than the body, the same.
func TestKillMemberNoReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("starts member processes")
	}
	for _, replay := range []int{-1, 1000} {
		t.Run(fmt.Sprint("replay=", replay), func(t *testing.T) {
			r := runKill(t, http.MethodPut, false, replay, false)
			t.Logf("PUT, ReplayBuffer %d (body 1024 bytes): %d client requests, %d client errors, %d arrivals, %d re-sent",
				replay, r.requests, r.errors, r.arrivals, r.resent)
			assert.Equal(t, 10, r.errors)
			assert.Zero(t, r.duplicates)
		})
	}
}

// Every member resets every connection after reading the request: the
// retries after send stay within the budget, so the members see at most
// 1 + 0.4/0.6 attempts per client request (plus the minimum of 3 in
// flight), not the 3 that MaxAttempts would allow.
func TestFleetFailingNotAmplified(t *testing.T) {
	if testing.Short() {
		t.Skip("starts member processes")
	}
	const (
		clients  = 30
		requests = 600
	)
	procs := []*memberProc{startMemberProc(t, "reset"), startMemberProc(t, "reset"), startMemberProc(t, "reset")}
	var ms []balancer.Member
	for _, p := range procs {
		ms = append(ms, balancer.Member{URL: p.URL})
	}
	b := mustNew(t, balancer.Config{Name: "fleet", Members: ms})
	front := httptest.NewServer(b)
	t.Cleanup(front.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	t.Cleanup(client.CloseIdleConnections)

	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	next := make(chan int, requests)
	for i := range requests {
		next <- i
	}
	close(next)
	for range clients {
		wg.Go(func() {
			for i := range next {
				req, _ := http.NewRequest(http.MethodGet, front.URL+"/", nil)
				req.Header.Set("X-Request-Id", fmt.Sprint(i))
				code := 0
				if res, err := client.Do(req); err == nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					code = res.StatusCode
				}
				mu.Lock()
				codes[code]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	waitReceived(t, requests, procs...)
	arrivals := 0
	for _, p := range procs {
		n, _ := p.received()
		arrivals += n
	}
	ratio := float64(arrivals) / requests
	t.Logf("%d client requests (%d at once), answers %v, %d attempts at members: %.2f per request (MaxAttempts would allow 3)",
		requests, clients, codes, arrivals, ratio)
	assert.Equal(t, requests, codes[http.StatusBadGateway], "every request fails with 502")
	assert.LessOrEqual(t, ratio, 1+0.4/0.6+3.0/clients, "attempts per client request")
}
