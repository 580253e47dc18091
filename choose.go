package balancer

import (
	"fmt"
	"slices"
	"time"

	"github.com/proxybalancer/balancer/lbmethod"
)

// selection is one choice of a member, made in two steps under the
// selection lock: plan decides where the request goes and which members
// leave error state, reading the members' flags as they would be after
// those changes and changing no flag; commit makes the changes. Decide
// plans only. The reports of the changes (Observer, logger) are made after
// the lock is released (see flagEvent).
type selection struct {
	t time.Time // the time, read when first needed (see now)
	// forced: forced recovery takes every member out of error state.
	forced bool
	// dry: a plan only (Decide): the scheduler's credits must not move.
	dry bool
	// exclude, when set, makes the members it tried unusable (a retry
	// after send goes to a member not tried yet).
	exclude *requestState
	sc      *scratch // the balancer's buffers; the selection lock is held
	b       *Balancer

	// cands and members are the current candidates: the scratch buffers
	// or a cache's; list is the cache's id (see candCache), 0 for the
	// scratch buffers.
	cands   []*lbmethod.Member
	members []*member
	list    uint64
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
//
// id names the list for a lbmethod.ListScheduler: caches of one snapshot
// holding the same members in the same order share an id (a balancer of
// one tier hands its scheduler the same list for picks and sticky hits),
// and any other list gets an id never used before by the balancer. A
// snapshot's caches are new, so a change of load factors (a new snapshot)
// gives new ids.
//
// A list with members in error state holds until the first of their
// retries is due (until, a clock reading in ns; 0 = no such member).
type candCache struct {
	gen     uint64
	ok      bool
	id      uint64
	until   int64
	cands   []*lbmethod.Member
	members []*member
}

func (c *candCache) valid(gen uint64) bool { return c.ok && c.gen == gen }

// validNow is valid, and the time has not come for a member's retry.
func (c *candCache) validNow(gen uint64, sel *selection) bool {
	return c.valid(gen) && (c.until == 0 || sel.now().UnixNano() <= c.until)
}

func (c *candCache) store(gen uint64, sel *selection, s *snapshot) {
	c.cands = append(c.cands[:0], sel.cands...)
	c.members = append(c.members[:0], sel.members...)
	c.gen, c.ok, c.until = gen, true, 0
	c.id = s.listID(c, sel.sc)
}

// listID returns the id of c's list: that of another valid cache of s
// holding the same list, else a new one.
func (s *snapshot) listID(c *candCache, sc *scratch) uint64 {
	same := func(o *candCache) bool {
		return o != c && o.valid(c.gen) && slices.Equal(o.cands, c.cands)
	}
	if same(&s.usableCache) {
		return s.usableCache.id
	}
	for i := range s.tierCache {
		if same(&s.tierCache[i]) {
			return s.tierCache[i].id
		}
	}
	sc.lists++
	return sc.lists
}

func (sel *selection) use(c *candCache) {
	sel.cands, sel.members, sel.list = c.cands, c.members, c.id
}

// scratch holds the buffers one selection fills: the candidates handed to
// the scheduler, their members, the members whose retry passed (in the
// order the plan found them), and saved credits for Decide. One per
// balancer, used under the selection lock, so a request allocates none.
type scratch struct {
	cands   []*lbmethod.Member
	members []*member
	leaving []*member
	saved   []int64
	lists   uint64 // the last candCache id given
}

func (sel *selection) reset() {
	sel.cands, sel.members, sel.list = sel.sc.cands[:0], sel.sc.members[:0], 0
}

// add appends a candidate to the scratch buffers (after reset).
func (sel *selection) add(m *member) {
	sel.cands = append(sel.cands, &m.lb)
	sel.members = append(sel.members, m)
	sel.sc.cands, sel.sc.members = sel.cands, sel.members
}

// flags returns m's flags as the plan has them: without StatusError when
// the plan takes m out of error state.
func (sel *selection) flags(m *member) Status {
	f := m.flags()
	if f&StatusError != 0 && (sel.forced || slices.Contains(sel.sc.leaving, m)) {
		f &^= StatusError
	}
	return f
}

// usable reports whether m can take a request, first giving a member in
// error state its retry (Apache's retry_worker at this point): the plan
// takes m out of error state when its retry is due.
func (sel *selection) usable(m *member) bool {
	if sel.exclude != nil && sel.exclude.triedMember(m) {
		return false
	}
	f := sel.flags(m)
	if f.Usable() {
		return true
	}
	if f&StatusError != 0 && m.retryDue(sel.now()) {
		sel.sc.leaving = append(sel.sc.leaving, m)
		f &^= StatusError
	}
	return f.Usable()
}

// isUsable reports usability without giving a retry.
func (sel *selection) isUsable(m *member) bool {
	if sel.exclude != nil && sel.exclude.triedMember(m) {
		return false
	}
	return sel.flags(m).Usable()
}

// forceRecovery is Apache's force_recovery: members in error state are
// given their retry in order until one is found out of error; when none is
// and forcerecovery is on, every member leaves error state at once.
func (sel *selection) forceRecovery(s *snapshot) {
	for _, m := range s.members {
		if sel.flags(m)&StatusError == 0 {
			return
		}
		if m.retryDue(sel.now()) {
			sel.sc.leaving = append(sel.sc.leaving, m)
			return
		}
	}
	if s.forceRecover && len(s.members) > 0 {
		sel.forced = true
	}
}

// commit makes the flag changes the plan decided, appending their reports
// to evs for after the lock: with forced recovery every member leaves
// error state, else those whose retry passed.
func (sel *selection) commit(s *snapshot, evs []flagEvent) []flagEvent {
	leave := func(m *member, why string) {
		m.retries.Add(1)
		if from, to, ok := m.swapFlags(0, StatusError, sel.now()); ok {
			evs = append(evs, flagEvent{m, from, to, why})
		}
	}
	if sel.forced {
		for _, m := range s.members {
			leave(m, "forced recovery")
		}
	} else {
		for _, m := range sel.sc.leaving {
			leave(m, "retry passed")
		}
	}
	sel.forced, sel.sc.leaving = false, sel.sc.leaving[:0]
	return evs
}

// routeMember is Apache's find_route_worker: the first member, regular
// members before hot standbys, that owns route and is usable; an unusable
// owner's redirect is followed, at most len(members)-1 hops. lbset, spares
// and draining do not matter here.
func (sel *selection) routeMember(s *snapshot, route string, depth int) *member {
	for pass := 0; pass < 2; pass++ {
		standby := pass == 1
		for _, m := range s.routes[route] {
			if (sel.flags(m)&StatusStandby != 0) != standby {
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
func (sel *selection) candidates(s *snapshot, tier []*member, cache *candCache) {
	gen := sel.b.flagGen.Load()
	if sel.exclude == nil && cache.validNow(gen, sel) {
		sel.use(cache)
		return
	}
	sel.reset()
	// A tier with a member the plan takes out of error state is not
	// cached; one with members staying in error state is, until the first
	// of their retries is due.
	cacheable := !sel.forced && sel.exclude == nil
	var until int64
	unusable := 0
	for _, m := range tier {
		f := sel.flags(m)
		if f&StatusDrain != 0 {
			if f&(StatusSpare|StatusStandby) == 0 {
				unusable++
			}
			continue
		}
		leaving := len(sel.sc.leaving)
		ok := sel.usable(m)
		if m.flags()&StatusError != 0 {
			if len(sel.sc.leaving) > leaving {
				cacheable = false // its retry is now
			} else if at, ever := m.retryAt(); ever {
				if at <= 0 {
					cacheable = false // due at once
				} else if until == 0 || at < until {
					until = at
				}
			}
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
		if f := sel.flags(m); f&StatusSpare != 0 && f&StatusDrain == 0 && sel.isUsable(m) {
			sel.add(m)
			unusable--
		}
	}
	if len(sel.cands) == 0 {
		for _, m := range tier {
			if f := sel.flags(m); f&StatusStandby != 0 && f&(StatusSpare|StatusDrain) == 0 && sel.isUsable(m) {
				sel.add(m)
			}
		}
	}
	if cacheable {
		cache.store(gen, sel, s)
		cache.until = until
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
// its lbset, or nil.
func (sel *selection) pick(st *requestState, s *snapshot) (*member, int) {
	if s.panic > 0 && sel.panicking(s) {
		sel.panicCandidates(st, s)
		if m := sel.schedule(st, s); m != nil {
			return m, m.cfg.Load().lbset
		}
		return nil, -1
	}
	if s.all {
		sel.allCandidates(st, s)
		if m := sel.schedule(st, s); m != nil {
			return m, m.cfg.Load().lbset
		}
		return nil, -1
	}
	for i, tier := range s.tiers {
		sel.candidates(s, tier, &s.tierCache[i])
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
	var i int
	switch {
	case s.keys != nil && st.hasKey:
		list := sel.list
		if sel.b.ramping.Load() {
			list = 0 // weights change without a new list id
		}
		i = s.keys.PickKey(sel.cands, st.key, list)
	case sel.listed(s):
		i = s.lists.PickList(sel.cands, sel.list, sel.dry)
	case sel.dry:
		// The scheduler's Pick moves its credits: they are put back.
		if s.lists != nil {
			s.lists.SyncLBStatus(true)
		}
		saved := sel.sc.saved[:0]
		for _, c := range sel.cands {
			saved = append(saved, c.LBStatus)
		}
		sel.sc.saved = saved
		i = s.sched.Pick(sel.cands)
		for k, c := range sel.cands {
			c.LBStatus = saved[k]
		}
	default:
		i = s.sched.Pick(sel.cands)
	}
	if i < 0 || i >= len(sel.cands) {
		return nil
	}
	return sel.members[i]
}

// listed reports whether the scheduler is to be handed the current
// candidates as a named list: a ListScheduler, a cached list, and weights
// that hold (no member in slow start).
func (sel *selection) listed(s *snapshot) bool {
	return s.lists != nil && sel.list != 0 && !sel.b.ramping.Load()
}

// decision is what a plan decided for one attempt.
type decision struct {
	m            *member // nil: none (503)
	reason       Reason
	tier         int // the lbset the method chose from, or -1
	routeChanged bool
}

// plan decides where st goes, as Apache's proxy_balancer_pre_request:
// forced recovery, the sticky route, else the scheduler. It changes no
// flag (sel records the members leaving error state, for commit); the
// scheduler's Pick updates its credits. The caller holds the selection
// lock.
func (sel *selection) plan(st *requestState) decision {
	s := st.snap
	d := decision{tier: -1}
	sel.forceRecovery(s)
	if st.hasRoute && st.route != "" {
		if m := sel.routeMember(s, st.route, 1); m != nil {
			d.m, d.reason = m, ReasonSticky
			if m.cfg.Load().route != st.route {
				d.reason, d.routeChanged = ReasonRedirected, true
			}
			return d
		}
		if s.noFailover && s.routeOwned(st.route) {
			d.reason = ReasonNoFailover
			return d
		}
	}
	if m, tier := sel.pick(st, s); m != nil {
		d.m, d.reason, d.tier = m, ReasonScheduled, tier
		d.routeChanged = s.sticky != nil
	}
	return d
}

// choose runs one attempt's routing: it plans and commits under the
// selection lock, then reports the flag changes and the pick. It records
// the member and the BALANCER_* values in st; a nil member comes with an
// error wrapping ErrNoMember.
func (b *Balancer) choose(st *requestState) (*member, error) {
	s := st.snap
	sel := selection{sc: &b.scratch, b: b}
	picked := b.mono()
	if st.excludeTried {
		sel.exclude = st
	}
	var buf [2]flagEvent
	b.mu.Lock()
	if b.ramping.Load() {
		// Slow start: set the weights of ramping members for now. A Begin
		// racing this sets ramping again after its ramp is visible.
		b.ramping.Store(false)
		if s.slow.Update(s.lbs, sel.now()) {
			b.ramping.Store(true)
		}
	}
	d := sel.plan(st)
	evs := sel.commit(s, buf[:0])
	if d.reason == ReasonSticky || d.reason == ReasonRedirected {
		sel.usableMembers(s)
		if sel.listed(s) {
			s.lists.StickyHitList(&d.m.lb, sel.cands, sel.list)
		} else {
			s.sched.StickyHit(&d.m.lb, sel.cands)
		}
	}
	b.mu.Unlock()
	b.report(evs)
	m, err := b.decided(st, d, picked)
	if m == nil {
		return nil, err
	}
	m.lb.AddElected()
	m.lb.AddBusy(1)
	st.tried = append(st.tried, m)
	if o := s.obs; o != nil && o.Picked != nil {
		o.Picked(PickEvent{Balancer: b.name, Member: m.name, Reason: d.reason, LBSet: d.tier, Attempt: int(st.attempts), Info: st.info(), Context: st})
	}
	b.logPick(st, m)
	return m, nil
}

// decided records decision d, made at picked, in st and returns its member,
// or nil and an error wrapping ErrNoMember.
func (b *Balancer) decided(st *requestState, d decision, picked time.Duration) (*member, error) {
	if !st.started {
		st.start, st.started = picked, true // the request's first choice: its start
	}
	st.reason, st.tier = d.reason, int32(d.tier)
	m := d.m
	if m == nil {
		s := st.snap
		switch {
		case d.reason == ReasonNoFailover:
			return nil, fmt.Errorf("%w: route %q is unusable and nofailover is on", ErrNoMember, st.route)
		case len(s.members) == 0:
			return nil, fmt.Errorf("%w: balancer %s has no members", ErrNoMember, b.name)
		}
		return nil, fmt.Errorf("%w: all members of %s are unusable", ErrNoMember, b.name)
	}
	st.member, st.mcfg = m, m.cfg.Load()
	st.picked = picked
	if d.routeChanged {
		st.routeChanged = true
	}
	st.publish()
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
	s.usableCache.store(gen, sel, s)
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
