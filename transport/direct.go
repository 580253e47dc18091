package transport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// The direct exchange. net/http's Transport hands every request to two
// goroutines of its connection (one writes it, one reads the response) and
// waits for them on channels. Under load those hand-offs cost more CPU than
// everything the balancer does for a request. So the requests that need
// nothing net/http adds beyond writing and reading — plain http, HTTP/1.1,
// no body, a method that may be replayed (GET, HEAD, OPTIONS, TRACE), no
// upgrade, no trace hook but Got1xxResponse — are written and their
// response headers read on the caller's goroutine, over connections of the
// Transport's own pool (see directPool). Their response body is read from
// the connection as the caller reads it. Every other request goes through
// net/http as before.
//
// What net/http does for such a request, the exchange does too:
//   - the bytes written are those of (*http.Request).Write (a plain GET or
//     HEAD is written by writeRequest, byte for byte the same, every other
//     request by Write itself), and the response is parsed as
//     http.ReadResponse parses it (a plain head by readResponse, with the
//     same result, anything else by http.ReadResponse);
//   - 1xx responses other than 101 are passed to Got1xxResponse (the
//     ReverseProxy's) and skipped; response headers are limited to 10 MiB,
//     counted afresh after each 1xx the hook saw;
//   - a connection is reused only after its response body was read to EOF
//     with nothing more buffered, and neither side asked to close it;
//   - a reused connection the member had closed (nothing read back, the
//     connection reset or at EOF) is replaced by a new one and the request
//     written again: it may be replayed (RFC 9110);
//   - the end of the request's context closes the connection, and the
//     exchange returns the context's cause;
//   - the connection's read deadline (Options.Timeout) bounds every wait.
//
// An idle connection is not watched as net/http watches it with a pending
// read. Instead it is checked before reuse without blocking (prober):
// one the member closed, or on which it sent something unasked (a 408
// before closing, the body of a response to HEAD, bytes beyond a
// Content-Length), is closed, not used. While connections are idle, a
// timer sweeps the pool every few seconds (at most maxSweep), closing
// those idle for TTL or Timeout and those the member closed; it stops when
// the pool is empty and with CloseIdleConnections.

// maxResponseHeader bounds the bytes of a response's headers, as
// net/http's default MaxResponseHeaderBytes does.
const maxResponseHeader = 10 << 20

// directPool holds the idle connections of the direct exchange, by
// address, most recently used last. A timer sweeps it while connections
// are idle.
type directPool struct {
	maxIdle time.Duration // TTL if set and shorter, else Timeout

	mu      sync.Mutex
	idle    map[string][]*directConn
	closing bool   // CloseIdleConnections: close freed connections
	closes  uint64 // CloseIdleConnections calls (see sweepKey)
	max     int    // idle connections kept per address, as put was last told
	sweeper *time.Timer
	armed   bool // sweeper will fire
	// swept, if set (by tests), runs in sweepKey after the checks,
	// before the lock is taken again.
	swept func()
}

// directConn is one connection of the direct exchange.
type directConn struct {
	key    string
	conn   net.Conn // as dialed: a *deadlineConn
	lr     limitedConn
	br     *bufio.Reader
	bw     *bufio.Writer
	prober *prober
	reused bool
	idleAt time.Time
}

// limitedConn reads from the connection, at most n bytes while n >= 0 (the
// response headers), and counts what it read.
type limitedConn struct {
	conn net.Conn
	n    int64
	read int64
}

var errHeaderTooLarge = fmt.Errorf("transport: member's response headers exceed %d bytes", maxResponseHeader)

func (l *limitedConn) Read(p []byte) (int, error) {
	if l.n == 0 {
		return 0, errHeaderTooLarge
	}
	if l.n > 0 && int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.conn.Read(p)
	if l.n > 0 {
		l.n -= int64(n)
	}
	l.read += int64(n)
	return n, err
}

