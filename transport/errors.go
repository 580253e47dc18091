package transport

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
)

var (
	// ErrAcquireTimeout is wrapped by the [*NotSentError] returned when Max
	// requests stayed in flight for longer than Options.Acquire.
	ErrAcquireTimeout = errors.New("transport: acquire timeout")

	// ErrPingTimeout is wrapped by the error returned when the member did
	// not answer "Expect: 100-continue" within Options.Ping.
	ErrPingTimeout = errors.New("transport: ping timeout")

	// ErrTimeout is wrapped by the errors of a member that took longer than
	// Options.Timeout after the request was written: while the response
	// headers were awaited (returned by RoundTrip), or during a read of the
	// response body (returned by Read). Test with [IsTimeout].
	ErrTimeout = errors.New("transport: timeout")
)

// Reason says why an attempt sent nothing to the member.
type Reason uint8

const (
	// ReasonConnect: the TCP connection could not be established
	// (refused, unreachable, ConnectTimeout expired).
	ReasonConnect Reason = iota + 1
	// ReasonResolve: the member's host name could not be resolved. Apache
	// answers this with 500 and does not fail over.
	ReasonResolve
	// ReasonTLS: the TLS handshake with an https member failed.
	ReasonTLS
	// ReasonAcquire: Max requests were in flight for longer than Acquire.
	ReasonAcquire
	// ReasonPing: the member did not answer "Expect: 100-continue" within
	// Ping. The request headers reached the member; the body did not.
	ReasonPing
)

// String returns the lower-case name of r ("connect", "resolve", "tls",
// "acquire", "ping").
func (r Reason) String() string {
	switch r {
	case ReasonConnect:
		return "connect"
	case ReasonResolve:
		return "resolve"
	case ReasonTLS:
		return "tls"
	case ReasonAcquire:
		return "acquire"
	case ReasonPing:
		return "ping"
	}
	return "Reason(" + strconv.Itoa(int(r)) + ")"
}

// NotSentError is returned by [Transport.RoundTrip] when the attempt failed
// before the member was given the request, so it can be sent to another
// member. When RoundTrip returns a NotSentError the request body has been
// neither read nor closed: the caller owns it again and must either send it
// elsewhere or close it.
//
// "Given the request" means: no byte of the request was written to the
// member, except with ReasonPing, where the headers were written but the
// member was never told to continue and the body was not sent. One case
// belongs to net/http: a request that may be replayed under RFC 9110
// (GET, HEAD, OPTIONS or TRACE, or with an Idempotency-Key header, and
// without a body or with GetBody) that met a pooled connection the member
// had already closed is retried by net/http on a new connection; if that
// dial fails the result is a NotSentError although the first try may have
// been written to the dead connection.
type NotSentError struct {
	// Reason is why nothing was sent.
	Reason Reason
	// Err is the underlying error: a net error for ReasonConnect and
	// ReasonResolve, a tls or net error for ReasonTLS, an error wrapping
	// ErrAcquireTimeout or ErrPingTimeout for ReasonAcquire and ReasonPing.
	Err error
}

// Error returns "transport: request not sent (reason): underlying error".
func (e *NotSentError) Error() string {
	msg := "<nil>"
	if e.Err != nil {
		msg = strings.TrimPrefix(e.Err.Error(), "transport: ")
	}
	return "transport: request not sent (" + e.Reason.String() + "): " + msg
}

// Unwrap returns e.Err.
func (e *NotSentError) Unwrap() error { return e.Err }

// NotSent reports whether err is, or wraps, a [*NotSentError]: the attempt
// failed before the member was given the request. It is false for nil, for
// errors after the request was written (a reset while waiting for the
// response, a response header timeout) and for the end of the request's own
// context.
func NotSent(err error) bool {
	var ns *NotSentError
	return errors.As(err, &ns)
}

// IsTimeout reports whether err wraps [ErrTimeout]: the member took longer
// than Options.Timeout after the request was written. It is false for
// connect, acquire and ping timeouts (those are [NotSent]) and for the end
// of the request's own context. Apache's failontimeout counts only the
// first case of ErrTimeout, an error of RoundTrip.
func IsTimeout(err error) bool {
	return errors.Is(err, ErrTimeout)
}

// dialError marks an error of establishing a connection. The Transport's
// dial functions return it, and RoundTrip turns it into a NotSentError.
type dialError struct {
	reason Reason
	err    error
}

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// isNetTimeout reports whether err is a net.Error that timed out.
func isNetTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// ConnectionLost reports whether err says the connection to the member was
// lost after the request was handed to it and before a response came back,
// whichever way the loss showed: a reset (ECONNRESET), the member closing
// (io.EOF, io.ErrUnexpectedEOF, net/http's "server closed idle
// connection"), a connection closed under the request ([net.ErrClosed],
// "use of closed network connection", [io.ErrClosedPipe]), a broken pipe
// (EPIPE) or an aborted connection (ECONNABORTED). All of them mean the
// same: the member may or may not have seen the request, and no answer
// will come. It is false for nil, for timeouts ([IsTimeout], net timeouts),
// for the end of the request's context and for [NotSent] errors (those are
// failed over without this question).
func ConnectionLost(err error) bool {
	if err == nil || NotSent(err) || IsTimeout(err) || isNetTimeout(err) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrClosedPipe) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED) {
		return true
	}
	// Some of net/http's errors carry the cause as text only.
	msg := err.Error()
	for _, s := range lostMessages {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// lostMessages are the texts of lost-connection errors that do not wrap
// their cause.
var lostMessages = [...]string{
	"use of closed network connection",
	"connection reset by peer",
	"broken pipe",
	"server closed idle connection",
	"http2: client connection lost",
}
