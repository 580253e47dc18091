package transport

// rawMember: a member scripted at the byte level on a raw listener, for
// tests that need to control exactly what a member reads and writes on
// each connection, and when (the direct exchange's tests and its
// differential tests against net/http).

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawMember is a member scripted at the byte level: every accepted
// connection runs script on a goroutine of its own. It records the request
// heads it read, per connection in accept order. Everything it started ends
// when the test ends. It keeps the exact request bytes, lets scripts and
// the test wait for each other, and serves any listener: a pipeNet inside
// a synctest bubble too.
type rawMember struct {
	l      net.Listener
	script func(*rawConn)
	wg     sync.WaitGroup
	events chan string   // notes of the scripts, for the test to await
	goOn   chan struct{} // the test lets a waiting script go on
	done   chan struct{} // closed at the end of the test

	mu     sync.Mutex
	closed bool
	conns  []net.Conn
	reqs   []int    // requests read, per connection in accept order
	heads  []string // every request head read, in order
}

// newRawMember serves script on a new loopback TCP listener.
func newRawMember(t *testing.T, script func(*rawConn)) *rawMember {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveRaw(t, l, script)
}

// serveRaw serves script on l, which it closes at the end of the test.
func serveRaw(t *testing.T, l net.Listener, script func(*rawConn)) *rawMember {
	m := &rawMember{
		l:      l,
		script: script,
		events: make(chan string, 64),
		goOn:   make(chan struct{}, 64),
		done:   make(chan struct{}),
	}
	m.wg.Go(m.accept)
	t.Cleanup(m.close)
	return m
}

func (m *rawMember) accept() {
	for {
		c, err := m.l.Accept()
		if err != nil {
			return
		}
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			c.Close()
			return
		}
		rc := &rawConn{m: m, id: len(m.conns), c: c, br: bufio.NewReader(c)}
		m.conns = append(m.conns, c)
		m.reqs = append(m.reqs, 0)
		m.mu.Unlock()
		m.wg.Go(func() {
			defer c.Close()
			m.script(rc)
		})
	}
}

func (m *rawMember) close() {
	close(m.done)
	m.l.Close()
	m.mu.Lock()
	m.closed = true
	for _, c := range m.conns {
		c.Close()
	}
	m.mu.Unlock()
	m.wg.Wait()
}

func (m *rawMember) url() string { return "http://" + m.l.Addr().String() }

// requests returns how many requests the member read on each connection it
// accepted, in accept order: its length is the number of accepts.
func (m *rawMember) requests() []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]int{}, m.reqs...)
}

func (m *rawMember) requestHeads() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string{}, m.heads...)
}

// await waits for the next note of a script and fails the test unless it
// is want.
func (m *rawMember) await(t *testing.T, want string) {
	t.Helper()
	timer := time.NewTimer(testBound)
	defer timer.Stop()
	select {
	case got := <-m.events:
		if got != want {
			t.Fatalf("member noted %q, want %q", got, want)
		}
	case <-timer.C:
		t.Fatalf("member did not note %q within %v", want, testBound)
	}
}

// proceed lets a script waiting in waitGoOn go on.
func (m *rawMember) proceed() { m.goOn <- struct{}{} }

// rawConn is one connection of a rawMember, as its script sees it.
type rawConn struct {
	m  *rawMember
	id int // accept order, from 0
	c  net.Conn
	br *bufio.Reader
}

// readRequest reads a request head (the requests compared have no body)
// and records it; false when the client closed the connection or sent
// something else.
func (rc *rawConn) readRequest() bool {
	var head strings.Builder
	for {
		line, err := rc.br.ReadString('\n')
		head.WriteString(line)
		if err != nil {
			return false
		}
		if line == "\r\n" || line == "\n" {
			break
		}
		if head.Len() > 1<<20 {
			return false
		}
	}
	rc.m.mu.Lock()
	rc.m.reqs[rc.id]++
	rc.m.heads = append(rc.m.heads, head.String())
	rc.m.mu.Unlock()
	return true
}

// write writes s; false if the connection failed.
func (rc *rawConn) write(s string) bool {
	_, err := io.WriteString(rc.c, s)
	return err == nil
}

// drain reads requests until the client closes the connection.
func (rc *rawConn) drain() {
	for rc.readRequest() {
	}
}

// note tells the test that the script reached a point.
func (rc *rawConn) note(ev string) {
	select {
	case rc.m.events <- ev:
	case <-rc.m.done:
	}
}

// waitGoOn waits until the test calls proceed; false if the test ended.
func (rc *rawConn) waitGoOn() bool {
	select {
	case <-rc.m.goOn:
		return true
	case <-rc.m.done:
		return false
	}
}

// serveEach answers every request on a connection with resp.
func serveEach(resp string) func(*rawConn) {
	return func(rc *rawConn) {
		for rc.readRequest() {
			if !rc.write(resp) {
				return
			}
		}
	}
}

// serveOnce answers one request with resp and closes the connection.
func serveOnce(resp string) func(*rawConn) {
	return func(rc *rawConn) {
		if rc.readRequest() {
			rc.write(resp)
		}
	}
}
