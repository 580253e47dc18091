package balancer

import (
	"fmt"

	"github.com/proxybalancer/balancer/lbmethod"
)

// Config returns a copy of the configuration the balancer runs with now,
// including changes made by Update and Reconfigure. Runtime flags (error
// state, flags set with SetStatus) are not part of it; see Members.
func (b *Balancer) Config() Config {
	b.adminMu.Lock()
	defer b.adminMu.Unlock()
	c := b.cfg
	c.Members = append([]Member(nil), c.Members...)
	return c
}

// Reconfigure changes the configuration atomically: fn edits a copy of the
// current configuration, which is validated as New validates and then
// applies to the next request. Members that stay keep their state, as with
// Update. If fn returns an error or the result is invalid, nothing changes.
// A Method of another name starts from a reset state (Apache's lbmethod
// reset); a different Method value gets a new scheduler. The
// name cannot change. Reconfigure is safe for concurrent use; fn runs with
// the configuration lock held and must not call the balancer's
// configuration methods.
func (b *Balancer) Reconfigure(fn func(cfg *Config) error) error {
	b.adminMu.Lock()
	defer b.adminMu.Unlock()
	cfg := b.cfg
	cfg.Members = append([]Member(nil), cfg.Members...)
	if err := fn(&cfg); err != nil {
		return err
	}
	if cfg.Name != b.cfg.Name {
		return fmt.Errorf("balancer: name %q: cannot change (is %q)", cfg.Name, b.cfg.Name)
	}
	return b.apply(cfg)
}

// apply switches to cfg; the caller holds adminMu.
func (b *Balancer) apply(cfg Config) error {
	prev := b.snap.Load()
	s, err := b.buildSnapshot(&cfg, prev)
	if err != nil {
		return err
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
	b.snap.Store(s)
	b.notify()
	b.logConfigWarnings(&cfg, s)
	kept := make(map[*member]bool, len(s.members))
	for _, m := range s.members {
		kept[m] = true
	}
	for _, m := range prev.members {
		if !kept[m] {
			closeIdle(m.cfg.Load().rt)
		}
	}
	return nil
}

// SetStatus sets the flags set and then clears the flags clear on the
// member whose URL is memberURL (compared in normalised form), as the
// balancer-manager's status switches do. Clearing StatusError ends the
// member's error state at once. It returns an error naming the URL when no
// member has it.
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
