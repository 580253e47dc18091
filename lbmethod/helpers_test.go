package lbmethod

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// seeded returns a fixed-seed random source in the shape the methods take.
func seeded() func(n uint64) uint64 { return rand.New(rand.NewPCG(1, 2)).Uint64N }

// fakeClock is a settable clock for Now fields.
type fakeClock struct{ t time.Time }

func newClock() *fakeClock                   { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }
func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

// shares picks n times and returns each member's fraction of the picks
// (index len(ms) counts -1 answers).
func shares(s Scheduler, ms []*Member, n int) []float64 {
	counts := make([]int, len(ms)+1)
	for range n {
		k := s.Pick(ms)
		if k < 0 {
			k = len(ms)
		}
		counts[k]++
	}
	out := make([]float64, len(counts))
	for i, c := range counts {
		out[i] = float64(c) / float64(n)
	}
	return out
}

// checkShares fails unless every share is within tol of want (same length
// as ms; the -1 share must be 0).
func checkShares(t *testing.T, got, want []float64, tol float64) {
	t.Helper()
	for i, w := range want {
		if d := got[i] - w; d > tol || d < -tol {
			t.Errorf("member %d share %.4f, want %.4f ± %.3f (all %v)", i+1, got[i], w, tol, got)
		}
	}
	if got[len(want)] != 0 {
		t.Errorf("no member chosen in %.4f of picks", got[len(want)])
	}
}

// benchSizes are the member counts every method is benchmarked at.
var benchSizes = []int{2, 16, 256}

// benchPick benchmarks s.Pick over n members built by mk.
func benchPick(b *testing.B, mk func(n int) (Scheduler, []*Member)) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s, ms := mk(n)
			b.ReportAllocs()
			for b.Loop() {
				if s.Pick(ms) < 0 {
					b.Fatal("no pick")
				}
			}
		})
	}
}
