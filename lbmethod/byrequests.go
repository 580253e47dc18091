package lbmethod

// ByRequests is Apache's byrequests method (mod_lbmethod_byrequests): a
// smooth weighted round robin over the members' load factors ×100. On each
// pick every candidate's LBStatus grows by its factor, the candidate with the
// largest LBStatus wins (the first in configuration order on a tie), and the
// winner's LBStatus shrinks by the sum of the candidates' factors.
//
// Factors 1, 2, 3 give b3 b2 b1 b3 b2 b3, repeating.
//
// The zero value is ready to use. Its state lives in Member.LBStatus, so one
// ByRequests may serve any number of balancers.
type ByRequests struct{ Base }

var _ Scheduler = (*ByRequests)(nil)

// NewByRequests returns the byrequests method.
func NewByRequests() *ByRequests { return &ByRequests{} }

// Name returns "byrequests".
func (*ByRequests) Name() string { return "byrequests" }

// Pick implements [Scheduler].
func (*ByRequests) Pick(cands []*Member) int {
	return pickSWRR(cands)
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