// directable reports whether req can take the direct exchange, and
// returns the trace of its context (nil if none) for it. The Transport's
// own conditions (HTTP/1.1 with deadlines, no slots, no body, no upgrade)
// are checked by the caller.
func (t *Transport) directable(req *http.Request) (*httptrace.ClientTrace, bool) {
	if t.noDirect || t.cfg.disableReuse || req.URL == nil || req.URL.Scheme != "http" || req.Header == nil ||
		req.Close || req.ContentLength != 0 || len(req.TransferEncoding) != 0 ||
		req.URL.User != nil || !asciiHost(req.URL.Host) {
		return nil, false
	}
	// net/http still honours the deprecated Cancel channel; the direct
	// exchange does not, so such a request goes to net/http.
	//lint:ignore SA1019 read only to leave the request to net/http
	if req.Cancel != nil {
		return nil, false
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
	default:
		return nil, false
	}
	trace := httptrace.ContextClientTrace(req.Context())
	if trace != nil && !only1xxHook(trace) {
		return nil, false
	}
	// net/http refuses invalid header fields with an error of its own:
	// let it.
	for k, vs := range req.Header {
		if !validFieldName(k) {
			return nil, false
		}
		for _, v := range vs {
			if !validFieldValue(v) {
				return nil, false
			}
		}
	}
	return trace, true
}

// only1xxHook reports whether the trace has no hook but Got1xxResponse.
func only1xxHook(tr *httptrace.ClientTrace) bool {
	return tr.GetConn == nil && tr.GotConn == nil && tr.PutIdleConn == nil &&
		tr.GotFirstResponseByte == nil && tr.Got100Continue == nil &&
		tr.DNSStart == nil && tr.DNSDone == nil && tr.ConnectStart == nil && tr.ConnectDone == nil &&
		tr.TLSHandshakeStart == nil && tr.TLSHandshakeDone == nil &&
		tr.WroteHeaderField == nil && tr.WroteHeaders == nil && tr.Wait100Continue == nil &&
		tr.WroteRequest == nil
}

func asciiHost(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		if h[i] >= 0x80 || h[i] <= ' ' {
			return false
		}
	}
	return true
}

// validFieldName reports whether k is an RFC 9110 token.
func validFieldName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c >= 0x80 || !tokenChar[c] {
			return false
		}
	}
	return true
}

// validFieldValue reports whether v has no control characters but
// horizontal tab.
func validFieldValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

var tokenChar = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// roundTripDirect sends req by the direct exchange; trace is its
// context's, as directable found it.
func (t *Transport) roundTripDirect(req *http.Request, trace *httptrace.ClientTrace) (*http.Response, error) {
	ctx := req.Context()
	if ctx.Err() != nil {
		return nil, context.Cause(ctx) // and no pooled connection spent
	}
	for retried := false; ; retried = true {
		c, err := t.getConn(ctx, req.URL, retried)
		if err != nil {
			if ctx.Err() != nil {
				return nil, context.Cause(ctx)
			}
			return nil, err
		}
		var stop func() bool
		if ctx.Done() != nil {
			stop = context.AfterFunc(ctx, func() { c.conn.Close() })
		}
		res, err := c.exchange(req, trace)
		if err == nil {
			return t.respondDirect(ctx, c, stop, req, res), nil
		}
		if stop != nil {
			stop()
		}
		c.conn.Close()
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		if c.reused && !retried && c.lr.read == 0 && connectionClosed(err) {
			continue // the member closed the idle connection: a new one
		}
		return nil, err
	}
}

// connectionClosed reports whether err says the member closed or reset
// the connection, not that it timed out.
func connectionClosed(err error) bool {
	if IsTimeout(err) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, new(*net.OpError))
}

// exchange writes req and reads the response headers.
func (c *directConn) exchange(req *http.Request, trace *httptrace.ClientTrace) (*http.Response, error) {
	c.lr.read = 0
	if err := writeRequest(c.bw, req); err != nil {
		return nil, err
	}
	if err := c.bw.Flush(); err != nil {
		return nil, err
	}
	c.lr.n = maxResponseHeader
	defer func() { c.lr.n = -1 }()
	for {
		res, err := readResponse(c.br, req)
		switch {
		case err == nil:
		case c.lr.n == 0:
			return nil, errHeaderTooLarge // whatever the cut made of the last line
		case c.lr.read == 0 && err == io.ErrUnexpectedEOF:
			return nil, io.EOF // closed before sending anything, as net/http says
		default:
			return nil, err
		}
		code := res.StatusCode
		if code < 100 || code > 199 {
			return res, nil
		}
		if code == http.StatusSwitchingProtocols {
			return nil, fmt.Errorf("transport: member answered %d to a request that asked for no upgrade", code)
		}
		if trace != nil && trace.Got1xxResponse != nil {
			if err := trace.Got1xxResponse(code, textproto.MIMEHeader(res.Header)); err != nil {
				return nil, err
			}
			// Seen by the hook: it limits them; the headers limit restarts.
			c.lr.n = maxResponseHeader
		}
	}
}

