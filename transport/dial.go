package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// dialFunc opens a stream connection, like [net.Dialer.DialContext].
type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// dialer establishes the connections of one Transport. Every error it
// returns is a *dialError: nothing of any request was written.
type dialer struct {
	dial    dialFunc      // TCP; tests replace it
	timeout time.Duration // ConnectTimeout
	tls     *tls.Config   // base config for https members, never modified
	h2      bool          // offer h2 by ALPN
	// io is Options.Timeout, enforced through read deadlines on HTTP/1.1
	// connections (see deadlineConn); 0 when HTTP/2 is spoken, whose
	// connections carry many requests and keep the timers instead.
	io time.Duration
}

// deadlineConn enforces Options.Timeout on an HTTP/1.1 connection without a
// timer per request: every Write (a request going out) and every Read move
// the read deadline past now + Timeout. So the response must begin within
// Timeout of the request being written, and each read of it must return
// within Timeout of being started. A pooled connection idle for Timeout is
// closed by net/http when its background read times out. After a protocol
// upgrade (101) the deadline is lifted: the connection is the caller's.
//
// Moving a deadline costs far more than reading the clock (a runtime timer
// is changed), and a busy connection reads and writes every few
// milliseconds. So a move sets the deadline slack beyond now + Timeout, and
// calls until slack has passed keep it: each wait is bounded by Timeout,
// late by at most slack (a sixteenth of Timeout, at most 1 s), never early.
//
// A Read that fails because the deadline passed returns an error wrapping
// [ErrTimeout]; it reaches the caller through net/http unchanged.
type deadlineConn struct {
	net.Conn
	timeout time.Duration
	slack   time.Duration
	born    time.Time    // the clock's origin for moved, with a monotonic reading
	moved   atomic.Int64 // when the deadline was last moved, since born; -1: never
	off     atomic.Bool
	mu      sync.Mutex // serialises moves (and lift)
}

// maxSlack caps how late a Timeout may fire.
const maxSlack = time.Second

func newDeadlineConn(conn net.Conn, timeout time.Duration) *deadlineConn {
	c := &deadlineConn{Conn: conn, timeout: timeout, slack: min(timeout/16, maxSlack), born: time.Now()}
	c.moved.Store(-1)
	return c
}

// move sets the read deadline to now + timeout + slack, unless the last
// move was less than slack ago: its deadline is still at least timeout
// away.
func (c *deadlineConn) move() {
	if c.off.Load() {
		return
	}
	since := time.Since(c.born) // monotonic: one clock read
	if last := c.moved.Load(); last >= 0 && since-time.Duration(last) < c.slack {
		return // moved less than slack ago, or later than since by another goroutine
	}
	// The reader and writer goroutines of net/http's connection both move
	// it: one at a time, and never back.
	c.mu.Lock()
	defer c.mu.Unlock()
	if last := c.moved.Load(); c.off.Load() || last >= 0 && since-time.Duration(last) < c.slack {
		return
	}
	c.moved.Store(int64(since))
	c.Conn.SetReadDeadline(c.born.Add(since + c.timeout + c.slack))
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	c.move()
	n, err := c.Conn.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) && !c.off.Load() {
		err = &timeoutError{timeout: c.timeout, err: err}
	}
	return n, err
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	c.move()
	return c.Conn.Write(p)
}

// CloseWrite shuts down the writing side of the connection, when the
// connection it wraps can (TCP, TLS): after a protocol upgrade, a client's
// end of stream reaches the member as one, and the member may go on
// sending.
func (c *deadlineConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return fmt.Errorf("transport: CloseWrite on %T: %w", c.Conn, errors.ErrUnsupported)
}

// lift removes the deadline for good.
func (c *deadlineConn) lift() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off.Store(true)
	c.Conn.SetReadDeadline(time.Time{})
}

// timeoutError is the error of a read that waited Options.Timeout for the
// member. It is a [net.Error] that timed out, as the deadline's own error
// is, and it wraps ErrTimeout.
type timeoutError struct {
	timeout time.Duration
	err     error
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("%v: member sent no data for %v: %v", ErrTimeout, e.timeout, e.err)
}
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }
func (e *timeoutError) Unwrap() []error { return []error{ErrTimeout, e.err} }

// bound wraps conn in a deadlineConn when the dialer enforces Timeout by
// deadlines.
func (d *dialer) bound(conn net.Conn) net.Conn {
	if d.io <= 0 {
		return conn
	}
	return newDeadlineConn(conn, d.io)
}

func newDialer(c config) *dialer {
	nd := &net.Dialer{KeepAlive: -1}
	if c.keepAlive {
		// SO_KEEPALIVE only; negative values leave the probe timing to the
		// operating system, as Apache's keepalive=On does.
		nd.KeepAliveConfig = net.KeepAliveConfig{Enable: true, Idle: -1, Interval: -1, Count: -1}
	}
	d := &dialer{dial: nd.DialContext, timeout: c.connectTimeout, tls: c.tls, h2: c.h2c}
	if !c.h2c {
		d.io = c.timeout
	}
	return d
}

// dialTCP is the http.Transport's DialContext.
func (d *dialer) dialTCP(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	conn, err := d.tcp(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return d.bound(conn), nil
}

func (d *dialer) tcp(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := d.dial(ctx, network, addr)
	if err != nil {
		reason := ReasonConnect
		var dns *net.DNSError
		if errors.As(err, &dns) {
			reason = ReasonResolve
		}
		return nil, &dialError{reason: reason, err: err}
	}
	return conn, nil
}

// dialTLS is the http.Transport's DialTLSContext: TCP plus the TLS
// handshake, both within ConnectTimeout.
func (d *dialer) dialTLS(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	conn, err := d.tcp(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	cfg := d.tls.Clone()
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		cfg.ServerName = host
	}
	if d.h2 {
		cfg.NextProtos = []string{"h2", "http/1.1"}
	} else {
		cfg.NextProtos = []string{"http/1.1"}
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, &dialError{reason: ReasonTLS, err: err}
	}
	if tc.ConnectionState().NegotiatedProtocol == "h2" {
		return tc, nil // HTTP/2: timers, not connection deadlines
	}
	return d.bound(tc), nil
}

// DialContext connects to addr as the Transport connects for requests:
// within Options.ConnectTimeout, with its keepalive setting, without TLS
// (the caller makes the handshake, with Options.TLSClientConfig) and
// without the Timeout deadlines. Health checks use it to reach a member as
// its requests do. Errors are those of net.Dialer.
func (t *Transport) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, t.dialer.timeout)
	defer cancel()
	return t.dialer.dial(ctx, network, addr)
}
