package lbmethod

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

// sameKeys fails the test unless want and got send every key to the same
// member, and says how many differ.
func sameKeys(t *testing.T, want, got []int, what string) {
	t.Helper()
	diff := 0
	for i := range want {
		if want[i] != got[i] {
			diff++
		}
	}
	assert.Zero(t, diff, "%s: %d of %d keys go elsewhere", what, diff, len(want))
}

// clones returns Members of the same names and factors as ms: a Hash's
// slots are kept in its members, so another Hash needs its own.
func clones(ms []*Member) []*Member {
	out := make([]*Member, len(ms))
	for i, m := range ms {
		out[i] = NewMember(m.Name, m.Host, m.Factor())
	}
	return out
}

// hashPicks returns the index h picks among cands for each of keys keys (no
// request in flight).
func hashPicks(h *Hash, cands []*Member, list uint64, keys int) []int {
	out := make([]int, keys)
	for i := range out {
		out[i] = h.PickKey(cands, hashString(fmt.Sprint("user", i)), list)
	}
	return out
}

// one is the lists of a balancer of one tier.
func one(ms []*Member) [][]*Member { return [][]*Member{ms} }

// A ring Prepare built is put in use by the first pick that needs it,
// without a build under the lock, and sends every key where a new Hash
// given the same list sends it: for the first list, after members are
// added, and after a load factor change prepared before it happens.
func TestHashPrepared(t *testing.T) {
	const keys = 5000
	fresh := func(cands []*Member, list uint64) []int {
		return hashPicks(newHash(t, HashConfig{}), clones(cands), list, keys)
	}
	ms := hashMembers(0, 100)
	h := newHash(t, HashConfig{})
	h.Prepare(one(ms), nil)
	sameKeys(t, fresh(ms, 1), hashPicks(h, ms, 1, keys), "first list")
	assert.Zero(t, h.ring.builds, "rings built under the lock")

	more := append(hashMembers(0, 100), hashMembers(100, 10)...) // new Members, same names + 10
	h.Prepare(one(more), nil)
	sameKeys(t, fresh(more, 2), hashPicks(h, more, 2, keys), "10 members added")
	assert.Zero(t, h.ring.builds)

	// The balancer prepares a factor change before making it: picks
	// until then keep the ring in use.
	factors := make([]int64, len(more))
	for i := range factors {
		factors[i] = 100
	}
	factors[7] = 400
	h.Prepare(one(more), [][]int64{factors})
	before := hashPicks(h, more, 2, keys)
	sameKeys(t, fresh(more, 2), before, "before the factor changes")
	more[7].SetFactor(400)
	// A new configuration: the balancer's lists get new names.
	after := hashPicks(h, more, 3, keys)
	sameKeys(t, fresh(more, 3), after, "after the factor changed")
	assert.NotEqual(t, before, after)
	assert.Zero(t, h.ring.builds)

	// The same lists again: nothing is built.
	p := h.prepared.Load()
	h.Prepare(one(more), [][]int64{factors})
	assert.True(t, p == h.prepared.Load(), "unchanged lists were built again")
}

// Picks that move between lbset tiers (the members of lbset 0 out of use,
// then back) put each tier's prepared ring in use, and picks in panic mode
// (candidates of every tier) the ring of all members; none is built under
// the lock, and each sends keys where a Hash given only that list does.
func TestHashPreparedTiers(t *testing.T) {
	const keys = 5000
	t0, t1 := hashMembers(0, 40), hashMembers(40, 60)
	every := append(append([]*Member(nil), t0...), t1...)
	h := newHash(t, HashConfig{})
	h.Prepare([][]*Member{t0, t1, every}, nil)
	ref := func(cands []*Member) []int { return hashPicks(newHash(t, HashConfig{}), clones(cands), 1, keys) }
	ref0, ref1, refAll := ref(t0), ref(t1), ref(every)
	for range 2 {
		sameKeys(t, ref0, hashPicks(h, t0, 1, keys), "lbset 0")
		sameKeys(t, ref1, hashPicks(h, t1, 2, keys), "lbset 1")
	}
	sameKeys(t, refAll, hashPicks(h, every, 3, keys), "panic mode")
	sameKeys(t, ref1, hashPicks(h, t1, 2, keys), "lbset 1 after panic mode")
	assert.Zero(t, h.ring.builds, "rings built under the lock")
}

// Members out of use keep the ring: down to 1/16 of its members, the
// candidates left keep every key they had, at 1,000 members too, where a
// ring of only the candidates would place more points per member (and
// before, from half of them out of use, was built under the lock). Below
// that, the candidates get a ring of their own.
func TestHashPreparedOutOfUse(t *testing.T) {
	const keys = 5000
	ms := hashMembers(0, 1000)
	h := newHash(t, HashConfig{})
	h.Prepare(one(ms), nil)
	all := hashPicks(h, ms, 1, keys)
	for list, n := range map[uint64]int{2: 500, 3: 100, 4: 63} {
		cands := ms[:n]
		got := hashPicks(h, cands, list, keys)
		kept := 0
		for i, k := range all {
			if k < n {
				kept++
				assert.Equal(t, k, got[i], "%d of 1000 in use: key %d moved from a member in use", n, i)
			}
		}
		t.Logf("%d of 1000 members in use: the %d keys they had stayed", n, kept)
	}
	assert.Zero(t, h.ring.builds, "rings built under the lock")
	hashPicks(h, ms[:60], 5, 10)
	assert.Equal(t, 1, h.ring.builds, "60 of 1000: a ring of their own")
}

