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
	h.Prepare(ms, nil)
	sameKeys(t, fresh(ms, 1), hashPicks(h, ms, 1, keys), "first list")
	assert.Zero(t, h.ring.builds, "rings built under the lock")
	assert.True(t, h.prepared.Load() == nil, "the prepared ring is in use")

	more := append(hashMembers(0, 100), hashMembers(100, 10)...) // new Members, same names + 10
	h.Prepare(more, nil)
	sameKeys(t, fresh(more, 2), hashPicks(h, more, 2, keys), "10 members added")
	assert.Zero(t, h.ring.builds)

	// The balancer prepares a factor change before making it: picks
	// until then keep the ring in use.
	factors := make([]int64, len(more))
	for i := range factors {
		factors[i] = 100
	}
	factors[7] = 400
	h.Prepare(more, factors)
	before := hashPicks(h, more, 2, keys)
	sameKeys(t, fresh(more, 2), before, "before the factor changes")
	more[7].SetFactor(400)
	// A new configuration: the balancer's lists get new names.
	after := hashPicks(h, more, 3, keys)
	sameKeys(t, fresh(more, 3), after, "after the factor changed")
	assert.NotEqual(t, before, after)
	assert.Zero(t, h.ring.builds)
	assert.True(t, h.prepared.Load() == nil, "the prepared ring is in use")

	// The same list again: nothing is built.
	h.Prepare(more, factors)
	assert.True(t, h.prepared.Load() == nil, "an unchanged list was built again")
}

// A pick for a member list a configuration change has replaced (a
// request that began before the change and fails over after it) uses the
// ring in use if it holds its candidates, else builds one under the lock
// that holds both lists, so the picks of the new list need no other. A
// candidate list much smaller than the prepared one (a small lbset) gets
// a ring of its own.
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
	h.Prepare(a, nil)
	hashPicks(h, a, 1, 10)
	h.Prepare(b, nil)
	sameKeys(t, ref(b), hashPicks(h, b, 2, keys), "the new list")
	assert.Zero(t, h.ring.builds)

	sameKeys(t, ref(a), hashPicks(h, a, 1, keys), "a pick for the replaced list")
	assert.Equal(t, 1, h.ring.builds)
	sameKeys(t, ref(b), hashPicks(h, b, 2, keys), "the new list again")
	assert.Equal(t, 1, h.ring.builds, "the ring holds both lists")

	h.Prepare(c, nil)
	sameKeys(t, ref(a), hashPicks(h, a, 1, keys), "a pick for a list replaced twice, on the ring in use")
	assert.Equal(t, 1, h.ring.builds)
	assert.True(t, h.prepared.Load() != nil, "still prepared")
	sameKeys(t, ref(c), hashPicks(h, c, 3, keys), "the newest list")
	assert.Equal(t, 1, h.ring.builds)
	assert.True(t, h.prepared.Load() == nil, "the prepared ring is in use")
	sameKeys(t, ref(b), hashPicks(h, b, 2, keys), "a pick for a replaced list, not on the ring in use")
	assert.Equal(t, 2, h.ring.builds)

	tier := c[:10]
	h.Prepare(hashMembers(0, 200), nil)
	sameKeys(t, ref(tier), hashPicks(h, tier, 4, keys), "a small tier")
	assert.Equal(t, 3, h.ring.builds, "its own ring")
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
				h.Prepare(b, nil)
			} else {
				h.Prepare(a, nil)
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
			h.Prepare(ms, nil)
			t := h.prepared.Load()
			b.ReportAllocs()
			for b.Loop() {
				h.prepared.Store(t)
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
				h.Prepare(lists[i&1], nil)
				i++
			}
		})
	}
}