// respondDirect hands over res, whose body is read from c.
func (t *Transport) respondDirect(ctx context.Context, c *directConn, stop func() bool, req *http.Request, res *http.Response) *http.Response {
	res.Request = req
	keep := !res.Close
	if res.Body == nil || res.Body == http.NoBody {
		t.release(c, stop, keep)
		return res
	}
	b := &directBody{t: t, c: c, rc: res.Body, ctx: ctx, stop: stop, keep: keep}
	if res.ContentLength > 0 && len(res.TransferEncoding) == 0 {
		b.length = res.ContentLength
	}
	res.Body = b
	return res
}

// release ends an exchange: c goes back to the pool when keep holds,
// nothing more was received, and the request's context did not end
// meanwhile; otherwise it is closed.
func (t *Transport) release(c *directConn, stop func() bool, keep bool) {
	if stop != nil && !stop() {
		keep = false // the context ended: its AfterFunc closes c
	}
	if !keep || c.br.Buffered() != 0 {
		c.conn.Close()
		return
	}
	t.direct.put(c, t.cfg.smax)
}

// directBody is a response body of the direct exchange.
type directBody struct {
	t    *Transport
	c    *directConn
	rc   io.ReadCloser
	ctx  context.Context
	stop func() bool
	keep bool
	// length is the body's length when the response declared it, else 0.
	length int64
	// started is set by the first Read or SpliceBody (used by them only).
	started bool
	// eof and err are what Read returned last (used by Read only): a
	// Read after the end returns them again.
	eof    bool
	err    error
	done   atomic.Bool // the connection was released or closed
	closed atomic.Bool // Close was called
}

var errReadOnClosedBody = errors.New("http: read on closed response body")

func (b *directBody) Read(p []byte) (int, error) {
	switch {
	case b.closed.Load():
		return 0, errReadOnClosedBody
	case b.eof:
		return 0, io.EOF
	case b.err != nil:
		return 0, b.err
	}
	b.started = true
	n, err := b.rc.Read(p)
	switch {
	case err == nil:
	case err == io.EOF:
		b.eof = true
		if b.done.CompareAndSwap(false, true) {
			b.t.release(b.c, b.stop, b.keep)
		}
	default:
		if b.done.CompareAndSwap(false, true) {
			if b.stop != nil {
				b.stop()
			}
			b.c.conn.Close()
		}
		if b.ctx.Err() != nil {
			err = context.Cause(b.ctx)
		}
		if b.closed.Load() {
			err = errReadOnClosedBody
		}
		b.err = err
	}
	return n, err
}

// Close closes the body. Before EOF it closes the connection rather than
// read the rest of the body.
func (b *directBody) Close() error {
	b.closed.Store(true)
	if b.done.CompareAndSwap(false, true) {
		if b.stop != nil {
			b.stop()
		}
		b.c.conn.Close()
	}
	return nil
}

// getConn returns an idle connection to u's host, or dials one; always a
// new one when fresh is set.
func (t *Transport) getConn(ctx context.Context, u *url.URL, fresh bool) (*directConn, error) {
	key := u.Host
	if fresh {
		t.direct.reopen()
	} else if c := t.direct.get(key); c != nil {
		return c, nil
	}
	addr := key
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	conn, err := t.dialer.dialTCP(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &directConn{key: key, conn: conn, prober: newProber(conn)}
	c.lr = limitedConn{conn: conn, n: -1}
	c.takeBuffers()
	return c, nil
}

// The 32 KiB read and write buffers of a connection are only held while
// it is in use: an idle connection gives them back, so that the pool
// costs a few hundred bytes of Go heap per connection, not 64 KiB.
var (
	readBuffers  = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 32<<10) }}
	writeBuffers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 32<<10) }}
)

// takeBuffers gives c its buffers, for an exchange.
func (c *directConn) takeBuffers() {
	c.br = readBuffers.Get().(*bufio.Reader)
	c.br.Reset(&c.lr)
	c.bw = writeBuffers.Get().(*bufio.Writer)
	c.bw.Reset(c.conn)
}

// dropBuffers gives c's buffers back: it goes idle, with nothing
// buffered either way (see release).
func (c *directConn) dropBuffers() {
	c.br.Reset(nil)
	readBuffers.Put(c.br)
	c.bw.Reset(nil)
	writeBuffers.Put(c.bw)
	c.br, c.bw = nil, nil
}

