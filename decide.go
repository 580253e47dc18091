package balancer

import "net/http"

// Decision is the outcome of a dry run: where a request would go and why.
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
// changing any counter, error state or scheduler credit: a dry run of the
// routing for tests and debugging. A random method (heartbeat, latency)
// consumes a random number, so its answer is one possible outcome.
func (b *Balancer) Decide(r *http.Request) Decision {
	st := newRequestState(b, r, r.URL.Path, r.URL.RawPath)
	st.capture = nil
	m, _ := b.choose(st, true)
	d := Decision{Reason: st.reason, LBSet: int(st.tier)}
	if m != nil {
		d.Member = m.name
		d.Info = st.info()
	}
	return d
}
