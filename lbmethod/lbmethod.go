// Package lbmethod holds the load-balancing methods (schedulers) of a
// balancer: Apache's byrequests, bytraffic, bybusyness and heartbeat, and the
// methods Apache lacks.
//
// A [Scheduler] picks one member out of the candidates the balancer hands it.
// The balancer, not the scheduler, decides which members are candidates
// (lbset tiers, hot spares, hot standbys, draining members, error state), as
// Apache's proxy_balancer_get_best_worker does, so a scheduler only compares.
//
// The package imports only the standard library: the balancer's members are
// seen through [Member], a small struct the balancer owns.
package lbmethod

import (
	"sync/atomic"
	"time"
)

// Member is one balancer member as a scheduler sees it. The balancer creates
// one per member and keeps it across member-list updates, so the counters
// survive a configuration change.
//
// The counters are safe for concurrent use. LBStatus is not atomic: it is read
// and written only by Pick, StickyHit and Reset, which the balancer never
// calls concurrently for one balancer (it holds its selection lock).
//
// A Member must not be copied after first use.
type Member struct {
	// Name is the member's normalised URL (Apache's worker name).
	Name string
	// Host is the host part of the member URL, without the port; the
	// heartbeat method matches reports to members by it.
	Host string

	// LBStatus is Apache's lbstatus: the running credit of the smooth
	// weighted round robin used by byrequests and bybusyness. Guarded by the
	// balancer's selection lock. A [ListScheduler] may keep the true value
	// elsewhere between picks: the balancer calls its SyncLBStatus before
	// reading or writing LBStatus itself.
	LBStatus int64

	factor      atomic.Int64 // loadfactor x100, 100..10000
	busy        atomic.Int64 // requests in flight (per attempt, until the client request ends)
	transferred atomic.Int64 // bytes sent to the member
	read        atomic.Int64 // bytes received from the member
	elected     atomic.Int64 // times chosen
	weight      atomic.Int64 // effective factor x100 during slow start; 0 = Factor

	rampStart atomic.Int64  // slow start: clock reading (ns) when the ramp began; 0 = not ramping
	lat       atomic.Uint64 // latency method: peak-EWMA response time in ns, as float64 bits; 0 = no sample
	latAt     atomic.Int64  // latency method: clock reading (ns) of the last sample

	hslot int32    // hash method: the member's slot on its ring; guarded like LBStatus
	lpos  int32    // byrequests: the member's position in its list state; guarded like LBStatus
	hb    *hbEntry // heartbeat: its server's entry, as last found; guarded like LBStatus
}

// NewMember returns a Member with the given name, host and load factor
// (×100, as Apache stores it: loadfactor 2.25 is 225).
func NewMember(name, host string, factor int64) *Member {
	m := &Member{Name: name, Host: host}
	m.factor.Store(factor)
	return m
}

// Factor returns the load factor ×100 (loadfactor=1 is 100).
func (m *Member) Factor() int64 { return m.factor.Load() }

// SetFactor changes the load factor (×100).
func (m *Member) SetFactor(f int64) { m.factor.Store(f) }

// Weight returns the factor a scheduler should weigh the member by: the
// load factor, or less while the member is in slow start.
func (m *Member) Weight() int64 {
	if w := m.weight.Load(); w > 0 {
		return w
	}
	return m.factor.Load()
}

// SetWeight sets the effective weight (×100) used while the member ramps up
// after becoming usable; 0 returns to the load factor.
func (m *Member) SetWeight(w int64) { m.weight.Store(w) }

// Busy returns the number of requests in flight on the member.
func (m *Member) Busy() int64 { return m.busy.Load() }

// AddBusy adds d (±1) to the in-flight count; it never goes below zero.
func (m *Member) AddBusy(d int64) {
	if d >= 0 {
		m.busy.Add(d)
		return
	}
	for {
		old := m.busy.Load()
		nv := old + d
		if nv < 0 {
			nv = 0
		}
		if m.busy.CompareAndSwap(old, nv) {
			return
		}
	}
}

// Transferred returns the bytes sent to the member.
func (m *Member) Transferred() int64 { return m.transferred.Load() }

// Read returns the bytes received from the member.
func (m *Member) Read() int64 { return m.read.Load() }

// AddTraffic adds bytes sent to and received from the member.
func (m *Member) AddTraffic(sent, received int64) {
	if sent != 0 {
		m.transferred.Add(sent)
	}
	if received != 0 {
		m.read.Add(received)
	}
}

