package balancer

import (
	"fmt"
	"time"

	"github.com/proxybalancer/balancer/lbmethod"
)

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

// selection is the view of member state one choice works on. A real choice
// changes state as Apache does (error states retried, forced recovery,
// counters); a dry run (Decide) only computes what would happen.
type selection struct {
	t      time.Time // the time, read when first needed (see now)
	dry    bool
	forced bool // dry run: forced recovery would clear every error state
	// exclude, when set, makes the members it tried unusable (a retry
	// after send goes to a member not tried yet).
	exclude *requestState
	sc      *scratch // the balancer's buffers; the selection lock is held
	b       *Balancer

	// cands and members are the current candidates: the scratch buffers
	// or a cache's.
	cands   []*lbmethod.Member
	members []*member
}

// now returns the time of the selection: the clock is read once, and only
// when a member's state needs it (an error state's retry, slow start).
func (sel *selection) now() time.Time {
	if sel.t.IsZero() {
		sel.t = sel.b.now()
	}
	return sel.t
}

// candCache keeps a candidate list that holds while no member's flags have
// changed (gen is the balancer's flag generation when it was built), so a
// large balancer does not rebuild it on every request. Guarded by the
// selection lock.
type candCache struct {
	gen     uint64
	ok      bool
	cands   []*lbmethod.Member
	members []*member
}

func (c *candCache) valid(gen uint64) bool { return c.ok && c.gen == gen }

func (c *candCache) store(gen uint64, sel *selection) {
	c.cands = append(c.cands[:0], sel.cands...)
	c.members = append(c.members[:0], sel.members...)
	c.gen, c.ok = gen, true
}

func (sel *selection) use(c *candCache) {
	sel.cands, sel.members = c.cands, c.members
}

// scratch holds the buffers one selection fills: the candidates handed to
// the scheduler, their members, and saved credits for a dry run. One per
// balancer, used under the selection lock, so a request allocates none.
type scratch struct {
	cands   []*lbmethod.Member
	members []*member
	saved   []int64
}

func (sel *selection) reset() {
	sel.cands, sel.members = sel.sc.cands[:0], sel.sc.members[:0]
}

// add appends a candidate to the scratch buffers (after reset).
func (sel *selection) add(m *member) {
	sel.cands = append(sel.cands, &m.lb)
	sel.members = append(sel.members, m)
	sel.sc.cands, sel.sc.members = sel.cands, sel.members
}

// usable reports whether m can take a request, first giving a member in
// error state its retry (Apache's retry_worker at this point).
func (sel *selection) usable(m *member) bool {
	if sel.exclude != nil && sel.exclude.triedMember(m) {
		return false
	}
	f := m.flags()
	if f.Usable() {
		return true
	}
	if sel.dry {
		if f&StatusError != 0 && (sel.forced || m.retryDue(sel.now())) {
			f &^= StatusError
		}
		return f.Usable()
	}
	m.retry(sel.now())
	return m.flags().Usable()
}

// isUsable reports usability without retrying (a dry run still sees what a
// retry would do).
func (sel *selection) isUsable(m *member) bool {
	if sel.exclude != nil && sel.exclude.triedMember(m) {
		return false
	}
	f := m.flags()
	if sel.dry && f&StatusError != 0 && sel.forced {
		f &^= StatusError
	}
	return f.Usable()
}

// forceRecovery is Apache's force_recovery: members in error state are
// given their retry in order until one is found out of error; when none is
// and forcerecovery is on, every member leaves error state at once.
func (sel *selection) forceRecovery(s *snapshot) {
	for _, m := range s.members {
		if m.flags()&StatusError == 0 {
			return
		}
		if sel.dry {
			if m.retryDue(sel.now()) {
				return
			}
			continue
		}
		m.retry(sel.now())
		if m.flags()&StatusError == 0 {
			return
		}
	}
	if !s.forceRecover || len(s.members) == 0 {
		return
	}
	if sel.dry {
		sel.forced = true
		return
	}
	for _, m := range s.members {
		m.retries.Add(1)
		m.change(0, StatusError, "forced recovery")
	}
}

