package healthcheck

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeTarget is a Target that acts like the balancer: a transition sets or
// clears its down flag (C, and E on a pass), and every report is kept.
type fakeTarget struct {
	name string
	u    *url.URL

	mu       sync.Mutex
	chk      Check
	stopped  bool
	disabled bool // D: invisible to the Checker, which checks it anyway
	down     bool
	reports  []Result
}

func newTarget(t testing.TB, rawURL string, chk Check) *fakeTarget {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return &fakeTarget{name: rawURL, u: u, chk: chk}
}

func (f *fakeTarget) Name() string  { return f.name }
func (f *fakeTarget) URL() *url.URL { return f.u }
func (f *fakeTarget) Check() Check  { f.mu.Lock(); defer f.mu.Unlock(); return f.chk }
func (f *fakeTarget) Stopped() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.stopped }
func (f *fakeTarget) Down() bool    { f.mu.Lock(); defer f.mu.Unlock(); return f.down }

func (f *fakeTarget) Report(r Result) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Name != f.name {
		panic(fmt.Sprintf("report for %q sent to %q", r.Name, f.name))
	}
	f.reports = append(f.reports, r)
	if r.Changed {
		f.down = !r.Healthy
	}
}

func (f *fakeTarget) set(fn func(f *fakeTarget)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeTarget) results() []Result {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Result(nil), f.reports...)
}

// targetList is a Targets func whose list can change while Run runs.
type targetList struct {
	mu sync.Mutex
	ts []Target
}

func (l *targetList) get() []Target {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Target(nil), l.ts...)
}

func (l *targetList) set(ts ...*fakeTarget) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ts = l.ts[:0]
	for _, t := range ts {
		l.ts = append(l.ts, t)
	}
}

// pipeNet is an in-memory network for tests inside a synctest bubble: each
// dial returns one end of a net.Pipe whose other end is served by a
// goroutine in the bubble that reads the request and writes the response
// that respond returns for the n-th dial (from 0) to that address.
type pipeNet struct {
	// respond returns the raw response; "" closes without answering and
	// "hang" reads the request and never answers.
	respond func(addr string, n int) string
	// hold, if set, is how long a dial takes (bubble time), or until ctx
	// ends.
	hold time.Duration

	mu        sync.Mutex
	dials     map[string]int
	requests  map[string][]string
	active    int
	maxActive int
}

func (p *pipeNet) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if network != "tcp" {
		return nil, fmt.Errorf("network %q", network)
	}
	p.mu.Lock()
	if p.dials == nil {
		p.dials = make(map[string]int)
		p.requests = make(map[string][]string)
	}
	n := p.dials[addr]
	p.dials[addr]++
	p.active++
	p.maxActive = max(p.maxActive, p.active)
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.active--
		p.mu.Unlock()
	}()

	if p.hold > 0 {
		t := time.NewTimer(p.hold)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	resp := "HTTP/1.0 200 OK\r\n\r\n"
	if p.respond != nil {
		resp = p.respond(addr, n)
	}
	client, server := net.Pipe()
	go p.serve(server, addr, resp)
	return client, nil
}

func (p *pipeNet) serve(conn net.Conn, addr, resp string) {
	defer conn.Close()
	req, err := readRequest(bufio.NewReader(conn))
	p.mu.Lock()
	p.requests[addr] = append(p.requests[addr], req)
	p.mu.Unlock()
	if err != nil {
		return
	}
	switch resp {
	case "":
	case "hang":
		io.Copy(io.Discard, conn) // until the client closes
	default:
		io.WriteString(conn, resp)
	}
}

func (p *pipeNet) dialCount(addr string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dials[addr]
}

func (p *pipeNet) maxConcurrent() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.maxActive
}

// readRequest reads up to and including the blank line that ends a request
// head, and returns what it read.
func readRequest(r *bufio.Reader) (string, error) {
	var b strings.Builder
	for {
		line, err := r.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			return b.String(), err
		}
		if line == "\r\n" {
			return b.String(), nil
		}
	}
}

func status(code int) string {
	return fmt.Sprintf("HTTP/1.0 %d X\r\nContent-Length: 0\r\n\r\n", code)
}

// memConn is a net.Conn that discards what is written and reads a fixed
// response, with no goroutine behind it (for benchmarks).
type memConn struct {
	r bytes.Reader
}

func (c *memConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *memConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *memConn) Close() error                     { return nil }
func (c *memConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *memConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }
