package balancer

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/url"

	"github.com/proxybalancer/balancer/healthcheck"
	"github.com/proxybalancer/balancer/transport"
)

// RunHealthChecks runs the members' active health checks (Member.HealthCheck)
// until ctx ends, then returns ctx's error once every check has ended.
// Checks reach a member as its requests do: with its Connection's TLS
// configuration (private CA, client certificates) and connect timeout. A
// member failing its checks gets the C flag and is not used; passing again
// clears C and also ends an error state, without waiting for its retry.
// Stopped members are not checked; disabled ones are. Members added by
// Update are picked up as they come. Only one RunHealthChecks may run per
// balancer at a time. Close ends it: it then returns ErrClosed.
func (b *Balancer) RunHealthChecks(ctx context.Context) error {
	c := &healthcheck.Checker{Targets: b.healthTargets, Now: b.now}
	if !b.checker.CompareAndSwap(nil, c) {
		return errors.New("balancer: RunHealthChecks is already running")
	}
	defer b.checker.Store(nil)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if err := b.startChecks(cancel); err != nil {
		return err
	}
	defer b.endChecks()
	err := c.Run(ctx)
	if errors.Is(context.Cause(ctx), ErrClosed) {
		return ErrClosed
	}
	return err
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

var _ healthcheck.ConnTarget = (*hcTarget)(nil)

// Dial connects to the member as its transport does (Member.Connection's
// ConnectTimeout and KeepAlive), or as Config.Transport does when that is
// an *http.Transport with a DialContext.
func (t *hcTarget) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	switch rt := t.cfg.Load().rt.(type) {
	case *transport.Transport:
		return rt.DialContext(ctx, network, addr)
	case *http.Transport:
		if rt.DialContext != nil {
			return rt.DialContext(ctx, network, addr)
		}
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// TLSConfig is the member's TLS configuration: Member.Connection's
// TLSClientConfig, or Config.Transport's when that is an *http.Transport.
func (t *hcTarget) TLSConfig() *tls.Config {
	c := t.cfg.Load()
	switch rt := c.rt.(type) {
	case *transport.Transport:
		return c.conn.TLSClientConfig
	case *http.Transport:
		return rt.TLSClientConfig
	}
	return nil
}

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