// routeMember is Apache's find_route_worker: the first member, regular
// members before hot standbys, that owns route and is usable; an unusable
// owner's redirect is followed, at most len(members)-1 hops. lbset, spares
// and draining do not matter here.
func (sel *selection) routeMember(s *snapshot, route string, depth int) *member {
	for pass := 0; pass < 2; pass++ {
		standby := pass == 1
		for _, m := range s.routes[route] {
			if (m.flags()&StatusStandby != 0) != standby {
				continue
			}
			c := m.cfg.Load()
			if c.route != route {
				continue // changed since the snapshot was built
			}
			if sel.usable(m) {
				return m
			}
			if c.redirect != "" && depth < len(s.members) {
				rm := sel.routeMember(s, c.redirect, depth+1)
				if rm != nil && sel.usable(rm) {
					return rm
				}
			}
		}
	}
	return nil
}

// routeOwned reports whether some member's route is route (the nofailover
// rule applies only then).
func (s *snapshot) routeOwned(route string) bool {
	return route != "" && len(s.routes[route]) > 0
}

// candidates fills st's buffers with the scheduler's candidates of one
// tier, as Apache's proxy_balancer_get_best_worker considers them: usable
// regular members in order, then one usable spare for each unusable regular
// member; when that is nobody, the usable hot standbys. Draining members
// are never candidates.
func (sel *selection) candidates(tier []*member, cache *candCache) {
	gen := sel.b.flagGen.Load()
	if cache.valid(gen) && sel.exclude == nil {
		sel.use(cache)
		return
	}
	sel.reset()
	// A dry run sees the same candidates unless it supposes a forced
	// recovery; a tier with a member in error state is never cached.
	cacheable := !sel.forced && sel.exclude == nil
	unusable := 0
	for _, m := range tier {
		f := m.flags()
		if f&StatusDrain != 0 {
			if f&(StatusSpare|StatusStandby) == 0 {
				unusable++
			}
			continue
		}
		ok := sel.usable(m)
		if m.flags()&StatusError != 0 {
			// Its retry must be looked at on every selection.
			cacheable = false
		}
		if f&(StatusSpare|StatusStandby) != 0 {
			continue
		}
		if ok {
			sel.add(m)
		} else {
			unusable++
		}
	}
	for _, m := range tier {
		if unusable == 0 {
			break
		}
		if f := m.flags(); f&StatusSpare != 0 && f&StatusDrain == 0 && sel.isUsable(m) {
			sel.add(m)
			unusable--
		}
	}
	if len(sel.cands) == 0 {
		for _, m := range tier {
			if f := m.flags(); f&StatusStandby != 0 && f&(StatusSpare|StatusDrain) == 0 && sel.isUsable(m) {
				sel.add(m)
			}
		}
	}
	if cacheable {
		cache.store(gen, sel)
	}
}

// allCandidates fills st's buffers with every usable member, for methods
// that ignore tiers (heartbeat).
func (sel *selection) allCandidates(st *requestState, s *snapshot) {
	sel.reset()
	for _, m := range s.members {
		if sel.usable(m) {
			sel.add(m)
		}
	}
}

// pick asks the scheduler, tier by tier, and returns the chosen member and
// its lbset, or nil. A dry run leaves the members' LBStatus as it was.
func (sel *selection) pick(st *requestState, s *snapshot) (*member, int) {
	if s.all {
		sel.allCandidates(st, s)
		if m := sel.schedule(st, s); m != nil {
			return m, m.cfg.Load().lbset
		}
		return nil, -1
	}
	for i, tier := range s.tiers {
		sel.candidates(tier, &s.tierCache[i])
		if m := sel.schedule(st, s); m != nil {
			return m, m.cfg.Load().lbset
		}
	}
	return nil, -1
}

