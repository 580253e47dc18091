package transport

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"time"
)

// Zero-copy response bodies. A proxy copies a response body from the
// member's connection to the client's through a user-space buffer: each
// 32 KiB costs a read and a write and two copies. When the client's
// connection can take bytes straight from a socket (net/http's
// ResponseWriter implements io.ReaderFrom, and on a plain TCP connection
// that moves them with splice(2)), SpliceBody hands it the member's
// socket, limited to what is left of the body: the kernel moves the bytes.
//
// Only a body of the direct exchange with a known length qualifies, not
// yet read from, when enough of it is still in the socket (spliceMin):
// the bytes already read into the connection's buffer go first, by Write.
// Everything the body's Read does is kept:
//   - Options.Timeout bounds each wait for the member, never early and
//     late by at most its slack, as deadlineConn does: the transfer runs
//     in slices of at most that slack, and a slice that moved nothing
//     tells how long the member has been silent (spliceWait);
//   - the end of the request's context closes the connection, and the
//     error is the context's cause;
//   - the connection is reused when the body ended with nothing more
//     received; after any error it is closed;
//   - a body shorter than its length is io.ErrUnexpectedEOF.

// spliceMin is the least number of body bytes still in the member's
// socket (beyond its connection's buffer) for which SpliceBody moves them
// by splice: for less, a read and a write cost less than setting it up.
const spliceMin = 32 << 10

// WriteError is the error SpliceBody returns when writing to its
// destination failed (the client's side), as opposed to reading from the
// member.
type WriteError struct{ Err error }

func (e *WriteError) Error() string { return "transport: writing the response body: " + e.Err.Error() }
func (e *WriteError) Unwrap() error { return e.Err }

// SpliceBody writes the rest of body, a response body from
// [Transport.RoundTrip], to w without copying it through user space, if it
// can: body is a body of the direct exchange (see the package doc) with a
// known length of which nothing was read yet and at least 32 KiB are still
// in the member's socket, the connection is TCP, and w implements
// io.ReaderFrom (net/http's ResponseWriter does; on a plain TCP client
// connection it splices from the member's socket). Otherwise it returns
// handled false, having done nothing: read the body as usual.
//
// When handled is true, n bytes were written to w, and body reads as at
// its end (io.EOF when err is nil, err otherwise); it must still be
// closed. err is nil when the whole body was written. A failure to write
// to w is a *WriteError; any other error is the member's, as Read would
// have returned it (a timeout wrapping ErrTimeout, io.ErrUnexpectedEOF for
// a body cut short, the context's cause when the request's context ended).
//
// SpliceBody must not be called concurrently with the body's Read.
func SpliceBody(w io.Writer, body io.Reader) (n int64, handled bool, err error) {
	b, ok := body.(*directBody)
	if !ok {
		return 0, false, nil
	}
	rf, ok := w.(io.ReaderFrom)
	if !ok {
		return 0, false, nil
	}
	return b.spliceTo(w, rf)
}

// spliceHook, when set by tests, is told the bytes each splice moved from
// the socket (beyond the connection's buffer).
var spliceHook func(n int64)

func (b *directBody) spliceTo(w io.Writer, rf io.ReaderFrom) (int64, bool, error) {
	if b.length <= 0 || b.started || b.closed.Load() || b.done.Load() {
		return 0, false, nil
	}
	tcp, dc := b.c.tcp()
	if tcp == nil {
		return 0, false, nil
	}
	buffered := min(int64(b.c.br.Buffered()), b.length)
	if b.length-buffered < spliceMin {
		return 0, false, nil
	}
	b.started = true
	var n int64
	if buffered > 0 {
		p, _ := b.c.br.Peek(int(buffered))
		m, err := w.Write(p)
		n += int64(m)
		b.c.br.Discard(int(buffered))
		if err != nil {
			return n, true, b.spliceFailed(&WriteError{Err: err})
		}
	}
	m, err := b.c.splice(rf, tcp, dc, b.length-buffered)
	n += m
	if spliceHook != nil {
		spliceHook(m)
	}
	if err != nil {
		return n, true, b.spliceFailed(err)
	}
	b.eof = true
	if b.done.CompareAndSwap(false, true) {
		b.t.release(b.c, b.stop, b.keep)
	}
	return n, true, nil
}