// A pick for a member list a configuration change has replaced (a
// request that began before the change and fails over after it) uses the
// ring in use if it holds its candidates, else builds one under the lock
// that holds both lists, so the picks of the new list need no other. A
// candidate list of fewer than 1/16 of its tier gets a ring of its own.
func TestHashPreparedStale(t *testing.T) {
	const keys = 5000
	// A ring's history matters only through its points per member, which
	// is the same for every list here (below 2^19 points in all), so a
	// Hash that saw only one list is the reference.
	ref := func(cands []*Member) []int { return hashPicks(newHash(t, HashConfig{}), clones(cands), 9, keys) }
	a := hashMembers(0, 100)
	b := hashMembers(50, 100)  // 50 removed, 50 added
	c := hashMembers(100, 100) // b's second half, and 50 new
	h := newHash(t, HashConfig{})
	h.Prepare(one(a), nil)
	hashPicks(h, a, 1, 10)
	h.Prepare(one(b), nil)
	sameKeys(t, ref(b), hashPicks(h, b, 2, keys), "the new list")
	assert.Zero(t, h.ring.builds)

	sameKeys(t, ref(a), hashPicks(h, a, 1, keys), "a pick for the replaced list")
	assert.Equal(t, 1, h.ring.builds)
	sameKeys(t, ref(b), hashPicks(h, b, 2, keys), "the new list again")
	assert.Equal(t, 1, h.ring.builds, "the ring holds both lists")

	h.Prepare(one(c), nil)
	sameKeys(t, ref(a), hashPicks(h, a, 1, keys), "a pick for a list replaced twice, on the ring in use")
	assert.Equal(t, 1, h.ring.builds)
	sameKeys(t, ref(c), hashPicks(h, c, 3, keys), "the newest list")
	assert.Equal(t, 1, h.ring.builds)
	sameKeys(t, ref(b), hashPicks(h, b, 2, keys), "a pick for a replaced list, not on the ring in use")
	assert.Equal(t, 2, h.ring.builds)

	wide := append(append([]*Member(nil), c...), hashMembers(200, 100)...)
	h.Prepare(one(wide), nil)
	sameKeys(t, ref(c[:12]), hashPicks(h, c[:12], 4, keys), "12 of 200 in use")
	assert.Equal(t, 2, h.ring.builds, "on the prepared ring")
	sameKeys(t, ref(c[:11]), hashPicks(h, c[:11], 5, keys), "11 of 200 in use")
	assert.Equal(t, 3, h.ring.builds, "a ring of their own")
}

// Prepare runs while picks go on (the balancer calls it without its
// selection lock): the race detector checks that it touches nothing a
// pick uses, and every pick lands on a candidate.
func TestHashPrepareConcurrentWithPicks(t *testing.T) {
	a := hashMembers(0, 30)
	b := append(append([]*Member(nil), a...), hashMembers(30, 3)...)
	h := newHash(t, HashConfig{})
	var selection sync.Mutex // the balancer's selection lock
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		defer close(done)
		for i := range 20 {
			if i%2 == 0 {
				h.Prepare(one(b), nil)
			} else {
				h.Prepare([][]*Member{a[:10], a[10:]}, nil)
			}
		}
	})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			cands, list := a, uint64(1) // named lists, as the balancer's
			if i%3 == 0 {
				cands, list = b, 2
			}
			selection.Lock()
			k := h.PickKey(cands, uint64(i)*0x9e3779b97f4a7c15, list)
			selection.Unlock()
			if k < 0 || k >= len(cands) {
				t.Errorf("pick %d: index %d of %d candidates", i, k, len(cands))
				return
			}
		}
	})
	wg.Wait()
}

// BenchmarkHashInstall is what the selection lock holds in the first pick
// after a configuration change when the ring was prepared: putting the
// prepared ring in use and marking the candidates (BenchmarkHashBuild is
// what it held before: the build).
func BenchmarkHashInstall(b *testing.B) {
	for _, n := range []int{10, 1000, 10_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ms := hashMembers(0, n)
			h := newHash(b, HashConfig{})
			h.Prepare(one(ms), nil)
			b.ReportAllocs()
			for b.Loop() {
				h.ring.hashTable, h.ring.epoch = hashTable{}, 0 // the ring in use holds nobody
				if h.PickKey(ms, 1, 1) < 0 {
					b.Fatal("no pick")
				}
			}
			if h.ring.builds != 0 {
				b.Fatalf("%d rings built under the lock", h.ring.builds)
			}
		})
	}
}

// BenchmarkHashPrepare is the ring's build by Prepare, outside the lock.
func BenchmarkHashPrepare(b *testing.B) {
	for _, n := range []int{10, 1000, 10_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			lists := [2][]*Member{hashMembers(0, n), hashMembers(0, n)} // equal names, other Members: built each time
			h := newHash(b, HashConfig{})
			i := 0
			for b.Loop() {
				h.Prepare(one(lists[i&1]), nil)
				i++
			}
		})
	}
}

// BenchmarkHashPickKeyOutOfUse is the pick at 10,000 members of which only
// a share is in use, on the ring of all of them (kept down to 1/16): a
// pick passes over the points of the others.
func BenchmarkHashPickKeyOutOfUse(b *testing.B) {
	const n = 10_000
	for _, inUse := range []int{n, n / 2, n / 16} {
		b.Run(fmt.Sprintf("in-use=%d", inUse), func(b *testing.B) {
			ms := hashMembers(0, n)
			h := newHash(b, HashConfig{})
			h.Prepare(one(ms), nil)
			cands := ms[:inUse]
			h.PickKey(cands, 0, 1)
			b.ReportAllocs()
			var key uint64
			for b.Loop() {
				key += 0x9e3779b97f4a7c15
				if h.PickKey(cands, key, 1) < 0 {
					b.Fatal("no pick")
				}
			}
			if h.ring.builds != 0 {
				b.Fatalf("%d rings built under the lock", h.ring.builds)
			}
		})
	}
}
