package lbmethod

// ByTraffic is Apache's bytraffic method (mod_lbmethod_bytraffic): the
// candidate with the least traffic per unit of load factor wins, where
// traffic is
//
//	Transferred/factor + Read/factor
//
// with two integer divisions and the factor ×100, as Apache computes it.
// The comparison is strict, so the first candidate in configuration order
// wins a tie. Transferred counts the bytes sent to the member (request line,
// headers and body) and Read the bytes received from it (status line and
// body); the balancer adds both through Member.AddTraffic. ByTraffic does not
// use LBStatus, but sticky hits still move it (Apache's default bookkeeping).
//
// With load factors 1 and 2 and equal requests the sequence is
// b1 b2 b2 b1 b2 b2 …; after one large upload to b1, everything goes to b2
// until b2 has carried twice as much.
//
// During slow start the member's Weight takes the factor's place, so a
// ramping member looks as if it had carried more than it did.
//
// The method is deterministic: it uses no random source and no clock. The
// zero value is ready to use; its state lives in the members, so one
// ByTraffic may serve any number of balancers.
type ByTraffic struct{ Base }

var _ Scheduler = (*ByTraffic)(nil)

// NewByTraffic returns the bytraffic method.
func NewByTraffic() *ByTraffic { return &ByTraffic{} }

// Name returns "bytraffic".
func (*ByTraffic) Name() string { return "bytraffic" }

// Pick implements [Scheduler].
func (*ByTraffic) Pick(cands []*Member) int {
	best := -1
	var least int64
	for i, m := range cands {
		w := m.Weight()
		if w <= 0 {
			w = 1 // a Member built without NewMember: no division by zero
		}
		t := m.Transferred()/w + m.Read()/w
		if best < 0 || t < least {
			best, least = i, t
		}
	}
	return best
}

// Reset zeroes the transferred and read byte counts of every member, as
// Apache's bytraffic reset does. LBStatus and the busy counts are left
// alone.
func (*ByTraffic) Reset(all []*Member) {
	for _, m := range all {
		m.transferred.Store(0)
		m.read.Store(0)
	}
}