// Elected returns how many times the member was chosen.
func (m *Member) Elected() int64 { return m.elected.Load() }

// AddElected counts one more choice of the member.
func (m *Member) AddElected() { m.elected.Add(1) }

// ResetCounters zeroes busy, transferred and read, as Apache's lbmethod
// reset functions do; LBStatus is the caller's to reset.
func (m *Member) ResetCounters() {
	m.busy.Store(0)
	m.transferred.Store(0)
	m.read.Store(0)
}

// DoneInfo describes one finished attempt on a member.
type DoneInfo struct {
	// Status is the response status, or 0 when no response arrived.
	Status int
	// Err is the attempt's error, nil on success.
	Err error
	// Sent and Received are the bytes sent to and received from the member
	// during the attempt.
	Sent, Received int64
	// Latency is the time from the pick until the response headers arrived
	// (or the attempt failed).
	Latency time.Duration
}

// Scheduler is one balancer's instance of a load-balancing method: the
// balancer gets it from [Method.New] and is its only user.
//
// The balancer calls Pick, StickyHit and Reset with its selection lock held,
// never concurrently for one balancer, so they may update Member.LBStatus
// without locking; they must not block or do I/O. Done may be called
// concurrently with anything and must synchronise itself.
type Scheduler interface {
	// Pick returns the index in cands of the member to use, or -1 when none
	// is acceptable. cands is non-empty, in Apache's order (usable regular
	// members of the tier in configuration order, then the spares standing
	// in for unusable ones, or else the tier's hot standbys). Pick must
	// not keep cands.
	Pick(cands []*Member) int
	// StickyHit is called when sticky routing chose m without asking Pick.
	// usable lists every usable member of the balancer, in configuration
	// order, m included.
	StickyHit(m *Member, usable []*Member)
	// Done is called once per attempt when the attempt ends.
	Done(m *Member, info DoneInfo)
	// Reset clears the method's state for all members, as when the method
	// of a running balancer is changed.
	Reset(all []*Member)
}

// Preparer is implemented by schedulers with state that depends on the
// member list and costs too much to build under the balancer's selection
// lock, such as the rings of [Hash]. The balancer calls Prepare when it is
// created and at each configuration change (Update, Reconfigure, Apply),
// after validating it and before any member's load factor changes or the
// new member list is used, with the lists it will take the scheduler's
// candidates from: one per lbset tier, ascending, each in configuration
// order (one list of every member for an [AllMembers] scheduler), and,
// when it has several tiers and a panic threshold
// (Config.PanicThreshold), a last list of every member: candidates in
// panic mode span the tiers. factors[i][j] is the load factor (×100)
// lists[i][j] will have; nil means the members' current factors. The
// scheduler builds what it needs from the lists without changing the
// members (not even LBStatus), and puts it in use at a later Pick under
// the selection lock.
//
// The balancer holds its configuration lock during Prepare, never its
// selection lock: requests are picked meanwhile, with the member list in
// force. So Prepare may run concurrently with Pick, StickyHit and Done (it
// must synchronise with them itself), must not block on anything but its
// own work, and must not call the balancer.
type Preparer interface {
	Scheduler
	Prepare(lists [][]*Member, factors [][]int64)
}

// AllMembers is implemented by schedulers that ignore lbset tiers, spares,
// standbys and draining, as Apache's heartbeat does. For them the balancer
// passes every usable member in configuration order to Pick.
type AllMembers interface {
	AllMembers() bool
}

// Base provides Apache's default sticky-hit bookkeeping and no-op Done and
// Reset; embed it in a Scheduler that needs nothing else.
type Base struct{}

// StickyHit applies Apache's default updatelbstatus: every usable member's
// LBStatus grows by its factor and the chosen member's shrinks by the sum of
// those factors (mod_proxy_balancer.c, proxy_balancer_pre_request).
func (Base) StickyHit(m *Member, usable []*Member) { StickyBookkeeping(m, usable) }

// Done does nothing.
func (Base) Done(*Member, DoneInfo) {}

// Reset zeroes LBStatus of every member.
func (Base) Reset(all []*Member) {
	for _, m := range all {
		m.LBStatus = 0
	}
}

// StickyBookkeeping is Apache's default sticky-hit update of lbstatus; see
// [Base.StickyHit].
func StickyBookkeeping(m *Member, usable []*Member) {
	var total int64
	for _, u := range usable {
		f := u.Weight()
		u.LBStatus += f
		total += f
	}
	m.LBStatus -= total
}
