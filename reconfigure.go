package balancer

// Reconfiguration of a running balancer: Config, Reconfigure, Update and
// SetStatus, and how a change is applied (apply) and reported once the
// configuration lock is released (unlockAdmin).

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"time"

	"github.com/proxybalancer/balancer/lbmethod"
)

// Config returns a copy of the configuration the balancer runs with now,
// including changes made by Update and Reconfigure. Runtime flags (error
// state, flags set with SetStatus) are not part of it; see Members.
func (b *Balancer) Config() Config {
	b.adminMu.Lock()
	defer b.adminMu.Unlock()
	return b.cfg.clone()
}

// clone returns a copy of c that shares no slice with it.
func (c *Config) clone() Config {
	n := *c
	n.Members = append([]Member(nil), c.Members...)
	n.FailOnStatus = append([]int(nil), c.FailOnStatus...)
	return n
}

// Reconfigure changes the configuration atomically: fn edits a copy of the
// current configuration, which is validated as New validates and then
// applies to the next request. Every field takes effect: members that stay
// keep their state, as with Update; a Method of another name starts from a
// reset state (Apache's lbmethod reset), a different Method value gets a
// new scheduler; a new Transport or WrapTransport gives every member a new
// (or newly wrapped) transport; the hooks, FlushInterval, ErrorLog,
// RetryBudget, Logger and Observer apply to requests that start after it
// returns. Two fields cannot change, and Reconfigure refuses them with an
// error naming the field: Name, and Now (the members' timers run on the
// balancer's clock). If fn returns an error or the result is invalid,
// nothing changes.
//
// Reconfigure is safe for concurrent use. fn runs without any balancer lock
// (it may call the balancer); when another change lands while fn runs, fn
// runs again on the newer configuration, so that no change is lost. It
// should do nothing but edit cfg. It is not reported to
// [Balancer.OnChange] listeners (see there why).
func (b *Balancer) Reconfigure(fn func(cfg *Config) error) error {
	for {
		b.adminMu.Lock()
		cfg, gen := b.cfg.clone(), b.cfgGen
		b.adminMu.Unlock()
		// Functions cannot be compared: fn gets stand-ins, which tell
		// whether it replaced the functions.
		now, wrap := cfg.Now, cfg.WrapTransport
		nowIn, wrapIn := standIn(now), standIn(wrap)
		cfg.Now, cfg.WrapTransport = nowIn, wrapIn
		if err := fn(&cfg); err != nil {
			return err
		}
		if !isStandIn(cfg.Now, nowIn) {
			return errors.New("balancer: now: cannot change on a running balancer (its members' timers and statistics run on its clock); make a new Balancer")
		}
		cfg.Now = now
		wrapChanged := !isStandIn(cfg.WrapTransport, wrapIn)
		if !wrapChanged {
			cfg.WrapTransport = wrap
		}
		b.adminMu.Lock()
		if b.cfgGen != gen {
			b.adminMu.Unlock()
			continue // changed meanwhile: edit the newer configuration
		}
		if wrapChanged {
			b.wrapGen++
		}
		err := b.reconfigure(cfg)
		if err != nil && wrapChanged {
			b.wrapGen--
		}
		b.unlockAdmin()
		return err
	}
}

// standIn returns a function that calls f, distinct from every function
// but other stand-ins; nil for nil.
func standIn[F func() time.Time | func(string, http.RoundTripper) http.RoundTripper](f F) F {
	if f == nil {
		return nil
	}
	var in any
	switch f := any(f).(type) {
	case func() time.Time:
		in = func() time.Time { return f() }
	case func(string, http.RoundTripper) http.RoundTripper:
		in = func(m string, rt http.RoundTripper) http.RoundTripper { return f(m, rt) }
	}
	return in.(F)
}

// isStandIn reports whether f is still the stand-in in (or both are nil).
func isStandIn[F any](f, in F) bool {
	fv, iv := reflect.ValueOf(f), reflect.ValueOf(in)
	if fv.IsNil() || iv.IsNil() {
		return fv.IsNil() == iv.IsNil()
	}
	return fv.Pointer() == iv.Pointer()
}

// reconfigure applies an edited configuration; the caller holds adminMu.
func (b *Balancer) reconfigure(cfg Config) error {
	if cfg.Name != b.cfg.Name {
		return fmt.Errorf("balancer: name %q: cannot change (is %q)", cfg.Name, b.cfg.Name)
	}
	return b.apply(cfg)
}

