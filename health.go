package balancer

import (
	"context"
	"errors"
	"net/url"

	"github.com/proxybalancer/balancer/healthcheck"
)

// RunHealthChecks runs the members' active health checks (Member.HealthCheck)
// until ctx ends, then returns ctx's error once every check has ended. A
// member failing its checks gets the C flag and is not used; passing again
// clears C and also ends an error state, without waiting for its retry.
// Stopped members are not checked; disabled ones are. Members added by
// Update are picked up as they come. Only one RunHealthChecks may run per
// balancer at a time.
func (b *Balancer) RunHealthChecks(ctx context.Context) error {
	c := &healthcheck.Checker{Targets: b.healthTargets, Now: b.now}
	if !b.checker.CompareAndSwap(nil, c) {
		return errors.New("balancer: RunHealthChecks is already running")
	}
	defer b.checker.Store(nil)
	return c.Run(ctx)
}

// healthTargets lists the members that have checks configured.
func (b *Balancer) healthTargets() []healthcheck.Target {
	s := b.snap.Load()
	ts := make([]healthcheck.Target, 0, len(s.members))
	for _, m := range s.members {
		if m.cfg.Load().hc.Method != healthcheck.MethodNone {
			ts = append(ts, (*hcTarget)(m))
		}
	}
	return ts
}

// hcTarget is a member as the health checker sees it.
type hcTarget member

var _ healthcheck.Target = (*hcTarget)(nil)

func (t *hcTarget) Name() string             { return t.name }
func (t *hcTarget) URL() *url.URL            { return t.url }
func (t *hcTarget) Check() healthcheck.Check { return t.cfg.Load().hc }
func (t *hcTarget) Stopped() bool            { return (*member)(t).flags()&StatusStopped != 0 }
func (t *hcTarget) Down() bool               { return (*member)(t).flags()&(StatusHCFailed|StatusError) != 0 }
func (t *hcTarget) Report(res healthcheck.Result) {
	m := (*member)(t)
	b := m.owner
	if o := b.snap.Load().obs; o != nil && o.HealthChecked != nil {
		o.HealthChecked(HealthEvent{Balancer: b.name, Member: m.name, Result: res})
	}
	if !res.Changed {
		return
	}
	if res.Healthy {
		m.change(0, StatusHCFailed|StatusError, "health check passed")
		b.notify()
		return
	}
	m.change(StatusHCFailed, 0, "health check failed")
}

// healthState returns what the running checker knows of m.
func (b *Balancer) healthState(m *member) (healthcheck.TargetState, bool) {
	c := b.checker.Load()
	if c == nil {
		return healthcheck.TargetState{}, false
	}
	return c.State(m.name)
}
