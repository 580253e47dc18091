package lbmethod

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"
)

func newLatency(c *fakeClock) *Latency {
	return &Latency{Now: c.Now, Rand: seeded()}
}

// feed gives m one sample of d at the clock's time.
func feed(l *Latency, m *Member, d time.Duration) { l.Done(m, DoneInfo{Status: 200, Latency: d}) }

func TestLatencyTwoMembers(t *testing.T) {
	// With two candidates both are compared on every pick: deterministic.
	type mem struct {
		lat    time.Duration // one sample; 0 = none
		busy   int64
		factor int64
		weight int64
	}
	tests := []struct {
		name string
		a, b mem
		want string
	}{
		{"faster wins", mem{20 * time.Millisecond, 0, 100, 0}, mem{10 * time.Millisecond, 0, 100, 0}, "b2"},
		{"in flight multiplies", mem{10 * time.Millisecond, 3, 100, 0}, mem{20 * time.Millisecond, 0, 100, 0}, "b2"},
		{"in flight, not enough", mem{10 * time.Millisecond, 1, 100, 0}, mem{30 * time.Millisecond, 0, 100, 0}, "b1"},
		{"load factor divides", mem{10 * time.Millisecond, 0, 100, 0}, mem{15 * time.Millisecond, 0, 200, 0}, "b2"},
		{"slow start weight divides", mem{10 * time.Millisecond, 0, 100, 0}, mem{5 * time.Millisecond, 0, 100, 25}, "b1"},
		// b1 is measured at 10 ms, so the mean is 10 ms; the cold b2 is
		// taken as average but has one request fewer in flight.
		{"cold is average", mem{10 * time.Millisecond, 1, 100, 0}, mem{0, 0, 100, 0}, "b2"},
		{"no samples: fewest in flight", mem{0, 2, 100, 0}, mem{0, 1, 100, 0}, "b2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			l := newLatency(c)
			ms := members(tt.a.factor, tt.b.factor)
			for i, m := range []mem{tt.a, tt.b} {
				if m.lat > 0 {
					feed(l, ms[i], m.lat)
				}
				ms[i].AddBusy(m.busy)
				ms[i].SetWeight(m.weight)
			}
			for i := range 20 {
				if got := sequence(l, ms, 1); got != tt.want {
					t.Fatalf("pick %d = %s, want %s", i, got, tt.want)
				}
			}
		})
	}
}

func TestLatencyShares(t *testing.T) {
	// Power of two choices over 10 / 20 / 40 ms: the fastest wins whenever
	// drawn (2/3), the middle one only against the slowest (1/3), the
	// slowest never. Binomial σ over 10,000 picks is under 0.5%.
	c := newClock()
	l := newLatency(c)
	ms := members(100, 100, 100)
	for i, d := range []time.Duration{10, 20, 40} {
		feed(l, ms[i], d*time.Millisecond)
	}
	got := shares(l, ms, 10000)
	checkShares(t, got, []float64{2.0 / 3, 1.0 / 3, 0}, 0.02)
	if got[2] != 0 {
		t.Errorf("the slowest member was chosen %.4f of the time", got[2])
	}

	// Equal costs split evenly, whatever the order.
	l.Reset(ms)
	checkShares(t, shares(l, ms[:2], 10000), []float64{0.5, 0.5}, 0.02)
}

func TestLatencyPeakEWMA(t *testing.T) {
	c := newClock()
	l := newLatency(c)
	m := members(100)[0]
	if _, ok := l.Estimate(m); ok {
		t.Fatal("a fresh member reports a measurement")
	}
	feed(l, m, 10*time.Millisecond)
	c.Advance(time.Second)
	feed(l, m, 100*time.Millisecond) // above: taken at once
	if e, _ := l.Estimate(m); e != 100*time.Millisecond {
		t.Fatalf("after a peak: estimate %v, want 100ms", e)
	}
	// A sample below is blended by 1 − e^(−Δt/Decay): Δt = Decay gives
	// 100·e⁻¹ + 10·(1 − e⁻¹) ≈ 43.1 ms.
	c.Advance(10 * time.Second)
	feed(l, m, 10*time.Millisecond)
	want := 100*math.Exp(-1) + 10*(1-math.Exp(-1))
	got, ok := l.Estimate(m)
	if !ok || math.Abs(float64(got)/1e6-want) > 0.01 {
		t.Fatalf("after blending: estimate %v, want %.2fms", got, want)
	}
	// A failed attempt counts as at least the penalty; a cancelled one
	// does not count.
	l.Done(m, DoneInfo{Err: context.Canceled, Latency: time.Hour})
	if e, _ := l.Estimate(m); e != got {
		t.Errorf("a cancelled attempt moved the estimate to %v", e)
	}
	l.Done(m, DoneInfo{Err: errors.New("connection reset"), Latency: time.Millisecond})
	if e, _ := l.Estimate(m); e != time.Second {
		t.Errorf("after a failure: estimate %v, want the 1s penalty", e)
	}
	l.Penalty = 5 * time.Second
	l.Done(m, DoneInfo{Err: errors.New("timeout"), Latency: time.Millisecond})
	if e, _ := l.Estimate(m); e != 5*time.Second {
		t.Errorf("after a failure with Penalty 5s: estimate %v", e)
	}

	l.Reset([]*Member{m})
	if e, ok := l.Estimate(m); ok || e != 0 {
		t.Errorf("after Reset: estimate %v measured %v, want nothing", e, ok)
	}
}