// Update replaces the member list while requests flow, for a gateway fed by
// a service registry. A member that stays (the same normalised URL) keeps
// its counters, error state, health state and scheduler credit, and takes
// its new settings; a changed Status applies only the flags that changed in
// the configuration, so flags set at runtime (by errors, health checks or
// the manager) are kept. Removed members finish the requests they have.
// Requests already routed are not affected; the next request sees the new
// list. On error nothing changes. Update is safe for concurrent use. It is
// not reported to [Balancer.OnChange] listeners (see there why).
func (b *Balancer) Update(members []Member) error {
	b.adminMu.Lock()
	defer b.unlockAdmin()
	cfg := b.cfg
	cfg.Members = append([]Member(nil), members...)
	return b.apply(cfg)
}

// pending is what configuration changes made under adminMu leave to do
// once it is released: reports of flag changes, warnings to log, and
// transports no longer used whose idle connections are to be closed.
type pending struct {
	events   []flagEvent
	log      *slog.Logger
	warnings []string
	idle     []http.RoundTripper
}

// unlockAdmin releases adminMu, then does what the changes made under it
// left pending: no report, log or I/O runs under the lock.
func (b *Balancer) unlockAdmin() {
	p := b.pending
	b.pending = pending{}
	b.adminMu.Unlock()
	b.report(p.events)
	b.logConfigWarnings(b.name, p.log, p.warnings)
	for _, rt := range p.idle {
		closeIdle(rt)
	}
}

// apply switches to cfg; the caller holds adminMu and releases it with
// unlockAdmin. On error nothing changes.
func (b *Balancer) apply(cfg Config) error {
	if b.closed.Load() {
		return ErrClosed
	}
	prev := b.snap.Load()
	undo := b.pending
	s, err := b.buildSnapshot(&cfg, prev)
	if err != nil {
		b.pending = undo
		return err
	}
	if ls, ok := prev.sched.(lbmethod.ListScheduler); ok && !same(prev.method, s.method) {
		// The scheduler is replaced: the credits it kept go back to the
		// members first.
		b.mu.Lock()
		ls.SyncLBStatus(true)
		b.mu.Unlock()
	}
	// A method of another name starts from a reset state, as Apache resets
	// when the balancer-manager changes lbmethod; one of the same name
	// (another value, or nil for byrequests) keeps the members' state.
	if s.method.Name() != prev.method.Name() {
		lbs := make([]*lbmethod.Member, 0, len(s.members))
		for _, m := range s.members {
			lbs = append(lbs, &m.lb)
		}
		b.mu.Lock()
		s.sched.Reset(lbs)
		b.mu.Unlock()
	}
	b.cfg = cfg
	b.cfgGen++
	b.snap.Store(s)
	b.outlierConfigured(s)
	b.notify()
	b.pending.log, b.pending.warnings = s.log, append(b.pending.warnings, configWarnings(&cfg, s)...)
	kept := make(map[*member]bool, len(s.members))
	for _, m := range s.members {
		kept[m] = true
	}
	for _, m := range prev.members {
		if !kept[m] {
			b.pending.idle = append(b.pending.idle, m.cfg.Load().rt)
		}
	}
	return nil
}

// SetStatus sets the flags set and then clears the flags clear on the
// member whose URL is memberURL (compared in normalised form), as the
// balancer-manager's status switches do. Clearing StatusError ends the
// member's error state at once. It returns an error naming the URL when no
// member has it. It is not reported to [Balancer.OnChange] listeners: for
// a flag change they should see, use Apply (MemberChange.Set and Clear).
func (b *Balancer) SetStatus(memberURL string, set, clear Status) error {
	m, err := b.member(memberURL)
	if err != nil {
		return err
	}
	if set&StatusError != 0 {
		m.errorTime.Store(b.now().UnixNano())
	}
	m.change(set, 0, "set at runtime")
	m.change(0, clear, "cleared at runtime")
	if clear != 0 {
		b.notify()
	}
	return nil
}

// member finds a member of the current snapshot by URL.
func (b *Balancer) member(memberURL string) (*member, error) {
	_, name, err := normalizeURL(memberURL)
	if err != nil {
		return nil, fmt.Errorf("balancer: member %q: %v", memberURL, err)
	}
	for _, m := range b.snap.Load().members {
		if m.name == name {
			return m, nil
		}
	}
	return nil, fmt.Errorf("balancer: member %q: no such member in %s", memberURL, b.name)
}
