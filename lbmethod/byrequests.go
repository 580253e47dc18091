package lbmethod

// ByRequests is Apache's byrequests method (mod_lbmethod_byrequests): a
// smooth weighted round robin over the members' load factors ×100. On each
// pick every candidate's LBStatus grows by its factor, the candidate with the
// largest LBStatus wins (the first in configuration order on a tie), and the
// winner's LBStatus shrinks by the sum of the candidates' factors.
//
// Factors 1, 2, 3 give b3 b2 b1 b3 b2 b3, repeating.
//
// For a candidate list the balancer hands again and again ([ListScheduler])
// ByRequests keeps the credits in a structure of its own, with the same
// arithmetic and the same winners, so that a pick costs O(log n) plus one
// comparison per distinct load factor instead of a pass over the members;
// Member.LBStatus is then brought up to date by SyncLBStatus.
//
// The zero value is ready to use. A ByRequests keeps per-balancer state:
// use one per balancer (as the balancer does with [MethodByRequests]).
type ByRequests struct {
	Base
	list swrrList
}

var _ Scheduler = (*ByRequests)(nil)

// NewByRequests returns the byrequests method.
func NewByRequests() *ByRequests { return &ByRequests{} }

// Name returns "byrequests".
func (*ByRequests) Name() string { return "byrequests" }

// Pick implements [Scheduler].
func (b *ByRequests) Pick(cands []*Member) int {
	b.list.sync(true)
	b.list.lastID = 0
	return pickSWRR(cands)
}

// StickyHit implements [Scheduler]: Apache's bookkeeping (see
// [Base.StickyHit]).
func (b *ByRequests) StickyHit(m *Member, usable []*Member) {
	b.list.sync(true)
	b.list.lastID = 0
	StickyBookkeeping(m, usable)
}

// Reset implements [Scheduler]: every member's LBStatus is zeroed.
func (b *ByRequests) Reset(all []*Member) {
	b.list.sync(true)
	b.list.lastID = 0
	b.Base.Reset(all)
}

// pickSWRR is the smooth weighted round robin shared by byrequests and
// bybusyness' tie-break.
func pickSWRR(cands []*Member) int {
	best := -1
	var total, bestStatus int64
	for i, m := range cands {
		f := m.Weight()
		m.LBStatus += f
		total += f
		if best < 0 || m.LBStatus > bestStatus {
			best, bestStatus = i, m.LBStatus
		}
	}
	if best >= 0 {
		cands[best].LBStatus -= total
	}
	return best
}
