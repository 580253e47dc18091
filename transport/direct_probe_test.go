//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

// Tests of what the check of idle connections before reuse (prober) finds:
// it exists on these systems only.

package transport

import (
	"io"
	"log"
	"net"
	"testing"
	"time"
)

// A connection idle for a second or more that the member closed, after
// sending a response to no request (a 408), is not used: the request goes
// on a new connection and gets its own response.
func TestDirectProbesIdleConnection(t *testing.T) {
	m := newRawMember(t, func(rc *rawConn) {
		if rc.id > 0 {
			serveEach("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh")(rc)
			return
		}
		if !rc.readRequest() || !rc.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst") {
			return
		}
		// Once the client has taken the response, the 408 and the close.
		if !rc.waitGoOn() {
			return
		}
		rc.write("HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		rc.c.Close()
		rc.note("sent")
	})
	tr := newTransport(t, Options{})
	if body, err := dxGet(t, tr, testContext(t), m.url()); err != nil || body != "first" {
		t.Fatalf("first: %q, %v", body, err)
	}
	idle := dxIdle(tr)
	if len(idle) != 1 {
		t.Fatalf("%d idle connections, want 1", len(idle))
	}
	m.proceed()
	m.await(t, "sent") // on loopback, the 408 and the close are queued at the client by now
	if idle[0].prober.check() {
		t.Fatal("the check passed a connection with an unsolicited response")
	}
	dxAge(tr, 2*time.Second)
	body, err := dxGet(t, tr, testContext(t), m.url())
	if err != nil || body != "fresh" {
		t.Fatalf("after the 408: %q, %v; want the new connection's response", body, err)
	}
	if n := len(m.requests()); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// Bytes the member sends after a response (beyond its Content-Length, as
// a HEAD response's body) keep the connection from being reused, however
// briefly it was idle.
func TestDirectUnsolicitedBytesDropConnection(t *testing.T) {
	m := newRawMember(t, func(rc *rawConn) {
		if rc.id > 0 {
			serveEach("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh")(rc)
			return
		}
		if !rc.readRequest() || !rc.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok") {
			return
		}
		// Once the client has taken the response, a response to no
		// request; then the connection stays open.
		if !rc.waitGoOn() || !rc.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale") {
			return
		}
		rc.note("sent")
		rc.drain()
	})
	tr := newTransport(t, Options{})
	if body, err := dxGet(t, tr, testContext(t), m.url()); err != nil || body != "ok" {
		t.Fatalf("first: %q, %v", body, err)
	}
	m.proceed()
	m.await(t, "sent") // on loopback, the bytes are queued at the client by now
	body, err := dxGet(t, tr, testContext(t), m.url())
	if err != nil || body != "fresh" {
		t.Fatalf("second: %q, %v; want the new connection's response", body, err)
	}
	if n := len(m.requests()); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// TestDirectDiffUnsolicitedResponse: the member sends a response nobody
// asked for on an idle connection and then closes it, as some servers do
// with "408 Request Timeout" at their keep-alive timeout, or with a 503
// when they shut down. net/http's background read sees it at once, drops
// the connection (logging unsolicited responses other than 408), and the
// next GET goes to a new connection. The direct exchange finds the bytes
// by probing the idle connection before reuse.
func TestDirectDiffUnsolicitedResponse(t *testing.T) {
	unsolicited := []struct {
		name string
		resp string
	}{
		{"408", "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"},
		{"503", "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"},
	}
	for _, u := range unsolicited {
		t.Run(u.name, func(t *testing.T) {
			if u.name != "408" {
				// net/http logs the unsolicited response with the log
				// package; keep the test's output clean.
				w := log.Writer()
				log.SetOutput(io.Discard)
				t.Cleanup(func() { log.SetOutput(w) })
			}
			script := func(rc *rawConn) {
				if rc.id > 0 {
					serveEach("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond")(rc)
					return
				}
				if !rc.readRequest() || !rc.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst") {
					return
				}
				// Once the client has taken the response, the
				// unsolicited one.
				if !rc.waitGoOn() || !rc.write(u.resp) {
					return
				}
				rc.note("sent")
				// The member would close now; it waits to see whether
				// the client closes the connection (net/http) or sends
				// the next request on it (a request that goes nowhere).
				if !rc.readRequest() {
					rc.note("client closed")
				}
			}
			before := func(t *testing.T, i int, m *rawMember, tr *Transport) {
				if i != 1 {
					return
				}
				m.proceed()
				m.await(t, "sent")
				if tr.noDirect {
					// net/http's background read closes the
					// connection: wait for it, so that the next
					// request cannot race it. (The direct
					// exchange has nothing running in the
					// background; on loopback the bytes are queued
					// at the client once the member wrote them.)
					m.await(t, "client closed")
				}
			}
			direct, std := runDiff(t, diffCase{script: script, n: 2, before: before, wantReqs: []int{1, 1}})
			for _, p := range []struct {
				name string
				r    pathResult
			}{{"direct", direct}, {"net/http", std}} {
				if o := p.r.Outcomes[1]; o.Err.Failed || o.StatusCode != 200 || o.Body != "second" {
					t.Errorf("%s: second GET got status %q body %q err %q; want 200 second from a new connection",
						p.name, o.Status, o.Body, o.Err.Text)
				}
			}
		})
	}
}

// The check of an idle connection does not depend on its read deadline:
// one whose deadline passed while its body was read from the buffer is
// still usable.
func TestProberIgnoresReadDeadline(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	peer, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	defer peer.Close()
	dc := newDeadlineConn(conn, time.Minute)
	p := newProber(dc)
	if p == nil {
		t.Fatal("no prober for a TCP connection")
	}
	conn.SetReadDeadline(time.Unix(1, 0))
	if !p.check() {
		t.Error("a passed read deadline failed the check of a healthy connection")
	}
	io.WriteString(peer, "x")
	// On loopback the byte is queued at conn once Write returned.
	if p.check() {
		t.Error("the check passed a connection with a byte to read")
	}
}
