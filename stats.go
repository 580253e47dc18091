package balancer

import (
	"time"

	"github.com/proxybalancer/balancer/healthcheck"
)

// MemberStats is a snapshot of one member's configuration and counters, as
// Apache's balancer-manager shows them.
type MemberStats struct {
	// URL is the member's normalised URL (its identity).
	URL string
	// Route, Redirect, LoadFactor and LBSet are the member's current
	// settings.
	Route, Redirect string
	LoadFactor      float64
	LBSet           int
	// Status holds the member's flags, and StatusSince when they last
	// changed (zero if they never did since the member was configured).
	Status      Status
	StatusSince time.Time
	// Elected counts the times it was chosen; Busy the requests in flight.
	Elected, Busy int64
	// Load is Apache's lbstatus, the scheduler's running credit.
	Load int64
	// Transferred and Read are the bytes sent to and received from it.
	Transferred, Read int64
	// Retries counts the times it left error state; Errors the times it
	// entered it.
	Retries, Errors int64
	// Latency is the moving average of the time to response headers.
	Latency time.Duration
	// ErrorSince and ErrorUntil bound its error state; both are zero when
	// it is not in error state. Until is when it becomes eligible again.
	ErrorSince, ErrorUntil time.Time
	// EjectedUntil is when the member's outlier ejection ends (zero when
	// it is not ejected; see Config.Outlier and StatusEjected); Ejections
	// counts the times outlier detection ejected it.
	EjectedUntil time.Time
	Ejections    int64
	// HealthCheck is the member's health-check configuration.
	HealthCheck healthcheck.Check
	// Health is what the health checker knows of the member (consecutive
	// passes and fails, the last result); HealthKnown is false while no
	// RunHealthChecks runs.
	Health      healthcheck.TargetState
	HealthKnown bool
}

// Members returns a snapshot of every member in configuration order. It is
// safe to call at any time.
func (b *Balancer) Members() []MemberStats {
	s := b.snap.Load()
	out := make([]MemberStats, len(s.members))
	b.mu.Lock()
	if s.lists != nil {
		s.lists.SyncLBStatus(false)
	}
	for i, m := range s.members {
		out[i].Load = m.lb.LBStatus
	}
	b.mu.Unlock()
	for i, m := range s.members {
		c := m.cfg.Load()
		ms := &out[i]
		ms.URL, ms.Route, ms.Redirect, ms.LBSet = m.name, c.route, c.redirect, c.lbset
		ms.LoadFactor = float64(c.factor) / 100
		ms.Status = m.flags()
		if t := m.since.Load(); t != 0 {
			ms.StatusSince = time.Unix(0, t)
		}
		ms.Elected, ms.Busy = m.lb.Elected(), m.lb.Busy()
		ms.Transferred, ms.Read = m.lb.Transferred(), m.lb.Read()
		ms.Retries, ms.Errors = m.retries.Load(), m.errors.Load()
		if u := m.out.ejectedUntilN.Load(); u != 0 {
			ms.EjectedUntil = time.Unix(0, u)
		}
		ms.Ejections = m.out.ejections.Load()
		ms.Latency = time.Duration(m.latency.Load())
		ms.HealthCheck = c.hc
		ms.Health, ms.HealthKnown = b.healthState(m)
		if ms.Status&StatusError != 0 {
			ms.ErrorSince = time.Unix(0, m.errorTime.Load())
			ms.ErrorUntil = m.errorUntil()
		}
	}
	return out
}
