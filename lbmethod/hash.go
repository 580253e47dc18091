package lbmethod

import (
	"fmt"
	"math"
	"math/bits"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
)

// DefaultHashBalance is the bounded-loads factor c a [Hash] uses when
// HashConfig.Balance is zero: no member takes more than 1.25 times its
// share of the requests in flight.
const DefaultHashBalance = 1.25

// KeyScheduler is a [Scheduler] that can also pick by a request key, such
// as a consistent-hashing method. For a request that has a key the balancer
// calls PickKey instead of Pick, with the same candidates, the same lock
// and the same tiers (lbset, spares, standbys, draining and error states
// are the balancer's, as for Pick), and only when sticky routing did not
// choose a member. A request without a key goes to Pick.
type KeyScheduler interface {
	Scheduler
	// RequestKey returns r's key and true, or false when r has none. The
	// balancer calls it at most once per request, outside its lock; it
	// must not allocate, keep r or change it.
	RequestKey(r *http.Request) (key uint64, ok bool)
	// PickKey is Pick for a request whose key is key. list names cands
	// as for [ListScheduler] (the same non-zero id: the same members in
	// the same order, weights unchanged), or is 0 for a list without a
	// name.
	PickKey(cands []*Member, key, list uint64) int
}

// HashConfig configures a consistent-hashing method; see [NewHash].
type HashConfig struct {
	// Key says where a request's key comes from. The zero value hashes
	// the client's IP address.
	Key HashKey
	// Balance is c of consistent hashing with bounded loads: a member
	// whose requests in flight would exceed c times its share of all the
	// candidates' requests in flight (plus this one), its share being its
	// weight over the candidates' total weight, is passed over for the
	// next member on the ring. Zero means [DefaultHashBalance]; a negative
	// value turns bounded loads off (pure consistent hashing); otherwise it
	// must be at least 1.
	Balance float64
}

// Hash is consistent hashing with bounded loads, a method Apache lacks
// ("hash" in [ByName], keyed by the client's IP address). A request's key
// (a header, cookie, query parameter, the client address or the path: see
// [HashKey]) is hashed to a point on a ring; the request goes to the
// owner of the first point clockwise from it that belongs to a candidate
// whose load is within bounds (see HashConfig.Balance). Each member owns a
// number of points proportional to its load factor, placed by hashing the
// member's name, so the ring depends only on the members' names and
// factors: every balancer with the same members sends a key to the same
// member, adding a member moves only the keys that now land on its points
// (its share), and removing one or putting one out of use moves only the
// keys it had (to the next candidates on the ring), as long as at least
// 1/16 of the ring's members are candidates (below that they get a ring of
// their own, which at large totals has more points per member). A member
// in slow start keeps its points and gets a smaller bound.
//
// The number of points per member: 1000 per unit of load factor while the
// total stays within 2^19 points; beyond that, a power of two chosen from
// the members' total load factor (at least one per member). A member
// list whose total crosses such a step moves about 1/points of the keys
// once.
//
// A request without a key is picked by byrequests' smooth weighted round
// robin (as [ByRequests]); StickyHit and Reset are [Base]'s.
//
// PickKey searches the ring (a bucket index, then a binary search within
// the bucket). It reads every candidate only when the list has no name
// or another one than the previous pick's (to mark the candidates on the
// ring) and when the key lands on a member with requests in flight (to sum
// the loads the bound is computed from).
//
// Building a ring costs O(points log points): tens of milliseconds at
// thousands of members. The balancer has the rings of its lbset tiers
// (and, for panic mode, of all its members) built by [Hash.Prepare] after
// each configuration change, before the new member list or load factors
// are used and without its selection lock; a PickKey that needs one of
// them only puts it in use (O(members), no allocation), as when picks
// move from one tier to another. PickKey builds a ring itself, under the
// lock, only when no ring it has holds its candidates with their load
// factors: a candidate list of fewer than 1/16 of its list's members
// (most of them out of use), a load factor changed by other means than a
// configuration change, a pick for a member list that a configuration
// change has since replaced, or a Hash used without Prepare.
//
// A Hash keeps per-balancer state: use one per balancer. Pick, PickKey,
// StickyHit and Reset are called under the balancer's selection lock;
// RequestKey, Done and Prepare are safe for concurrent use with them and
// with each other.
type Hash struct {
	Base

	key     HashKey
	balance float64 // c; 0 = unbounded

	ring hashRing // guarded by the selection lock

	prepMu      sync.Mutex  // serialises Prepare
	prepLists   [][]*Member // the lists last prepared, and their factors
	prepFactors [][]int64
	// prepared holds the tables Prepare built last, until a newer
	// Prepare replaces them.
	prepared atomic.Pointer[hashTables]
}

// hashTables are the tables of the lists given to Prepare, and which of
// the first 64 tables each member is on (a bit per table).
type hashTables struct {
	tables []*hashTable
	on     map[*Member]uint64
}

