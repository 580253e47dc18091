package lbmethod

// ListScheduler is implemented by schedulers that keep state of their own
// for a candidate list the balancer hands them again and again, so that a
// pick need not touch every member. The balancer names such a list by a
// non-zero id: while the id is the same, the list holds the same members
// in the same order, and their weights ([Member.Weight]) are unchanged.
// For other lists it calls Pick and StickyHit.
//
// Like Pick, the methods are called under the balancer's selection lock.
type ListScheduler interface {
	Scheduler
	// PickList is Pick for the list id. When dry is set (a dry run:
	// Decide) it changes nothing, and returns what Pick would.
	PickList(cands []*Member, id uint64, dry bool) int
	// StickyHitList is StickyHit with usable the list id.
	StickyHitList(m *Member, usable []*Member, id uint64)
	// SyncLBStatus writes the true LBStatus of every member the scheduler
	// keeps state for into Member.LBStatus, before the balancer reads it;
	// with forget set the scheduler also drops its state, before the
	// balancer writes LBStatus itself.
	SyncLBStatus(forget bool)
}

// listedByRequests is the byrequests scheduler [MethodByRequests] makes:
// [ByRequests] that keeps its credits for a named candidate list
// ([ListScheduler]) in a structure of its own, with the same arithmetic
// and the same winners, so that a pick costs O(log n) plus one comparison
// per distinct load factor instead of a pass over the members. Pick,
// StickyHit and Reset (lists without an id) first write the credits back
// to the members. It is not exported, so that a scheduler embedding
// ByRequests to change Pick is never handed lists past its Pick.
type listedByRequests struct {
	ByRequests
	list swrrList
}

var _ ListScheduler = (*listedByRequests)(nil)

// Pick implements [Scheduler].
func (b *listedByRequests) Pick(cands []*Member) int {
	b.list.sync(true)
	b.list.lastID = 0
	return pickSWRR(cands)
}

// StickyHit implements [Scheduler].
func (b *listedByRequests) StickyHit(m *Member, usable []*Member) {
	b.list.sync(true)
	b.list.lastID = 0
	StickyBookkeeping(m, usable)
}

// Reset implements [Scheduler].
func (b *listedByRequests) Reset(all []*Member) {
	b.list.sync(true)
	b.list.lastID = 0
	b.ByRequests.Reset(all)
}

// swrrList is byrequests' state for one candidate list, exact to Apache's
// arithmetic without touching every member on each pick.
//
// Apache adds each candidate's factor to its lbstatus on every pick, then
// takes the largest (the first in order on a tie) and subtracts the sum of
// the factors from it. After k picks over an unchanged list, a member's
// lbstatus is a + k×f, where a changes only when the member wins. So the
// list keeps a per member and k once; members of equal factor keep their
// order under the common k×f, and a heap per factor (largest a, then
// smallest position) gives each factor's leader. A pick compares the
// leaders (one per distinct factor) at k+1 and updates the winner's heap:
// O(factors + log n) instead of O(n), with the same winner as Apache's
// loop, tie for tie.
type swrrList struct {
	id      uint64
	members []*Member // by position (the list's order)
	a       []int64   // LBStatus − k×f, by position
	f       []int64   // weight at build time, by position
	k       int64
	total   int64 // the sum of f
	groups  []swrrGroup
	group   []int32 // each position's group
	slot    []int32 // each position's index in its group's heap
	built   bool
	lastID  uint64 // the id of the previous call, to build only for a list asked for twice in a row
	scratch map[int64]int32
}

// swrrGroup is the heap of the positions whose factor is f.
type swrrGroup struct {
	f    int64
	heap []int32
}

// swrrMaxGroups is the most distinct factors a list may have for the
// state to be kept (beyond it a pick compares too many leaders).
const swrrMaxGroups = 16

// PickList implements [ListScheduler].
func (b *listedByRequests) PickList(cands []*Member, id uint64, dry bool) int {
	l := &b.list
	if !l.ready(cands, id) {
		if dry {
			return peekSWRR(cands)
		}
		return pickSWRR(cands)
	}
	w := l.leader(l.k + 1)
	if !dry {
		l.k++
		l.a[w] -= l.total
		l.down(w)
	}
	return w
}

