package balancer

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/proxybalancer/balancer/lbmethod"
)

// ErrPerTryTimeout is the error reported (in a RetryEvent, and to the
// method for the attempt that lost) when a member did not answer within
// Config.PerTryTimeout and another member was asked as well.
var ErrPerTryTimeout = errors.New("balancer: no answer within the per-try timeout")

// tryResult is the outcome of one attempt in a race.
type tryResult struct {
	res *http.Response
	err error
	m   *member
}

// race is a request's attempts running at once under a per-try timeout.
type race struct {
	results chan tryResult
	cancel  map[*member]context.CancelFunc
}

func (rc *race) start(m *member, req *http.Request) {
	ctx, cancel := context.WithCancel(req.Context())
	rc.cancel[m] = cancel
	r := req.WithContext(ctx)
	rt := m.cfg.Load().roundTripper()
	go func() {
		res, err := rt.RoundTrip(r)
		rc.results <- tryResult{res, err, m}
	}()
}

// tryOnce sends req to st's current member. With a per-try timeout, an
// idempotent request whose body can be read twice at once and whose member
// has not answered within it is sent to another member as well (within
// MaxAttempts and the retry budget); the first answer wins and the other
// attempt is canceled. st.member is left naming the member whose answer or
// error is returned.
func (b *Balancer) tryOnce(st *requestState, req *http.Request) (*http.Response, error) {
	d := st.snap.perTry
	if d <= 0 || !b.mayRace(st, req) {
		return st.member.cfg.Load().roundTripper().RoundTrip(req)
	}
	rc := &race{results: make(chan tryResult, 2), cancel: make(map[*member]context.CancelFunc, 2)}
	slow, slowPicked, slowCfg := st.member, st.picked, st.mcfg
	rc.start(slow, req)
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case r := <-rc.results:
		return rc.won(st, r, 0)
	case <-timer.C:
	}
	// The member is slow: ask another one too, if the rules allow.
	next := b.raceMember(st, req)
	if next == nil {
		st.member, st.picked, st.mcfg = slow, slowPicked, slowCfg
		st.publish()
		return rc.won(st, <-rc.results, 0)
	}
	rc.start(next, b.raceRequest(req, st, next))
	r := <-rc.results
	running := 1
	if r.err != nil {
		// One failed while the other runs: wait for the other.
		rc.cancel[r.m]()
		if req.Context().Err() == nil {
			// A client that went away never counts against a member.
			st.snap.sched.Done(&r.m.lb, lbmethod.DoneInfo{Err: r.err})
			b.outlierRecord(st.snap, r.m, 0, true)
			if notSent(r.err) {
				r.m.enterError(b.now(), "connection failed")
			}
		}
		r, running = <-rc.results, 0
	}
	if r.m == slow {
		st.member, st.picked, st.mcfg = slow, slowPicked, slowCfg
		st.publish()
	}
	return rc.won(st, r, running)
}

// won returns r's answer. Its attempt's context is canceled once the
// response body is closed (at once for an error). The other attempts still
// running (at most one) are canceled now, their answers discarded and
// reported to the method as ErrPerTryTimeout.
func (rc *race) won(st *requestState, r tryResult, running int) (*http.Response, error) {
	for m, cancel := range rc.cancel {
		if m != r.m {
			cancel()
		}
	}
	if running > 0 {
		// The loser's answer is drained by the only goroutine that waits
		// for it; the attempt ends soon, its context being canceled.
		go func() {
			l := <-rc.results
			if l.res != nil {
				l.res.Body.Close()
			}
			st.snap.sched.Done(&l.m.lb, lbmethod.DoneInfo{Err: ErrPerTryTimeout})
		}()
	}
	if r.err != nil {
		rc.cancel[r.m]()
		return nil, r.err
	}
	r.res.Body = &cancelBody{ReadCloser: r.res.Body, cancel: rc.cancel[r.m]}
	return r.res, nil
}

// raceRequest is req addressed to m with a body of its own: a new one from
// GetBody, or the replay buffer's (which holds the whole body).
func (b *Balancer) raceRequest(req *http.Request, st *requestState, m *member) *http.Request {
	r2 := retarget(req, st, m)
	if req.Body == nil || req.Body == http.NoBody {
		return r2
	}
	if req.GetBody != nil {
		if body, err := req.GetBody(); err == nil {
			r2.Body = body
			return r2
		}
	}
	st.body.rewind()
	r2.Body = st.body.reader()
	return r2
}

// mayRace reports whether req may be sent to a second member while the
// first is still working on it: it is idempotent, retries after send are
// on, and its body is absent or can be given to two attempts at once (it
// has GetBody, or the replay buffer holds it whole).
func (b *Balancer) mayRace(st *requestState, req *http.Request) bool {
	s := st.snap
	if s.noIdempotentRetry || int(st.attempts) >= s.maxAttempts || !s.isIdempotent(req) {
		return false
	}
	if _, up := req.Header["Upgrade"]; up {
		return false
	}
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil || st.body.replay != nil
}

// raceMember chooses the member for a second attempt, or returns nil when
// none may be asked: the body cannot be read twice, no attempt or retry
// budget is left, or no member not tried yet is usable.
func (b *Balancer) raceMember(st *requestState, req *http.Request) *member {
	s := st.snap
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil && !st.body.complete() {
		// The replay buffer does not hold the whole body yet.
		return nil
	}
	if int(st.attempts) >= s.maxAttempts || !b.budget.acquire(s.retryRatio, s.budgetMin) {
		return nil
	}
	st.retriesHeld++
	m := st.member
	b.retried(st, m, ErrPerTryTimeout, true)
	st.attempts++
	st.excludeTried = true
	next, _ := b.choose(st)
	st.excludeTried = false
	if next == nil {
		return nil
	}
	b.retries.Add(1)
	return next
}

// cancelBody cancels its attempt's context once the response body is
// closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelBody) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}