var _ Preparer = (*Hash)(nil)

var _ KeyScheduler = (*Hash)(nil)

// NewHash returns a consistent-hashing method configured by cfg. The
// error names the field and value that are out of range.
func NewHash(cfg HashConfig) (*Hash, error) {
	if err := cfg.Key.check(); err != nil {
		return nil, err
	}
	b := cfg.Balance
	switch {
	case b == 0:
		b = DefaultHashBalance
	case b < 0:
		b = 0
	case b < 1 || math.IsNaN(b) || math.IsInf(b, 0):
		return nil, fmt.Errorf("lbmethod: hash balance %v: out of range (at least 1, 0 for %v, negative for no bound)", cfg.Balance, DefaultHashBalance)
	}
	return &Hash{key: cfg.Key, balance: b}, nil
}

// hashMethod is the Method MethodHash returns; comparable, so methods of
// the same configuration are equal.
type hashMethod struct{ cfg HashConfig }

func (hashMethod) Name() string { return "hash" }
func (m hashMethod) New() Scheduler {
	h, _ := NewHash(m.cfg) // checked by MethodHash
	return h
}

// MethodHash returns the consistent-hashing method ([Hash]) configured by
// cfg, named "hash"; the error names the field and value out of range.
// Methods of equal configurations are equal (==).
func MethodHash(cfg HashConfig) (Method, error) {
	if _, err := NewHash(cfg); err != nil {
		return nil, err
	}
	if err := cfg.Key.check(); err != nil {
		return nil, err
	}
	return hashMethod{cfg}, nil
}

// Key returns where the method takes a request's key from.
func (h *Hash) Key() HashKey { return h.key }

// Balance returns c of the bounded loads, 0 when loads are not bounded.
func (h *Hash) Balance() float64 { return h.balance }

// RequestKey implements [KeyScheduler]: the hash of r's key.
func (h *Hash) RequestKey(r *http.Request) (uint64, bool) { return h.key.Hash(r) }

// Pick implements [Scheduler] for requests without a key: byrequests'
// smooth weighted round robin.
func (*Hash) Pick(cands []*Member) int { return pickSWRR(cands) }

// PickKey implements [KeyScheduler].
func (h *Hash) PickKey(cands []*Member, key, list uint64) int {
	r := &h.ring
	if !r.same(cands, list) && !r.mark(cands, list) {
		h.refresh(cands, list)
	}
	for {
		i, ok := r.lookup(cands, key, h.balance)
		if ok {
			return i
		}
		// The pick landed on a member whose factor changed.
		h.refresh(cands, list)
	}
}

// refresh puts in use a ring that holds cands with their factors, and
// marks them: a prepared one if one does (one of the tables their first
// member is on, large enough and not too large), else one built now.
func (h *Hash) refresh(cands []*Member, list uint64) {
	r := &h.ring
	if p := h.prepared.Load(); p != nil {
		for on := p.on[cands[0]]; on != 0; on &= on - 1 {
			t := p.tables[bits.TrailingZeros64(on)]
			if len(t.members) < len(cands) || r.tooLarge(len(t.members), len(cands)) {
				continue
			}
			r.install(t)
			if r.mark(cands, list) {
				return
			}
			// Not for these candidates (a pick for a member list that
			// was replaced, or that spans this one and others).
		}
	}
	r.build(cands)
	r.mark(cands, list)
}

// Prepare implements [Preparer]: it builds the ring of each list, of its
// members with their factors (nil: their current ones), for PickKey to
// put in use when its candidates are on one, and holds no lock PickKey
// takes meanwhile. Lists equal to the ones prepared last are not built
// again. Only the first 64 lists are looked for; a member listed twice
// in one list has its points once.
func (h *Hash) Prepare(lists [][]*Member, factors [][]int64) {
	if factors == nil {
		factors = make([][]int64, len(lists))
		for i, l := range lists {
			factors[i] = make([]int64, len(l))
			for j, m := range l {
				factors[i][j] = m.Factor()
			}
		}
	}
	if len(factors) != len(lists) {
		panic(fmt.Sprintf("lbmethod: Hash.Prepare: factors for %d lists, %d lists", len(factors), len(lists)))
	}
	for i, l := range lists {
		if len(factors[i]) != len(l) {
			panic(fmt.Sprintf("lbmethod: Hash.Prepare: list %d: %d factors for %d members", i, len(factors[i]), len(l)))
		}
	}
	h.prepMu.Lock()
	defer h.prepMu.Unlock()
	if slices.EqualFunc(lists, h.prepLists, slices.Equal) && slices.EqualFunc(factors, h.prepFactors, slices.Equal) {
		return
	}
	h.prepLists, h.prepFactors = clone2(lists), clone2(factors)
	p := &hashTables{on: map[*Member]uint64{}}
	for i, l := range lists {
		if len(p.tables) == 64 {
			break
		}
		bit := uint64(1) << len(p.tables)
		ms := make([]*Member, 0, len(l))
		fs := make([]int64, 0, len(l))
		for j, m := range l {
			if p.on[m]&bit == 0 {
				p.on[m] |= bit
				ms = append(ms, m)
				fs = append(fs, factors[i][j])
			}
		}
		if len(ms) > 0 {
			p.tables = append(p.tables, newHashTable(ms, fs))
		}
	}
	h.prepared.Store(p)
}

