package balancer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/proxybalancer/balancer/lbmethod"
	"github.com/proxybalancer/balancer/transport"
)

// failover is the balancer's RoundTripper under the ReverseProxy. It sends
// the request to the chosen member's transport and, when that fails:
//
//   - before anything was sent (Apache's "could not start talking to the
//     member": refused, connect timeout, pool acquire timeout, ping), the
//     member goes into error state and the request goes to a newly chosen
//     member, up to maxattempts times, with its body untouched;
//   - after it was sent but before any response byte came back (the
//     connection was reset or closed), an idempotent request whose body can
//     be sent again goes to a member it has not tried yet, within
//     maxattempts and the retry budget. Apache never does this; it can be
//     turned off with Config.DisableIdempotentRetry.
//
// A client that went away never counts against a member.
type failover Balancer

func (f *failover) RoundTrip(req *http.Request) (*http.Response, error) {
	b := (*Balancer)(f)
	st := stateFrom(req.Context())
	if st == nil {
		return nil, errors.New("balancer: request did not come through the balancer")
	}
	for {
		res, err := b.tryOnce(st, req)
		if err == nil {
			return res, nil
		}
		m := st.member
		if req.Context().Err() != nil {
			st.canceled = true
			return nil, err
		}
		var next *member
		var ns *transport.NotSentError
		switch {
		case errors.As(err, &ns) && ns.Reason == transport.ReasonResolve:
			// Apache answers a member's DNS failure with 500 and puts the
			// member into error state, without failing over.
			m.enterError(b.now(), "name resolution failed")
			return nil, &resolveError{err}
		case notSent(err) && st.body.rewind():
			// Nothing reached the member.
			m.enterError(b.now(), "connection failed")
			b.attemptDone(st, err)
			b.retried(st, m, err, false)
			if int(st.attempts) >= st.snap.maxAttempts {
				return nil, fmt.Errorf("%w: %s could not be reached and no attempts are left: %v", ErrNoMember, m.name, err)
			}
			st.attempts++
			var cerr error
			next, cerr = b.chooseWait(st)
			if next == nil {
				return nil, fmt.Errorf("%w: %s could not be reached: %v; %v", ErrNoMember, m.name, err, cerr)
			}
		case b.mayRetrySent(st, req, err):
			b.attemptDone(st, err)
			b.retried(st, m, err, true)
			st.attempts++
			st.excludeTried = true
			next, _ = b.choose(st)
			st.excludeTried = false
			if next == nil {
				return nil, err
			}
			b.retries.Add(1)
		default:
			return nil, err
		}
		req = retarget(req, st, next)
		st.outlierDone = false
	}
}

// mayRetrySent reports whether a request whose connection failed after it
// was sent may go to another member: it is idempotent, its body can be sent
// again (none, GetBody, or kept whole by the replay buffer), the connection
// was lost before any response byte, attempts and the retry budget are
// left.
func (b *Balancer) mayRetrySent(st *requestState, req *http.Request, err error) bool {
	s := st.snap
	if s.noIdempotentRetry || int(st.attempts) >= s.maxAttempts || !transport.ConnectionLost(err) {
		return false
	}
	if !s.isIdempotent(req) {
		return false
	}
	if !st.body.rewind() {
		if req.GetBody == nil {
			return false
		}
		body, gerr := req.GetBody()
		if gerr != nil {
			return false
		}
		st.body.rc = body
		st.body.touched.Store(false)
	}
	if !b.budget.acquire(s.retryRatio, s.budgetMin) {
		return false
	}
	st.retriesHeld++
	return true
}

// keepBody turns on the replay buffer for out's body when it may be sent
// twice and nothing else can give it again: the request is idempotent,
// retries are on, it has no GetBody, and its declared length fits.
func (st *requestState) keepBody(out *http.Request) {
	s := st.snap
	if s.replayLimit <= 0 || s.noIdempotentRetry || out.GetBody != nil ||
		out.ContentLength <= 0 || out.ContentLength > int64(s.replayLimit) || !s.isIdempotent(out) {
		return
	}
	st.body.keep(int(out.ContentLength))
}

// idempotent reports whether a request may be sent twice: GET, HEAD,
// OPTIONS and TRACE, requests carrying an Idempotency-Key or
// X-Idempotency-Key header (as net/http treats them), or what the
// configuration's IsIdempotent says.
func (s *snapshot) isIdempotent(r *http.Request) bool {
	if s.idempotent != nil {
		return s.idempotent(r)
	}
	return DefaultIdempotent(r)
}

// DefaultIdempotent is the default of Config.IsIdempotent: GET, HEAD,
// OPTIONS and TRACE, and requests with an Idempotency-Key or
// X-Idempotency-Key header.
func DefaultIdempotent(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, k1 := r.Header["Idempotency-Key"]
	_, k2 := r.Header["X-Idempotency-Key"]
	return k1 || k2
}

// resolveError is a member's name resolution failure: 500, as in Apache.
type resolveError struct{ err error }

func (e *resolveError) Error() string { return e.err.Error() }
func (e *resolveError) Unwrap() error { return e.err }

// retried reports a failed attempt that is tried again.
func (b *Balancer) retried(st *requestState, m *member, err error, sent bool) {
	if o := st.snap.obs; o != nil && o.Retried != nil {
		o.Retried(RetryEvent{Balancer: b.name, Member: m.name, Attempt: int(st.attempts), Err: err, Sent: sent, Context: st})
	}
}

// attemptDone reports a failed attempt to the method.
func (b *Balancer) attemptDone(st *requestState, err error) {
	st.snap.sched.Done(&st.member.lb, lbmethod.DoneInfo{Err: err, Latency: b.mono() - st.picked})
	b.outlierRecord(st.snap, st.member, 0, true)
	st.outlierDone = true
}

// retarget returns a copy of req addressed to member m.
func retarget(req *http.Request, st *requestState, m *member) *http.Request {
	r2 := new(http.Request)
	*r2 = *req
	u := *req.URL
	r2.URL = &u
	st.setURL(r2, m)
	if r2.Body != nil && r2.Body != http.NoBody {
		r2.Body = st.body.reader()
	}
	return r2
}

// notSent reports whether err guarantees that nothing of the request reached
// the member.
func notSent(err error) bool {
	if transport.NotSent(err) {
		return true
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
