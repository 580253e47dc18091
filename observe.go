package balancer

import (
	"context"
	"log/slog"
	"time"

	"github.com/proxybalancer/balancer/healthcheck"
)

// Observer receives the balancer's events, for metrics and tracing. Each
// field may be nil; an unset Observer costs nothing. The functions are
// called synchronously on the request's (or the health checker's, or the
// configuring) goroutine, possibly concurrently, and should return quickly.
//
// They are never called with a balancer lock held (nor is the Logger), so
// they may call the balancer: Members, Decide, Config, State, even Apply.
// A change of flags made under a lock (a member leaving error state during
// a selection, a status changed by Update) is reported once the lock is
// released, so a StateChanged sees the balancer with the change made.
type Observer struct {
	// Picked is called when a member is chosen for an attempt.
	Picked func(PickEvent)
	// Retried is called when a failed attempt is followed by another.
	Retried func(RetryEvent)
	// StateChanged is called when a member's flags change.
	StateChanged func(StateEvent)
	// HealthChecked is called with every health-check result.
	HealthChecked func(HealthEvent)
	// Done is called when a request ends.
	Done func(DoneEvent)
}

// PickEvent describes one choice of a member.
type PickEvent struct {
	Balancer string // "balancer://name"
	Member   string // the member's normalised URL
	Reason   Reason // sticky, redirected or scheduled
	LBSet    int    // the tier, when scheduled; else -1
	Attempt  int    // 0 for the first attempt
	Info     Info   // the BALANCER_* values after the choice
	// Context is the client request's context, which carries the routing
	// decision ([FromContext]) and whatever the handlers before the
	// balancer put there (a trace span): for tracing. It must not be kept
	// after the call returns.
	Context context.Context
}

// RetryEvent describes a failed attempt that is tried again elsewhere.
type RetryEvent struct {
	Balancer string
	Member   string // the member that failed
	Attempt  int    // the failed attempt's number, from 0
	Err      error
	// Sent reports that the request had reached the member (a retry of an
	// idempotent request); false means nothing was sent (failover).
	Sent bool
	// Context is the client request's context, which carries the routing
	// decision ([FromContext]) and whatever the handlers before the
	// balancer put there (a trace span): for tracing. It must not be kept
	// after the call returns.
	Context context.Context
}

// StateEvent describes a change of a member's flags.
type StateEvent struct {
	Balancer string
	Member   string
	From, To Status
	Why      string // "connection failed", "retry passed", "health check failed", ...
	Time     time.Time
}

// HealthEvent is one health-check result.
type HealthEvent struct {
	Balancer string
	Member   string
	Result   healthcheck.Result
}

// DoneEvent describes a finished request.
type DoneEvent struct {
	Balancer string
	Member   string // the last member tried, "" if none
	Info     Info
	Status   int   // the status the client got
	Err      error // why the request failed, if it did
	Attempts int   // attempts made
	Latency  time.Duration
	// BytesIn and BytesOut are the request body bytes sent to the member
	// and the response body bytes sent back.
	BytesIn, BytesOut int64
	// Context is the client request's context, which carries the routing
	// decision ([FromContext]) and whatever the handlers before the
	// balancer put there (a trace span): for tracing. It must not be kept
	// after the call returns.
	Context context.Context
}

// flagEvent is a change of a member's flags, reported by report once no
// balancer lock is held.
type flagEvent struct {
	m        *member
	from, to Status
	why      string
}

// change sets and clears flags of m atomically and reports a real change to
// the balancer's observer and logger. The caller holds no balancer lock.
func (m *member) change(set, clear Status, why string) {
	m.changeAt(set, clear, why, m.owner.now())
}

// changeAt is change at a known instant.
func (m *member) changeAt(set, clear Status, why string, now time.Time) {
	if from, to, ok := m.swapFlags(set, clear, now); ok {
		m.owner.stateChanged(m, from, to, why)
	}
}

// swapFlags sets and clears flags of m atomically and reports whether that
// changed them, from what to what. It calls no user code and logs nothing,
// so it may run under a balancer lock; the caller reports the change
// (stateChanged) once no lock is held.
func (m *member) swapFlags(set, clear Status, now time.Time) (from, to Status, changed bool) {
	for {
		old := m.status.Load()
		nv := (old | uint32(set)) &^ uint32(clear)
		if old == nv {
			return 0, 0, false
		}
		if m.status.CompareAndSwap(old, nv) {
			m.owner.flagGen.Add(1)
			m.since.Store(now.UnixNano())
			if !Status(old).Usable() && Status(nv).Usable() {
				m.owner.memberUp(m, now)
			}
			return Status(old), Status(nv), true
		}
	}
}

// memberUp starts the slow start of a member that became usable.
func (b *Balancer) memberUp(m *member, now time.Time) {
	s := b.snap.Load()
	if s == nil || s.slow.Window <= 0 {
		return
	}
	s.slow.Begin(&m.lb, now)
	b.ramping.Store(true)
}

// report makes the reports of flag changes made under a lock, in order.
// The caller holds no balancer lock.
func (b *Balancer) report(evs []flagEvent) {
	for _, ev := range evs {
		b.stateChanged(ev.m, ev.from, ev.to, ev.why)
	}
}

// stateChanged reports a change of m's flags to the Observer and the
// logger. The caller holds no balancer lock: both may call the balancer.
func (b *Balancer) stateChanged(m *member, from, to Status, why string) {
	s := b.snap.Load()
	if s == nil {
		return
	}
	if o := s.obs; o != nil && o.StateChanged != nil {
		o.StateChanged(StateEvent{Balancer: b.name, Member: m.name, From: from, To: to, Why: why, Time: b.now()})
	}
	if l := s.log; l != nil {
		level := slog.LevelInfo
		if to&unusableMask != 0 && from&unusableMask == 0 {
			level = slog.LevelWarn
		}
		l.LogAttrs(context.Background(), level, "member state changed",
			slog.String("balancer", b.name), slog.String("member", m.name),
			slog.String("from", from.String()), slog.String("to", to.String()), slog.String("why", why))
	}
}

// logPick logs a routing decision at debug level.
func (b *Balancer) logPick(st *requestState, m *member) {
	l := st.snap.log
	if l == nil || !l.Enabled(st, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("balancer", b.name), slog.String("member", m.name),
		slog.String("reason", st.reason.String()), slog.Int("attempt", int(st.attempts)),
	}
	if st.hasRoute {
		attrs = append(attrs, slog.String("route", st.route), slog.String("sticky", st.stickyName))
	}
	if st.routeChanged {
		why := "no route"
		switch {
		case st.reason == ReasonRedirected:
			why = "redirected"
		case st.hasRoute && st.route != "" && st.attempts > 0:
			why = "failover"
		case st.hasRoute && st.route != "":
			why = "route owner unusable or unknown"
		}
		attrs = append(attrs, slog.String("route_changed", why))
	}
	l.LogAttrs(st, slog.LevelDebug, "balancer decision", attrs...)
}