// StickyHitList implements [ListScheduler].
func (b *listedByRequests) StickyHitList(m *Member, usable []*Member, id uint64) {
	l := &b.list
	if !l.ready(usable, id) {
		StickyBookkeeping(m, usable)
		return
	}
	p := int(m.lpos)
	if p >= len(l.members) || l.members[p] != m { // not in the list: not the balancer's usual call
		l.sync(true)
		StickyBookkeeping(m, usable)
		return
	}
	l.k++
	l.a[p] -= l.total
	l.down(p)
}

// SyncLBStatus implements [ListScheduler].
func (b *listedByRequests) SyncLBStatus(forget bool) { b.list.sync(forget) }

// ready reports whether the state is that of list id, building it when
// the list was asked for by the previous call too; otherwise the members'
// LBStatus is made true for the caller's loop.
func (l *swrrList) ready(cands []*Member, id uint64) bool {
	prev := l.lastID
	l.lastID = id
	if l.built && l.id == id {
		return true
	}
	l.sync(true)
	if id == 0 || id != prev {
		return false
	}
	return l.build(cands, id)
}

// sync writes a + k×f into every member's LBStatus; forget drops the state.
func (l *swrrList) sync(forget bool) {
	if !l.built {
		return
	}
	for p, m := range l.members {
		m.LBStatus = l.a[p] + l.k*l.f[p]
	}
	if forget {
		clear(l.members)
		l.members = l.members[:0]
		l.built = false
	}
}

// build makes the state for cands from their LBStatus; false when they
// have too many distinct factors.
func (l *swrrList) build(cands []*Member, id uint64) bool {
	n := len(cands)
	if l.scratch == nil {
		l.scratch = make(map[int64]int32)
	}
	clear(l.scratch)
	l.groups = l.groups[:0]
	l.members = append(l.members[:0], cands...)
	l.a = resize(l.a, n)
	l.f = resize(l.f, n)
	l.group = resize(l.group, n)
	l.slot = resize(l.slot, n)
	l.k, l.total = 0, 0
	for p, m := range cands {
		f := m.Weight()
		g, ok := l.scratch[f]
		if !ok {
			if len(l.groups) == swrrMaxGroups {
				clear(l.members)
				l.members = l.members[:0]
				return false
			}
			g = int32(len(l.groups))
			l.scratch[f] = g
			if cap(l.groups) > len(l.groups) {
				l.groups = l.groups[:len(l.groups)+1]
				l.groups[g].f, l.groups[g].heap = f, l.groups[g].heap[:0]
			} else {
				l.groups = append(l.groups, swrrGroup{f: f})
			}
		}
		l.a[p], l.f[p], l.group[p] = m.LBStatus, f, g
		l.total += f
		m.lpos = int32(p)
		gr := &l.groups[g]
		l.slot[p] = int32(len(gr.heap))
		gr.heap = append(gr.heap, int32(p))
	}
	for g := range l.groups {
		h := l.groups[g].heap
		for i := len(h)/2 - 1; i >= 0; i-- {
			l.siftDown(int32(g), i)
		}
	}
	l.id, l.built = id, true
	return true
}

func resize[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}

// leader returns the position that wins at step k: of each group's top,
// the largest a + k×f, the first in position on a tie.
func (l *swrrList) leader(k int64) int {
	best := -1
	var bestV int64
	for g := range l.groups {
		p := int(l.groups[g].heap[0])
		v := l.a[p] + k*l.groups[g].f
		if best < 0 || v > bestV || v == bestV && p < best {
			best, bestV = p, v
		}
	}
	return best
}

// before orders a heap: larger a first, then the smaller position.
func (l *swrrList) before(p, q int32) bool {
	return l.a[p] > l.a[q] || l.a[p] == l.a[q] && p < q
}

// down restores p's heap after p's a decreased.
func (l *swrrList) down(p int) {
	l.siftDown(l.group[p], int(l.slot[p]))
}

func (l *swrrList) siftDown(g int32, i int) {
	h := l.groups[g].heap
	for {
		c := 2*i + 1
		if c >= len(h) {
			return
		}
		if c+1 < len(h) && l.before(h[c+1], h[c]) {
			c++
		}
		if !l.before(h[c], h[i]) {
			return
		}
		h[i], h[c] = h[c], h[i]
		l.slot[h[i]], l.slot[h[c]] = int32(i), int32(c)
		i = c
	}
}

// peekSWRR returns what pickSWRR would pick, changing nothing.
func peekSWRR(cands []*Member) int {
	best := -1
	var bestStatus int64
	for i, m := range cands {
		s := m.LBStatus + m.Weight()
		if best < 0 || s > bestStatus {
			best, bestStatus = i, s
		}
	}
	return best
}