// clone2 copies a slice of slices.
func clone2[T any](s [][]T) [][]T {
	out := make([][]T, len(s))
	for i, e := range s {
		out[i] = slices.Clone(e)
	}
	return out
}

// hashRing is the ring in use by one Hash: a table of the points of every
// member it knows (a prepared member list, or the members of recent
// candidate lists), and which of them are the current candidates. A pick
// marks which known members are candidates; points of other members are
// passed over.
type hashRing struct {
	hashTable
	epoch uint32
	last  []*Member // the candidates of the current epoch, when unnamed
	list  uint64    // the name of the current epoch's list; 0 = none

	builds int // tables built under the lock (by build), for tests
}

// hashTable is a built ring: the points of a set of members, sorted by
// hash. It is built without touching the members (Prepare builds one with
// no lock held) and belongs to one hashRing once installed.
type hashTable struct {
	members []*Member // by slot
	factors []int64   // each slot's factor when the table was built
	seen    []uint32  // the epoch in which the slot was last a candidate
	pos     []int32   // its index in that epoch's candidate list

	hashes []uint64 // the points, ascending
	owners []int32  // the slot owning each point
	// index[b] is the first point whose top bits are b or more (b <
	// len(index)-1); index[len-1] == len(hashes). A lookup searches only
	// its bucket, about four points, not the whole ring.
	index []int32
	shift uint8 // 64 − the bits of a bucket number
}

// install puts t in use: each member's hslot names its slot in t.
func (r *hashRing) install(t *hashTable) {
	clear(t.seen) // stamps of an earlier install's epochs
	r.hashTable = *t
	for i, m := range t.members {
		m.hslot = int32(i)
	}
	r.epoch = 0
}

// tooLarge reports whether a ring of members members is too large for a
// candidate list of cands: a pick would pass over more than 16 points of
// other members on average. Below that, the ring is kept, so members out
// of use do not move the others' keys (a smaller ring can have more
// points per member) and need no new ring when they return.
func (*hashRing) tooLarge(members, cands int) bool { return members > 16*cands+8 }

// same reports whether cands are the current epoch's candidates (the
// balancer hands the same list while no member changed state): the same
// name, or for a list without a name the same members.
func (r *hashRing) same(cands []*Member, list uint64) bool {
	if r.epoch == 0 {
		return false
	}
	if list != 0 {
		return r.list == list
	}
	return r.list == 0 && slices.Equal(cands, r.last)
}

// mark stamps the slots of cands with a new epoch; it returns false when a
// candidate is not on the ring or its factor changed, or when the ring
// holds many more members than cands (they would only be passed over).
func (r *hashRing) mark(cands []*Member, list uint64) bool {
	r.epoch++
	if r.epoch == 0 { // wrapped: no slot may look current
		clear(r.seen)
		r.epoch = 1
	}
	r.list = list
	if list == 0 {
		r.last = append(r.last[:0], cands...)
	}
	for i, m := range cands {
		s := int(m.hslot)
		if s >= len(r.members) || r.members[s] != m || r.factors[s] != m.Factor() {
			r.epoch = 0 // nothing is marked: never the same
			return false
		}
		r.seen[s], r.pos[s] = r.epoch, int32(i)
	}
	if r.tooLarge(len(r.members), len(cands)) {
		r.epoch = 0
		return false
	}
	return true
}

// Points per unit of load factor (a factor of 100) and the total the ring
// aims to stay within.
const (
	hashPointsPerUnit = 1000
	hashPointsBudget  = 1 << 19
)

// build rebuilds the ring for the members it knows that are still
// wanted, plus cands: when the known members are not many more than the
// candidates they are kept (a member out of use keeps its points for when
// it comes back), otherwise only cands are.
func (r *hashRing) build(cands []*Member) {
	keep := r.members
	if r.tooLarge(len(keep), len(cands)) {
		keep = nil
	}
	members := make([]*Member, 0, len(keep)+len(cands))
	for _, ms := range [][]*Member{keep, cands} {
		for _, m := range ms {
			m.hslot = -1
		}
	}
	for _, ms := range [][]*Member{keep, cands} {
		for _, m := range ms {
			if m.hslot >= 0 {
				continue // already placed (a candidate that was known)
			}
			m.hslot = int32(len(members))
			members = append(members, m)
		}
	}
	factors := make([]int64, len(members))
	for i, m := range members {
		factors[i] = m.Factor()
	}
	r.install(newHashTable(members, factors))
	r.builds++
}