// TestLatencyIdleDecay: a member that was slow once and then stopped being
// chosen drifts back to the mean and is chosen again, so it cannot starve.
func TestLatencyIdleDecay(t *testing.T) {
	c := newClock()
	l := newLatency(c)
	ms := members(100, 100)
	fast, slow := ms[0], ms[1]
	feed(l, slow, 500*time.Millisecond)
	c.Advance(time.Millisecond)
	feed(l, fast, time.Millisecond)
	fast.AddBusy(1) // one request in flight: cost 2 ms

	var chosenAfter time.Duration = -1
	for step := range 100 {
		// Traffic keeps the fast member and the mean fresh at 1 ms.
		for range 10 {
			c.Advance(100 * time.Millisecond)
			feed(l, fast, time.Millisecond)
		}
		if ms[l.Pick(ms)] == slow {
			chosenAfter = time.Duration(step+1) * time.Second
			break
		}
	}
	// The mean started at the 500 ms sample and decays to 1 ms as
	// 1 + 499·x with x = e^(−t/10s); the slow member's estimate is
	// mean + (500 − mean)·x ≈ 1 + 998·x ms, below the fast member's 2 ms
	// once t > 10s·ln 998 ≈ 69.1 s: at the 70th second.
	if chosenAfter < 68*time.Second || chosenAfter > 72*time.Second {
		t.Fatalf("slow member chosen again after %v, want about 70s", chosenAfter)
	}
	e, _ := l.Estimate(slow)
	if e > 2*time.Millisecond || e < time.Millisecond {
		t.Errorf("slow member's estimate %v when chosen, want between the mean and 2ms", e)
	}
}

func TestLatencyOneCandidate(t *testing.T) {
	l := &Latency{Rand: func(uint64) uint64 { t.Fatal("Rand called for one candidate"); return 0 }}
	if got := l.Pick(members(100)); got != 0 {
		t.Errorf("Pick of one = %d, want 0", got)
	}
}

func TestLatencyConcurrentDone(t *testing.T) {
	// Done runs from every finished attempt at once; Pick meanwhile.
	l := NewLatency()
	ms := members(100, 100, 100, 100)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 500 {
				l.Done(ms[(g+i)%len(ms)], DoneInfo{Latency: time.Duration(1+i%7) * time.Millisecond})
			}
		})
	}
	wg.Go(func() {
		for range 500 {
			if k := l.Pick(ms); k < 0 || k >= len(ms) {
				t.Errorf("Pick = %d", k)
				return
			}
		}
	})
	wg.Wait()
	for _, m := range ms {
		e, ok := l.Estimate(m)
		if !ok || e < time.Millisecond || e > 7*time.Millisecond {
			t.Errorf("%s estimate %v, want within the samples' 1..7ms", m.Name, e)
		}
	}
}

func BenchmarkLatencyPick(b *testing.B) {
	benchPick(b, func(n int) (Scheduler, []*Member) {
		l := NewLatency()
		ms := make([]*Member, n)
		for i := range ms {
			ms[i] = NewMember("m", "h", 100)
			ms[i].AddBusy(int64(i % 3))
			l.Done(ms[i], DoneInfo{Latency: time.Duration(1+i%5) * time.Millisecond})
		}
		return l, ms
	})
}

func BenchmarkLatencyDone(b *testing.B) {
	l := NewLatency()
	m := NewMember("m", "h", 100)
	info := DoneInfo{Latency: time.Millisecond}
	b.ReportAllocs()
	for b.Loop() {
		l.Done(m, info)
	}
}