func (sel *selection) schedule(st *requestState, s *snapshot) *member {
	if len(sel.cands) == 0 {
		return nil
	}
	if sel.dry {
		sc := sel.sc
		sc.saved = sc.saved[:0]
		for _, c := range sel.cands {
			sc.saved = append(sc.saved, c.LBStatus)
		}
		defer func() {
			for i, c := range sel.cands {
				c.LBStatus = sc.saved[i]
			}
		}()
	}
	i := s.sched.Pick(sel.cands)
	if i < 0 || i >= len(sel.cands) {
		return nil
	}
	return sel.members[i]
}

// choose runs one attempt's routing, as Apache's proxy_balancer_pre_request:
// forced recovery, the sticky route, else the scheduler. It records the
// member and the BALANCER_* values in st; a nil member comes with an error
// wrapping ErrNoMember.
func (b *Balancer) choose(st *requestState, dry bool) (*member, error) {
	s := st.snap
	sel := selection{dry: dry, sc: &b.scratch, b: b}
	picked := b.mono()
	if !st.started {
		st.start, st.started = picked, true // the request's first choice: its start
	}
	if st.excludeTried {
		sel.exclude = st
	}
	b.mu.Lock()
	if !dry && b.ramping.Load() {
		// Slow start: set the weights of ramping members for now. A Begin
		// racing this sets ramping again after its ramp is visible.
		b.ramping.Store(false)
		if s.slow.Update(s.lbs, sel.now()) {
			b.ramping.Store(true)
		}
	}
	sel.forceRecovery(s)
	var m *member
	reason := ReasonNone
	tier := -1
	routeChanged := false
	if st.hasRoute && st.route != "" {
		m = sel.routeMember(s, st.route, 1)
		if m != nil {
			reason = ReasonSticky
			if m.cfg.Load().route != st.route {
				reason, routeChanged = ReasonRedirected, true
			}
			if !dry {
				sel.usableMembers(s)
				s.sched.StickyHit(&m.lb, sel.cands)
			}
		} else if s.noFailover && s.routeOwned(st.route) {
			b.mu.Unlock()
			st.reason = ReasonNoFailover
			return nil, fmt.Errorf("%w: route %q is unusable and nofailover is on", ErrNoMember, st.route)
		}
	}
	if m == nil {
		m, tier = sel.pick(st, s)
		if m != nil {
			reason = ReasonScheduled
			if s.sticky != nil {
				routeChanged = true
			}
		}
	}
	b.mu.Unlock()
	st.reason, st.tier = reason, int32(tier)
	if m == nil {
		if len(s.members) == 0 {
			return nil, fmt.Errorf("%w: balancer %s has no members", ErrNoMember, b.name)
		}
		return nil, fmt.Errorf("%w: all members of %s are unusable", ErrNoMember, b.name)
	}
	if !dry {
		m.lb.AddElected()
		m.lb.AddBusy(1)
		st.tried = append(st.tried, m)
	}
	st.member, st.mcfg = m, m.cfg.Load()
	st.picked = picked
	if routeChanged {
		st.routeChanged = true
	}
	st.publish()
	if !dry {
		if o := s.obs; o != nil && o.Picked != nil {
			o.Picked(PickEvent{Balancer: b.name, Member: m.name, Reason: reason, LBSet: tier, Attempt: int(st.attempts), Info: st.info(), Context: st})
		}
		b.logPick(st, m)
	}
	return m, nil
}

// usableMembers fills the scratch buffers with every usable member, for
// sticky bookkeeping.
func (sel *selection) usableMembers(s *snapshot) {
	gen := sel.b.flagGen.Load()
	if s.usableCache.valid(gen) {
		sel.use(&s.usableCache)
		return
	}
	sel.reset()
	for _, m := range s.members {
		if sel.isUsable(m) {
			sel.add(m)
		}
	}
	s.usableCache.store(gen, sel)
}

// triedMember reports whether m was chosen for this request already.
func (st *requestState) triedMember(m *member) bool {
	for _, t := range st.tried {
		if t == m {
			return true
		}
	}
	return false
}
