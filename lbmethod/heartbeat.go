package lbmethod

import "math/rand/v2"

// Heartbeat is Apache's heartbeat method (mod_lbmethod_heartbeat): the
// backends report how many worker slots they have ready and busy (see
// [HeartbeatTable]), and Pick chooses a member at random with probability
// proportional to its server's ready count.
//
// For each candidate, in configuration order:
//
//   - its report is the table's entry for Member.Host (an exact string
//     match with the report's source IP; the port is ignored, and a member
//     whose host is a name rather than that IP literal never matches). A
//     member without a report, or whose report is 10 s old or older, is
//     left out;
//   - its weight is the reported ready count, divided by 4 (integer
//     division) when busy is 0: an idle server reports all its slots ready;
//   - members that share a host share one report: each adds the host's
//     weight to the total, and the share of all of them goes to the last
//     of them in configuration order, as in Apache.
//
// Heartbeat ignores lbset, hot spares, hot standbys and draining, as Apache
// does: it implements [AllMembers], so the balancer hands Pick every usable
// member. When no candidate has weight, Pick returns -1 (Apache answers 503).
//
// One deliberate difference: Apache draws from [0, total] inclusive and lets
// the later of two adjacent servers win the shared boundary, so a ready=0
// member placed last is chosen about 1/(total+1) of the time. Pick draws
// each member with probability exactly weight ÷ total, and a member whose
// weight is 0 is never chosen.
//
// Beyond Apache, a member in slow start has its weight scaled by
// Weight ÷ Factor (never below 1 while its server has ready slots).
//
// Pick takes one random draw per weighted candidate (a weighted reservoir
// sample: one pass, no allocation) under the table's read lock, and the
// table's clock judges the reports' age. Asking for a member's host marks
// its server as a member's in the table (see [HeartbeatTable]); a host
// without an entry gets a reserved place (the write lock, once per host). StickyHit and
// Reset are [Base]'s. The zero value has no table and picks nothing. A
// balancer gets its own from [MethodHeartbeat].
type Heartbeat struct {
	Base

	// Table holds the servers' reports. Nil means no reports: Pick returns
	// -1.
	Table *HeartbeatTable
	// Rand returns a uniform random integer in [0, n) for n > 0. Nil means
	// math/rand/v2's Uint64N. It must be safe for concurrent use when
	// Pick may run concurrently.
	Rand func(n uint64) uint64
}

var (
	_ Scheduler  = (*Heartbeat)(nil)
	_ AllMembers = (*Heartbeat)(nil)
)

// NewHeartbeat returns the heartbeat method reading reports from table.
func NewHeartbeat(table *HeartbeatTable) *Heartbeat { return &Heartbeat{Table: table} }

// Name returns "heartbeat".
func (*Heartbeat) Name() string { return "heartbeat" }

// AllMembers reports true: heartbeat ignores lbset, spares, standbys and
// draining.
func (*Heartbeat) AllMembers() bool { return true }

// Pick implements [Scheduler].
func (h *Heartbeat) Pick(cands []*Member) int {
	t := h.Table
	if t == nil {
		return -1
	}
	now := t.now().UnixNano()
	stale := now - int64(heartbeatMaxAge)
	chosen := -1
	var total uint64
	missing := false
	st := &t.store
	st.mu.RLock()
	for i, m := range cands {
		e := st.servers[m.Host]
		if e == nil {
			missing = true
			continue
		}
		e.ask(now)
		if e.seen.Load() <= stale {
			continue
		}
		w := heartbeatWeight(e, m)
		if w == 0 {
			continue
		}
		total += w
		if chosen < 0 || h.rand(total) < w {
			chosen = i
		}
	}
	st.mu.RUnlock()
	if missing {
		st.reserve(cands, now)
	}
	if chosen < 0 {
		return -1
	}
	// Apache files each host's share under the last member with that host.
	host := cands[chosen].Host
	for j := chosen + 1; j < len(cands); j++ {
		if cands[j].Host == host {
			chosen = j
		}
	}
	return chosen
}

// heartbeatWeight is m's share: its server's ready count (÷4 when busy is
// 0), ×100 so that slow start can scale it without rounding to 0.
func heartbeatWeight(e *hbEntry, m *Member) uint64 {
	ready, busy := e.counts()
	if busy == 0 {
		ready /= 4
	}
	if ready == 0 {
		return 0
	}
	w := ready * 100
	if f, rw := rampRatio(m.Factor(), m.Weight()); rw < f {
		w = max(uint64(float64(w)*float64(rw)/float64(f)), 1)
	}
	return w
}

func (h *Heartbeat) rand(n uint64) uint64 {
	if h.Rand != nil {
		return h.Rand(n)
	}
	return rand.Uint64N(n)
}
