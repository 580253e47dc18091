package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"
)

// Causes of the attempt's context cancellation. They reach the caller only
// through the classification in fail and Read.
var (
	errPingExpired = errors.New("transport: ping expired")
	errReadExpired = errors.New("transport: response read timed out")
	errAttemptDone = errors.New("transport: attempt done")
)

// ping states
const (
	pingOff      = iota // no ping for this request
	pingIdle            // ping wanted, headers not yet written
	pingWaiting         // headers written, timer running
	pingAnswered        // the member answered in time
	pingExpired         // the timer fired first; the context was canceled
)

// attempt is the state of one RoundTrip: the context the inner transport
// sees, the wrapped request body, the ping timer, the connection slot, and,
// once the response arrived, the response body with its read timer.
type attempt struct {
	t      *Transport
	parent context.Context         // the caller's request context
	cancel context.CancelCauseFunc // only with a ping; nil otherwise
	body   sendBody
	slot   bool // holds one of t.slots

	mu        sync.Mutex // protects ping and pingTimer
	ping      int
	pingTimer *time.Timer

	conn net.Conn // the connection, known for upgrade requests only

	// Response side. resp and readTimer are used by Read only.
	resp      io.ReadCloser
	bound     time.Duration // Timeout per Read; 0 = none
	readTimer *time.Timer
	timedOut  atomic.Bool // readTimer fired
	done      atomic.Bool // finish ran
}

// waitContinue is the Wait100Continue hook: the headers are written, the
// body waits for the member's 100 Continue. It starts the ping timer.
func (a *attempt) waitContinue() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ping != pingIdle {
		return
	}
	a.ping = pingWaiting
	a.pingTimer = time.AfterFunc(a.t.cfg.ping, a.pingFired)
}

// answered is the Got100Continue and GotFirstResponseByte hook.
func (a *attempt) answered() {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch a.ping {
	case pingWaiting:
		a.pingTimer.Stop()
		a.ping = pingAnswered
	case pingIdle:
		a.ping = pingAnswered
	}
}

// pingFired runs when Ping expired: it aborts the attempt unless the
// member answered meanwhile.
func (a *attempt) pingFired() {
	a.mu.Lock()
	if a.ping != pingWaiting {
		a.mu.Unlock()
		return
	}
	a.ping = pingExpired
	a.mu.Unlock()
	a.cancel(errPingExpired)
}

func (a *attempt) pingState() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ping
}

// finish ends the attempt once: it stops the ping timer, cancels the
// attempt's context and frees the slot.
func (a *attempt) finish() {
	if a.done.Swap(true) {
		return
	}
	a.mu.Lock()
	if a.pingTimer != nil {
		a.pingTimer.Stop()
	}
	a.mu.Unlock()
	if a.cancel != nil {
		a.cancel(errAttemptDone)
	}
	if a.slot {
		a.t.slots.release()
	}
}

// fail classifies the error of the inner RoundTrip and ends the attempt.
func (a *attempt) fail(err error) error {
	defer a.finish()

	var reason Reason
	var cause error
	var de *dialError
	switch {
	case a.pingState() == pingExpired:
		reason = ReasonPing
		cause = fmt.Errorf("%w: no answer to Expect: 100-continue within %v", ErrPingTimeout, a.t.cfg.ping)
	case errors.As(err, &de):
		reason, cause = de.reason, de.err
	}
	if reason != 0 && a.body.detach() {
		return &NotSentError{Reason: reason, Err: cause}
	}
	a.body.release()

	switch {
	case reason == ReasonPing:
		// The member answered as the timer fired and the body was read.
		return fmt.Errorf("%w (request body already read): %w", cause, err)
	case reason != 0:
		// net/http retried on a new connection after a pooled one failed
		// with the body read: not certain that nothing was sent.
		return err
	case IsTimeout(err):
		return err // the connection's read deadline passed (timeoutError)
	case a.parent.Err() == nil && isNetTimeout(err):
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return err
}

// respond takes over the response of the inner RoundTrip.
func (a *attempt) respond(req *http.Request, resp *http.Response) *http.Response {
	resp.Request = req
	a.body.release()
	if resp.Body == nil || resp.Body == http.NoBody {
		a.finish()
		return resp
	}
	a.resp = resp.Body
	if resp.StatusCode == http.StatusSwitchingProtocols {
		if dc, ok := a.conn.(*deadlineConn); ok {
			dc.lift()
		}
		if rwc, ok := resp.Body.(io.ReadWriteCloser); ok {
			// The connection now belongs to the caller: no read bound.
			resp.Body = &upgradeBody{attempt: a, w: rwc}
			return resp
		}
	}
	if a.t.dialer.io <= 0 {
		// HTTP/2: a timer bounds each read (HTTP/1.1: the connection's
		// read deadline does).
		a.bound = a.t.cfg.timeout
	}
	resp.Body = a
	return resp
}

// Read reads the response body, failing with an error wrapping ErrTimeout
// if the member sends nothing for Timeout. It ends the attempt at EOF or on
// an error.
func (a *attempt) Read(p []byte) (int, error) {
	if a.bound > 0 {
		if a.readTimer == nil {
			a.readTimer = time.AfterFunc(a.bound, a.readFired)
		} else {
			a.readTimer.Reset(a.bound)
		}
	}
	n, err := a.resp.Read(p)
	if a.readTimer != nil {
		a.readTimer.Stop()
	}
	if err != nil {
		if err != io.EOF && !IsTimeout(err) && (a.timedOut.Load() || a.bound == 0 && a.parent.Err() == nil && isNetTimeout(err)) {
			err = fmt.Errorf("%w: member sent no response data for %v", ErrTimeout, a.t.cfg.timeout)
		}
		a.finish()
	}
	return n, err
}

// gotConn is the GotConn trace hook of upgrade requests.
func (a *attempt) gotConn(info httptrace.GotConnInfo) { a.conn = info.Conn }

// readFired aborts a body read that waited Timeout: by the attempt's
// context when it has one, else by closing the body, which makes net/http
// drop the connection and the blocked Read return.
func (a *attempt) readFired() {
	a.timedOut.Store(true)
	if a.cancel != nil {
		a.cancel(errReadExpired)
		return
	}
	a.resp.Close()
}

// Close closes the response body and ends the attempt.
func (a *attempt) Close() error {
	err := a.resp.Close()
	a.finish()
	return err
}

// upgradeBody is the response body after 101 Switching Protocols: the
// connection, readable and writable, as net/http hands it over.
type upgradeBody struct {
	*attempt
	w io.Writer
}

func (u *upgradeBody) Write(p []byte) (int, error) { return u.w.Write(p) }

// CloseWrite ends the stream towards the member and keeps the other way
// open (a half-close), as the connection net/http hands over does.
func (u *upgradeBody) CloseWrite() error {
	if cw, ok := u.w.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return fmt.Errorf("transport: CloseWrite on %T: %w", u.w, errors.ErrUnsupported)
}
