package balancer

import (
	"context"
	"log/slog"
	"time"

	"github.com/proxybalancer/balancer/healthcheck"
)

// Observer receives the balancer's events, for metrics and tracing. Each
// field may be nil; an unset Observer costs nothing. The functions are
// called synchronously on the request's (or the health checker's)
// goroutine, possibly concurrently, and must return quickly.
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

// change sets and clears flags of m atomically and reports a real change to
// the balancer's observer and logger.
func (m *member) change(set, clear Status, why string) {
	var now time.Time
	if m.owner != nil {
		now = m.owner.now()
	}
	m.changeAt(set, clear, why, now)
}

// changeAt is change at a known instant.
func (m *member) changeAt(set, clear Status, why string, now time.Time) {
	for {
		old := m.status.Load()
		nv := (old | uint32(set)) &^ uint32(clear)
		if old == nv {
			return
		}
		if m.status.CompareAndSwap(old, nv) {
			if m.owner != nil {
				m.owner.flagGen.Add(1)
				m.since.Store(now.UnixNano())
				if !Status(old).Usable() && Status(nv).Usable() {
					m.owner.memberUp(m)
				}
				m.owner.stateChanged(m, Status(old), Status(nv), why)
			}
			return
		}
	}
}

// memberUp starts the slow start of a member that became usable.
func (b *Balancer) memberUp(m *member) {
	s := b.snap.Load()
	if s == nil || s.slow.Window <= 0 {
		return
	}
	s.slow.Begin(&m.lb, b.now())
	b.ramping.Store(true)
}

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
