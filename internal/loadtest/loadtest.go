// Package loadtest sends requests from many goroutines at once and counts
// what failed, for the tests that claim "0 failed requests under load",
// and runs members that count what they serve.
package loadtest

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
)

// Load is n goroutines sending GET requests to one URL until Stop.
type Load struct {
	OK, Failed atomic.Int64

	t    testing.TB
	tick chan struct{}
	stop func()
}

// Start starts n clients, each with its own connection, sending GET
// requests to target in a loop.
func Start(t testing.TB, target string, n int) *Load {
	tr := &http.Transport{MaxIdleConnsPerHost: n}
	client := &http.Client{Transport: tr}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Load{t: t, tick: make(chan struct{}, 1)}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for ctx.Err() == nil {
				l.one(ctx, client, target)
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

func (l *Load) one(ctx context.Context, client *http.Client, target string) {
	req, err := http.NewRequestWithContext(ctx, "GET", target, nil)
	if err != nil {
		panic(err)
	}
	resp, err := client.Do(req)
	if ctx.Err() != nil {
		if err == nil {
			resp.Body.Close()
		}
		return // stopped: not counted
	}
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
	}
	if err != nil {
		if l.Failed.Add(1) <= 10 {
			l.t.Logf("loadtest: request failed: %v", err)
		}
	} else {
		l.OK.Add(1)
	}
	select {
	case l.tick <- struct{}{}:
	default:
	}
}

// Await returns once n more requests have succeeded.
func (l *Load) Await(n int64) {
	target := l.OK.Load() + n
	for l.OK.Load() < target {
		<-l.tick
	}
}

// Stop stops the clients and waits for them.
func (l *Load) Stop() { l.stop() }

// Member is an HTTP member that counts its requests and answers 200.
type Member struct {
	Srv  *httptest.Server
	Port string
	Hits atomic.Int64
}

// StartMember starts a member on a free loopback port, closed when the
// test ends.
func StartMember(t testing.TB) *Member {
	m := &Member{}
	m.Srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.Hits.Add(1)
		_, _ = io.WriteString(w, "ok")
	}))
	u, err := url.Parse(m.Srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	m.Port = u.Port()
	t.Cleanup(m.Srv.Close)
	return m
}
