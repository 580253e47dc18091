package lbmethod

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refList is a list of members as the balancer would hand it: an id (0 =
// not cached) and the positions of the members it holds.
type refList struct {
	id  uint64
	pos []int
}

// TestByRequestsListSameAsApache: the list state picks exactly what
// Apache's loop picks (pickSWRR over Member.LBStatus), pick for pick, and
// leaves the same LBStatus, through random mixes of picks, dry picks,
// sticky hits, lists changing (ids), lists handed without an id, reads of
// LBStatus and resets, with equal, few and many distinct factors.
func TestByRequestsListSameAsApache(t *testing.T) {
	for _, factors := range [][]int64{{100}, {100, 200, 300}, {100, 150, 250, 1000, 50}, nil} {
		for seed := range uint64(20) {
			t.Run(fmt.Sprintf("factors %v seed %d", factors, seed), func(t *testing.T) {
				rnd := rand.New(rand.NewPCG(seed, 99))
				n := 1 + rnd.IntN(40)
				ours, ref := make([]*Member, n), make([]*Member, n)
				for i := range n {
					f := int64(100 + rnd.IntN(5000)) // nil: up to n distinct factors
					if factors != nil {
						f = factors[rnd.IntN(len(factors))]
					}
					ours[i] = NewMember(fmt.Sprint("b", i), "", f)
					ref[i] = NewMember(fmt.Sprint("b", i), "", f)
				}
				br := &listedByRequests{}
				var nextID uint64
				newList := func() refList {
					var l refList
					for i := range n {
						if rnd.IntN(4) != 0 {
							l.pos = append(l.pos, i)
						}
					}
					if len(l.pos) == 0 {
						l.pos = []int{rnd.IntN(n)}
					}
					if rnd.IntN(5) != 0 {
						nextID++
						l.id = nextID
					}
					return l
				}
				of := func(ms []*Member, l refList) []*Member {
					out := make([]*Member, len(l.pos))
					for i, p := range l.pos {
						out[i] = ms[p]
					}
					return out
				}
				cur := newList()
				for step := range 3000 {
					switch op := rnd.IntN(100); {
					case op < 2: // the members' states changed: another list
						cur = newList()
					case op < 3: // the balancer reads LBStatus
						br.SyncLBStatus(rnd.IntN(2) == 0)
						for i := range n {
							require.Equal(t, ref[i].LBStatus, ours[i].LBStatus, "step %d member %d", step, i)
						}
					case op < 4:
						br.Reset(ours)
						(&ByRequests{}).Reset(ref)
					case op < 14: // a sticky hit on a member of the list
						k := rnd.IntN(len(cur.pos))
						if cur.id != 0 {
							br.StickyHitList(ours[cur.pos[k]], of(ours, cur), cur.id)
						} else {
							br.StickyHit(ours[cur.pos[k]], of(ours, cur))
						}
						StickyBookkeeping(ref[cur.pos[k]], of(ref, cur))
					case op < 24: // a dry run
						var got int
						if cur.id != 0 {
							got = br.PickList(of(ours, cur), cur.id, true)
						} else {
							br.SyncLBStatus(true)
							got = peekSWRR(of(ours, cur))
						}
						require.Equal(t, peekSWRR(of(ref, cur)), got, "step %d: dry pick", step)
					default:
						var got int
						if cur.id != 0 {
							got = br.PickList(of(ours, cur), cur.id, false)
						} else {
							got = br.Pick(of(ours, cur))
						}
						require.Equal(t, pickSWRR(of(ref, cur)), got, "step %d: pick", step)
					}
				}
				br.SyncLBStatus(false)
				for i := range n {
					assert.Equal(t, ref[i].LBStatus, ours[i].LBStatus, "member %d at the end", i)
				}
			})
		}
	}
}

// BenchmarkByRequestsPickList is a pick from a list the balancer names by
// id, against the loop over every member (Pick), at 1,000 and 10,000
// members of equal factor and of three factors.
func BenchmarkByRequestsPickList(b *testing.B) {
	for _, n := range []int{1000, 10_000} {
		for _, kinds := range []int{1, 3} {
			ms := make([]*Member, n)
			for i := range ms {
				ms[i] = NewMember(fmt.Sprint("b", i), "", int64(100*(1+i%kinds)))
			}
			b.Run(fmt.Sprintf("list/members=%d/factors=%d", n, kinds), func(b *testing.B) {
				br := &listedByRequests{}
				br.PickList(ms, 1, false)
				b.ReportAllocs()
				for b.Loop() {
					br.PickList(ms, 1, false)
				}
			})
			b.Run(fmt.Sprintf("loop/members=%d/factors=%d", n, kinds), func(b *testing.B) {
				br := &listedByRequests{}
				b.ReportAllocs()
				for b.Loop() {
					br.Pick(ms)
				}
			})
		}
	}
}