// spliceFailed closes the connection after a failed splice and returns
// the error Read will return from now on.
func (b *directBody) spliceFailed(err error) error {
	if b.done.CompareAndSwap(false, true) {
		if b.stop != nil {
			b.stop()
		}
		b.c.conn.Close()
	}
	var we *WriteError
	if !errors.As(err, &we) && b.ctx.Err() != nil {
		err = context.Cause(b.ctx)
	}
	b.err = err
	return err
}

// tcp returns the connection's TCP socket and its deadlineConn (nil if
// Timeout is not enforced by deadlines), or nil if it is not TCP.
func (c *directConn) tcp() (*net.TCPConn, *deadlineConn) {
	conn := c.conn
	dc, _ := conn.(*deadlineConn)
	if dc != nil {
		conn = dc.Conn
	}
	tcp, _ := conn.(*net.TCPConn)
	if tcp == nil || dc != nil && dc.off.Load() {
		return nil, nil
	}
	return tcp, dc
}

// splice moves the next n bytes of tcp to rf, within Timeout for each
// wait when dc is set.
func (c *directConn) splice(rf io.ReaderFrom, tcp *net.TCPConn, dc *deadlineConn, n int64) (int64, error) {
	lr := &io.LimitedReader{R: tcp, N: n}
	if dc == nil {
		_, err := rf.ReadFrom(lr)
		return n - lr.N, c.spliceError(err, lr.N)
	}
	// The deadline is ours until the connection is used again: then it is
	// moved afresh.
	defer dc.forget()
	wait := spliceWait{timeout: dc.timeout, slack: dc.slack, silent: time.Now()}
	for lr.N > 0 {
		left := lr.N
		deadline := wait.deadline(time.Now())
		tcp.SetReadDeadline(deadline)
		_, err := rf.ReadFrom(lr)
		if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
			return n - lr.N, c.spliceError(err, lr.N)
		}
		now := time.Now()
		if now.Before(deadline) {
			// Not our deadline: the client connection's write deadline.
			return n - lr.N, &WriteError{Err: err}
		}
		if wait.expired(now, lr.N < left) {
			return n - lr.N, &timeoutError{timeout: dc.timeout, err: err}
		}
	}
	return n, nil
}

// spliceError classifies how a splice ended: left bytes were not moved.
// Without an error, the member ended the body early. An error is the
// member's when its connection is at its end or broken, else the client's.
func (c *directConn) spliceError(err error, left int64) error {
	switch {
	case err == nil && left == 0:
		return nil
	case err == nil:
		return io.ErrUnexpectedEOF
	case c.prober.open():
		return &WriteError{Err: err}
	}
	return err
}

// spliceWait bounds the waits of a splice by Timeout without a deadline
// move per read (a splice makes many). Each slice of the transfer gets a
// deadline at most slack away; silent is a time since which the member is
// known to have sent nothing it had not sent before. When a slice moved
// bytes, the member's last byte came before its end (now: the new
// silent) and after its start, at most slack earlier. When it moved
// nothing, the member has been silent since silent at least. So the
// timeout is declared at silent + timeout: never early, and late by at
// most slack.
type spliceWait struct {
	timeout, slack time.Duration
	silent         time.Time
}

// deadline is the deadline of a slice starting at now.
func (w *spliceWait) deadline(now time.Time) time.Time {
	d := now.Add(w.slack)
	if end := w.silent.Add(w.timeout); end.Before(d) {
		return end
	}
	return d
}

// expired is told that a slice hit its deadline at now, having moved bytes
// or not, and reports whether the member has been silent for timeout.
func (w *spliceWait) expired(now time.Time, moved bool) bool {
	if moved {
		w.silent = now
		return false
	}
	return !now.Before(w.silent.Add(w.timeout))
}

// forget makes the next Read or Write move the deadline, whatever a splice
// set it to.
func (c *deadlineConn) forget() {
	c.mu.Lock()
	c.moved.Store(-1)
	c.mu.Unlock()
}