// newHashTable builds the table of members (each once) with their
// factors. It reads only the members' names.
func newHashTable(members []*Member, factors []int64) *hashTable {
	var total int64
	for _, f := range factors {
		total += max(f, 1)
	}
	per := pointsPerUnit(total)
	n := 0
	counts := make([]int, len(members))
	for i, f := range factors {
		counts[i] = max(int(int64(per)*max(f, 1)/100), 1)
		n += counts[i]
	}
	type point struct {
		h    uint64
		slot int32
	}
	pts := make([]point, 0, n)
	for i, m := range members {
		base := hashString(m.Name)
		for j := range counts[i] {
			pts = append(pts, point{mix64(base + uint64(j+1)*0x9e3779b97f4a7c15), int32(i)})
		}
	}
	slices.SortFunc(pts, func(a, b point) int {
		if a.h != b.h {
			if a.h < b.h {
				return -1
			}
			return 1
		}
		// Equal hashes (rare): the smaller name first, so the order does
		// not depend on the member list's order.
		switch an, bn := members[a.slot].Name, members[b.slot].Name; {
		case an < bn:
			return -1
		case an > bn:
			return 1
		}
		return 0
	})
	t := &hashTable{
		members: members,
		factors: factors,
		seen:    make([]uint32, len(members)),
		pos:     make([]int32, len(members)),
		hashes:  make([]uint64, len(pts)),
		owners:  make([]int32, len(pts)),
	}
	for i, p := range pts {
		t.hashes[i], t.owners[i] = p.h, p.slot
	}
	t.buildIndex()
	return t
}

// buildIndex fills index for about four points per bucket.
func (t *hashTable) buildIndex() {
	b := max(bits.Len(uint(len(t.hashes)/4)), 1)
	t.shift = uint8(64 - b)
	t.index = make([]int32, 1<<b+1)
	p := 0
	for k := range 1 << b {
		for p < len(t.hashes) && t.hashes[p]>>t.shift < uint64(k) {
			p++
		}
		t.index[k] = int32(p)
	}
	t.index[1<<b] = int32(len(t.hashes))
}

// search returns the index of the first point at or after key (len(hashes)
// when every point is before it: the lookup wraps around).
func (r *hashTable) search(key uint64) int {
	k := key >> r.shift
	lo, hi := int(r.index[k]), int(r.index[k+1])
	i, _ := slices.BinarySearch(r.hashes[lo:hi], key)
	return lo + i
}

// pointsPerUnit returns the points per unit of load factor for members
// whose factors (×100) sum to total.
func pointsPerUnit(total int64) int {
	units := max(total/100, 1)
	if units*hashPointsPerUnit <= hashPointsBudget {
		return hashPointsPerUnit
	}
	// The largest power of two keeping the total within the budget, so
	// small changes to the member list do not change it.
	p := hashPointsBudget / units
	if p < 1 {
		return 1
	}
	return 1 << (bits.Len64(uint64(p)) - 1)
}

// lookup returns the index in cands of the owner of the first point at or
// after key whose member is a candidate within its bound (c = 0: no
// bound), or of the first candidate's point when every candidate is at its
// bound (possible only while loads change under the pick). ok is false
// when it met a candidate whose factor changed since the ring was built.
//
// A member of weight w is within its bound while busy < c × (T+1) × w ÷ W,
// T and W being the candidates' requests in flight and weights, i.e. while
// busy+1 ≤ ceil(c × (T+1) × w ÷ W): compared cross-multiplied, exact in
// float64 for any realistic count. An idle member is always within it, so
// T and W are summed (a pass over the candidates) only when the member
// the key lands on is busy.
func (r *hashRing) lookup(cands []*Member, key uint64, c float64) (int, bool) {
	n := len(r.hashes)
	start := r.search(key)
	var inflight, weight int64
	summed := false
	first := -1
	for k := range n {
		i := start + k
		if i >= n {
			i -= n
		}
		s := r.owners[i]
		if r.seen[s] != r.epoch {
			continue
		}
		p := int(r.pos[s])
		m := cands[p]
		if m.Factor() != r.factors[s] {
			return 0, false
		}
		if c <= 0 {
			return p, true
		}
		if first < 0 {
			first = p
		}
		busy := m.Busy()
		if busy == 0 {
			return p, true
		}
		if !summed {
			for _, o := range cands {
				inflight += o.Busy()
				weight += o.Weight()
			}
			summed = true
		}
		if float64(busy)*float64(weight) < c*float64(inflight+1)*float64(m.Weight()) {
			return p, true
		}
	}
	return first, true
}