// get takes the most recently used idle connection to key that is still
// usable, closing those found closed, and those idle too long; nil if
// none.
func (p *directPool) get(key string) *directConn {
	for {
		p.mu.Lock()
		p.closing = false
		l := p.idle[key]
		if len(l) == 0 {
			p.mu.Unlock()
			return nil
		}
		c := l[len(l)-1]
		if time.Since(c.idleAt) >= p.maxIdle {
			// The rest were idle longer still.
			delete(p.idle, key)
			p.mu.Unlock()
			closeAll(l)
			return nil
		}
		l[len(l)-1] = nil
		p.idle[key] = l[:len(l)-1]
		p.mu.Unlock()
		if !c.prober.check() {
			c.conn.Close()
			continue
		}
		c.reused = true
		c.takeBuffers()
		return c
	}
}

// reopen undoes CloseIdleConnections for the connections freed from now
// on: a request is being made.
func (p *directPool) reopen() {
	p.mu.Lock()
	p.closing = false
	p.mu.Unlock()
}

// put makes c idle, unless max connections to its address already are or
// CloseIdleConnections was called since the last request.
func (p *directPool) put(c *directConn, max int) {
	c.dropBuffers()
	c.idleAt = time.Now()
	p.mu.Lock()
	p.max = max
	l := p.idle[c.key]
	if p.closing || len(l) >= max {
		p.mu.Unlock()
		c.conn.Close()
		return
	}
	if p.idle == nil {
		p.idle = make(map[string][]*directConn)
	}
	p.idle[c.key] = append(l, c)
	if p.sweeper == nil {
		p.sweeper = time.AfterFunc(p.sweepEvery(), p.sweep)
	} else if !p.armed {
		p.sweeper.Reset(p.sweepEvery())
	}
	p.armed = true
	p.mu.Unlock()
}

// maxSweep bounds the time between two sweeps.
const maxSweep = 5 * time.Second

func (p *directPool) sweepEvery() time.Duration { return min(p.maxIdle, maxSweep) }

// sweep runs on the pool's timer while connections are idle: it closes
// those idle for maxIdle and those the member closed, so that no
// connection outlives its limits when no request comes to reuse it. It
// stops re-arming when the pool is empty.
func (p *directPool) sweep() {
	p.mu.Lock()
	keys := make([]string, 0, len(p.idle))
	for key := range p.idle {
		keys = append(keys, key)
	}
	p.mu.Unlock()
	for _, key := range keys {
		p.sweepKey(key)
	}
	p.mu.Lock()
	p.armed = len(p.idle) > 0
	if p.armed {
		p.sweeper.Reset(p.sweepEvery())
	}
	p.mu.Unlock()
}

// sweepKey sweeps the idle connections to key. Checking a connection is a
// system call (prober.check), made outside the lock as get makes it: the
// connections are taken out of the pool meanwhile (a request to key dials
// for the few microseconds this takes), and those that pass go back ahead
// of any freed meanwhile, which are more recent, as many as put allows,
// unless CloseIdleConnections was called meanwhile.
func (p *directPool) sweepKey(key string) {
	p.mu.Lock()
	l := p.idle[key]
	delete(p.idle, key)
	swept, closes := p.swept, p.closes
	p.mu.Unlock()
	var dead []*directConn
	kept := l[:0]
	for _, c := range l {
		if time.Since(c.idleAt) >= p.maxIdle || !c.prober.check() {
			dead = append(dead, c)
			continue
		}
		kept = append(kept, c)
	}
	clear(l[len(kept):])
	if swept != nil {
		swept()
	}
	p.mu.Lock()
	switch {
	case p.closing || p.closes != closes:
		// CloseIdleConnections was called meanwhile: these were idle.
		dead = append(dead, kept...)
	case len(kept) > 0:
		kept = append(kept, p.idle[key]...)
		if extra := len(kept) - p.max; extra > 0 {
			// The oldest go: put would have refused the newest, but
			// those are the ones a request takes first.
			dead = append(dead, kept[:extra]...)
			clear(kept[:extra])
			kept = kept[extra:]
		}
		if p.idle == nil {
			p.idle = make(map[string][]*directConn)
		}
		p.idle[key] = kept
	}
	p.mu.Unlock()
	closeAll(dead)
}

// closeIdle closes every idle connection, and those freed until the next
// request (as net/http's CloseIdleConnections).
func (p *directPool) closeIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.closing = true
	p.closes++
	if p.sweeper != nil {
		p.sweeper.Stop()
		p.armed = false
	}
	p.mu.Unlock()
	for _, l := range idle {
		closeAll(l)
	}
}

func closeAll(l []*directConn) {
	for _, c := range l {
		c.conn.Close()
	}
}
