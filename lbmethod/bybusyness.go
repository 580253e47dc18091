package lbmethod

import "cmp"

// ByBusyness is Apache's bybusyness method (mod_lbmethod_bybusyness): the
// candidate with the fewest requests in flight wins; among equally busy
// candidates the byrequests rotation decides. Every candidate's LBStatus
// grows by its factor on each pick, as in byrequests, and the winner's
// shrinks by the sum of the candidates' factors; the load factor does not
// scale the busy count, it only steers the tie-break.
//
// Equal busy counts give byrequests' sequence (b1 b2 b3 b1 b2 b3 for equal
// factors); with long requests in flight on b1 and b2, every pick is b3.
//
// The busy count is Member.Busy, which the balancer keeps: it adds one when
// a member is picked, for each attempt, and subtracts one when the client
// request ends (an upgraded connection counts while it is open).
// ByBusyness only reads it, except in Reset.
//
// Beyond Apache, a member in slow start (Weight below Factor) looks busier
// than it is, by the factor ÷ weight ratio, so it takes a growing share of
// the load while it ramps up. Outside slow start the comparison is Apache's
// exactly.
//
// The method is deterministic: it uses no random source and no clock. The
// zero value is ready to use; its state lives in the members, so one
// ByBusyness may serve any number of balancers.
type ByBusyness struct{ Base }

var _ Scheduler = (*ByBusyness)(nil)

// NewByBusyness returns the bybusyness method.
func NewByBusyness() *ByBusyness { return &ByBusyness{} }

// Name returns "bybusyness".
func (*ByBusyness) Name() string { return "bybusyness" }

// Pick implements [Scheduler].
func (*ByBusyness) Pick(cands []*Member) int {
	best := -1
	var total, bestBusy, bestFactor, bestWeight int64
	for i, m := range cands {
		w := m.Weight()
		m.LBStatus += w
		total += w
		busy := m.Busy()
		f, rw := rampRatio(m.Factor(), w)
		if best >= 0 {
			c := compareLoad(busy, f, rw, bestBusy, bestFactor, bestWeight)
			if c > 0 || c == 0 && m.LBStatus <= cands[best].LBStatus {
				continue
			}
		}
		best, bestBusy, bestFactor, bestWeight = i, busy, f, rw
	}
	if best >= 0 {
		cands[best].LBStatus -= total
	}
	return best
}

// Reset zeroes LBStatus and the busy count of every member, as Apache's
// bybusyness reset does, even while requests are in flight; their later
// decrements stop at zero.
func (*ByBusyness) Reset(all []*Member) {
	for _, m := range all {
		m.LBStatus = 0
		m.busy.Store(0)
	}
}

// compareLoad compares busy×f÷w with obusy×of÷ow: outside slow start
// (f == w) that is busy against obusy, as in Apache; otherwise the
// fractions are cross-multiplied to stay in integers.
func compareLoad(busy, f, w, obusy, of, ow int64) int {
	if f == w && of == ow {
		return cmp.Compare(busy, obusy)
	}
	return cmp.Compare(busy*f*ow, obusy*of*w)
}

// rampRatio returns the factor and the weight to scale a member's load by:
// the load is multiplied by f and divided by w. Outside slow start f == w.
// A non-positive value (a Member built without NewMember) counts as no
// scaling rather than a division by zero.
func rampRatio(factor, weight int64) (f, w int64) {
	if factor <= 0 || weight <= 0 {
		return 1, 1
	}
	return factor, weight
}
