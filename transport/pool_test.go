package transport

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestConnectionReuse(t *testing.T) {
	const n = 5
	tests := []struct {
		name      string
		give      Options
		wantConns int64
	}{
		{"reused by default", Options{}, 1},
		{"disablereuse", Options{DisableReuse: true}, n},
		{"h2c reused", Options{H2C: true}, 1},
		{"h2c disablereuse", Options{H2C: true, DisableReuse: true}, n},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := startBackend(t, okHandler, func(s *httptest.Server) {
				s.Config.Protocols = h2cServerProtocols()
			})
			tr := newTransport(t, tt.give)
			for range n {
				if got := get(t, tr, b.URL); got != "ok" {
					t.Fatalf("body %q, want ok", got)
				}
			}
			if got := b.conns.Load(); got != tt.wantConns {
				t.Errorf("%d sequential requests used %d connections, want %d", n, got, tt.wantConns)
			}
		})
	}
}

// TestSMax runs two waves of concurrent requests. Each wave holds all its
// connections at once; between waves SMax of them stay idle, so the second
// wave dials only the difference.
func TestSMax(t *testing.T) {
	const wave = 5
	tests := []struct {
		name      string
		give      Options
		wantConns int64
	}{
		{"default keeps all", Options{}, wave},
		{"smax 2", Options{SMax: 2}, wave + wave - 2},
		{"smax 0 with max keeps max", Options{Max: wave}, wave},
		{"smax 1 below max", Options{Max: wave, SMax: 1}, wave + wave - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var g *gate
			b := newBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				cur := g
				mu.Unlock()
				cur.wait(r)
				io.WriteString(w, "ok")
			}))
			tr := newTransport(t, tt.give)
			for range 2 {
				mu.Lock()
				g = newGate(t)
				mu.Unlock()
				var wg sync.WaitGroup
				for range wave {
					wg.Go(func() { get(t, tr, b.URL) })
				}
				g.awaitArrivals(t, wave)
				g.release()
				wg.Wait()
			}
			if got := b.conns.Load(); got != tt.wantConns {
				t.Errorf("two waves of %d used %d connections, want %d", wave, got, tt.wantConns)
			}
		})
	}
}

// TestTTL runs in a synctest bubble on an in-memory network, so the idle
// lifetime passes on the fake clock.
func TestTTL(t *testing.T) {
	tests := []struct {
		name      string
		ttl       time.Duration
		idle      time.Duration
		wantDials int64
	}{
		{"younger than ttl is reused", 10 * time.Second, 9 * time.Second, 1},
		{"older than ttl is not reused", 10 * time.Second, 11 * time.Second, 2},
		// Without a ttl an idle connection lives until its read deadline:
		// Timeout (60 s by default) without traffic.
		{"no ttl keeps idle connections within Timeout", 0, 59 * time.Second, 1},
		{"an idle connection ends after Timeout", 0, 61 * time.Second, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := newTransport(t, Options{TTL: tt.ttl})
				n := pipeServer(t, tr, okHandler)
				get(t, tr, "http://member.test/")
				time.Sleep(tt.idle)
				get(t, tr, "http://member.test/")
				if got := n.dials.Load(); got != tt.wantDials {
					t.Errorf("after %v idle with ttl %v: %d connections, want %d", tt.idle, tt.ttl, got, tt.wantDials)
				}
			})
		})
	}
}

// TestMaxAcquire: a slow request holds the only slot; a second request
// gives up after Acquire with a NotSentError and an untouched body; once
// the slot is free the next request reuses the one connection.
func TestMaxAcquire(t *testing.T) {
	g := newGate(t)
	b := newBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			g.wait(r)
		}
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	}))
	tr := newTransport(t, Options{Max: 1, Acquire: 20 * time.Millisecond})

	slow := make(chan string, 1)
	go func() {
		resp, err := tr.RoundTrip(newRequest(t, http.MethodGet, b.URL+"/slow", nil))
		if err != nil {
			slow <- err.Error()
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		slow <- string(body)
	}()
	g.awaitArrivals(t, 1)

	body := newTrackBody(strings.NewReader("payload"))
	_, err := tr.RoundTrip(postRequest(t, b.URL, body, 7))
	if got := notSentReason(t, err); got != ReasonAcquire {
		t.Errorf("Reason = %v, want acquire", got)
	}
	if !errors.Is(err, ErrAcquireTimeout) {
		t.Errorf("err = %v, want it to wrap ErrAcquireTimeout", err)
	}
	if IsTimeout(err) {
		t.Errorf("IsTimeout(%v) = true, want false", err)
	}
	body.untouched(t)

	g.release()
	if got := <-slow; got != "ok" {
		t.Fatalf("slow request: %s", got)
	}
	if got := get(t, tr, b.URL); got != "ok" {
		t.Fatalf("body %q, want ok", got)
	}
	if got := b.conns.Load(); got != 1 {
		t.Errorf("connections = %d, want 1 (max 1)", got)
	}
}

// TestMaxWithoutAcquireWaitsForContext: with Acquire zero a request waits
// for a slot until its own context ends; that is not a NotSentError.
func TestMaxWithoutAcquireWaitsForContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newTransport(t, Options{Max: 1, Timeout: 2 * time.Hour})
		release := make(chan struct{})
		pipeServer(t, tr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				<-release
			}
			io.WriteString(w, "ok")
		}))
		done := make(chan struct{})
		go func() {
			defer close(done)
			// Not get: its testBound would expire on the fake clock.
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://member.test/slow", nil)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Errorf("slow request: %v", err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
		synctest.Wait()

		ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://member.test/", nil)
		body := newTrackBody(strings.NewReader("x"))
		req.Body, req.ContentLength = body, 1
		start := time.Now()
		_, err := tr.RoundTrip(req)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want context.DeadlineExceeded", err)
		}
		if waited := time.Since(start); waited != time.Hour {
			t.Errorf("waited %v for a slot, want the context's hour", waited)
		}
		if NotSent(err) || IsTimeout(err) {
			t.Errorf("NotSent, IsTimeout = %v, %v; want false, false", NotSent(err), IsTimeout(err))
		}
		if !body.isClosed() {
			t.Error("request body not closed after a non-NotSent error")
		}
		close(release)
		<-done
	})
}
