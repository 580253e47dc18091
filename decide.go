package balancer

import "net/http"

// Reason says how a member was chosen.
type Reason uint8

// The reasons a member was or was not chosen.
const (
	// ReasonNone: no member could take the request (503).
	ReasonNone Reason = iota
	// ReasonSticky: the member owns the request's route.
	ReasonSticky
	// ReasonRedirected: the route's owner is unusable and its redirect
	// chain led to this member.
	ReasonRedirected
	// ReasonScheduled: the load-balancing method chose the member.
	ReasonScheduled
	// ReasonNoFailover: the route's owner is unusable and nofailover
	// forbids another member (503).
	ReasonNoFailover
)

// String returns the reason's name: "sticky", "redirected", "scheduled",
// "nofailover" or "none".
func (r Reason) String() string {
	switch r {
	case ReasonSticky:
		return "sticky"
	case ReasonRedirected:
		return "redirected"
	case ReasonScheduled:
		return "scheduled"
	case ReasonNoFailover:
		return "nofailover"
	}
	return "none"
}

// Decision is the outcome of Decide: where a request would go and why.
type Decision struct {
	// Member is the normalised URL of the member the request would go to,
	// or "" when it would get 503.
	Member string
	// Info holds the BALANCER_* values the request would carry.
	Info Info
	// Reason says how the member was chosen, or why none was.
	Reason Reason
	// LBSet is the tier the method chose from, or -1 when the member was
	// not chosen by the method.
	LBSet int
}

// Decide returns where r would be sent now, without proxying it and without
// changing any counter, error state or scheduler credit: the routing's plan
// (the same computation a request makes, members leaving error state
// included) without its commit, for tests and debugging. A random method
// (heartbeat, latency) consumes a random number, so its answer is one
// possible outcome. It calls no user code but the scheduler and the clock.
func (b *Balancer) Decide(r *http.Request) Decision {
	st := newRequestState(b, r, r.URL.Path)
	st.capture = nil
	sel := selection{sc: &b.scratch, b: b, dry: true}
	picked := b.mono()
	b.mu.Lock()
	plan := sel.plan(st)
	sel.forced, b.scratch.leaving = false, b.scratch.leaving[:0]
	b.mu.Unlock()
	m, _ := b.decided(st, plan, picked)
	d := Decision{Reason: st.reason, LBSet: int(st.tier)}
	if m != nil {
		d.Member = m.name
		d.Info = st.info()
	}
	return d
}
