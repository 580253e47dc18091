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
// the request to the chosen member's transport; when the member could not
// be reached before anything was sent (Apache's "could not start talking to
// the member": refused, connect timeout, pool acquire timeout), the member
// goes into error state and the request goes to a newly chosen member, up
// to maxattempts times, with its body untouched.
type failover Balancer

func (f *failover) RoundTrip(req *http.Request) (*http.Response, error) {
	b := (*Balancer)(f)
	st := stateFrom(req.Context())
	if st == nil {
		return nil, errors.New("balancer: request did not come through the balancer")
	}
	for {
		m := st.member
		res, err := m.cfg.Load().rt.RoundTrip(req)
		if err == nil {
			return res, nil
		}
		if !notSent(err) || req.Context().Err() != nil || !st.body.untouched() {
			return nil, err
		}
		// Nothing reached the member: put it into error state and try
		// another one.
		m.enterError(b.now())
		b.attemptDone(st, err)
		if st.attempts >= st.snap.maxAttempts {
			return nil, fmt.Errorf("%w: %s could not be reached and no attempts are left: %v", ErrNoMember, m.name, err)
		}
		st.attempts++
		next, cerr := b.choose(st, false)
		if next == nil {
			return nil, fmt.Errorf("%w: %s could not be reached: %v; %v", ErrNoMember, m.name, err, cerr)
		}
		req = retarget(req, st, next)
	}
}

// attemptDone reports a failed attempt to the method.
func (b *Balancer) attemptDone(st *requestState, err error) {
	st.snap.sched.Done(&st.member.lb, lbmethod.DoneInfo{Err: err, Latency: b.now().Sub(st.start)})
}

// retarget returns a copy of req addressed to member m.
func retarget(req *http.Request, st *requestState, m *member) *http.Request {
	r2 := new(http.Request)
	*r2 = *req
	u := *req.URL
	r2.URL = &u
	st.setURL(r2, m)
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
