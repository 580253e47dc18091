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
// Pick weighs every candidate, then takes one random draw; the table's
// clock judges the reports' age. Each member keeps a reference to its
// server's entry, so a pick looks the table up (under its read lock) only
// for a member whose entry is not known yet or was dropped; it allocates
// nothing once its buffer has grown to the candidates. Asking for a
// member's host marks its server as a member's in the table (see
// [HeartbeatTable]); a host without an entry gets a reserved place (the
// write lock, once per host). StickyHit and Reset are [Base]'s. The zero
// value has no table and picks nothing.
//
// A Heartbeat keeps per-balancer state (its buffer, the members'
// references): use one per balancer, as [MethodHeartbeat] gives each
// balancer its own.
type Heartbeat struct {
	Base

	// Table holds the servers' reports. Nil means no reports: Pick returns
	// -1.
	Table *HeartbeatTable
	// Rand returns a uniform random integer in [0, n) for n > 0. Nil means
	// math/rand/v2's Uint64N.
	Rand func(n uint64) uint64

	weights []uint64 // Pick's buffer
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
	st := &t.store
	w := h.weights[:0]
	var total uint64
	missing, locked := false, false
	for _, m := range cands {
		e := m.hb
		if e == nil || e.gone.Load() || e.owner != st || e.ip != m.Host {
			if !locked {
				st.mu.RLock()
				locked = true
			}
			e = st.servers[m.Host]
			m.hb = e
		}
		var wt uint64
		if e == nil {
			missing = true
		} else {
			e.ask(now)
			if e.seen.Load() > stale {
				wt = heartbeatWeight(e, m)
			}
		}
		w = append(w, wt)
		total += wt
	}
	if locked {
		st.mu.RUnlock()
	}
	h.weights = w
	if missing {
		st.reserve(cands, now)
	}
	if total == 0 {
		return -1
	}
	r := h.rand(total)
	chosen := -1
	for i, wt := range w {
		if r < wt {
			chosen = i
			break
		}
		r -= wt
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
