package lbmethod

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// Latency is a latency-aware method beyond Apache ("latency" in [ByName]):
// peak-EWMA response times combined with the power of two random choices.
//
// Each member keeps a peak exponentially weighted moving average of its
// response time, fed by Done from DoneInfo.Latency. A sample above the
// average replaces it at once (the peak), so a slowing member is avoided at
// once; a sample below it is blended in with weight 1 − e^(−Δt/Decay),
// where Δt is the time since the member's previous sample, so the average
// recovers over about Decay rather than over a number of requests. A failed
// attempt counts as at least Penalty; an attempt the client cancelled is not
// a sample.
//
// Pick draws two different candidates at random and takes the one with the
// lower cost
//
//	cost = estimate × (in-flight + 1) ÷ weight
//
// where in-flight is Member.Busy and weight is Member.Weight (the load
// factor, lower in slow start); an exact tie goes to the first of the two
// drawn, so ties split evenly. With one candidate Pick returns it without a
// draw. A member whose cost is strictly the highest is never chosen while
// there are two or more candidates.
//
// So that no member starves, the estimate Pick uses is pulled toward the
// balancer-wide mean (an EWMA of every sample, same Decay): a member with
// no sample yet (cold) is taken to be exactly average, and a member's
// estimate moves toward the mean as time passes without samples,
//
//	estimate = mean + (average − mean) × e^(−idle/Decay)
//
// where idle is the time from the member's last sample to the latest
// sample of any member (so Pick reads no clock, and idleness is measured
// while the balancer has traffic). A member that was slow once and then
// stopped being chosen looks average again after a few Decays and competes
// as an unmeasured member would: it is chosen as soon as the members
// measured faster have enough requests in flight, and is then measured
// afresh. Before any sample at all the cost is (in-flight + 1) ÷ weight:
// least requests with two choices.
//
// The zero value is ready to use. Pick and Done are safe for concurrent use
// (atomics only: no locks, no allocation). The balancer-wide mean lives in
// the Latency: each balancer gets its own from [MethodLatency] (or from a
// [MethodFunc] returning a Latency with other settings). A Latency must
// not be copied after first use.
type Latency struct {
	Base

	// Decay is the time constant of the averages: after Decay an old
	// sample weighs 1/e as much, and an idle member's estimate has moved
	// 63% of the way to the mean. Zero or negative means 10 s.
	Decay time.Duration
	// Penalty is the least latency a failed attempt (DoneInfo.Err set)
	// counts as. Zero means 1 s; negative counts the measured latency.
	Penalty time.Duration
	// Rand returns a uniform random integer in [0, n) for n > 0. Nil means
	// math/rand/v2's Uint64N. It must be safe for concurrent use when
	// Pick may run concurrently.
	Rand func(n uint64) uint64
	// Now is the clock Done stamps samples with. Nil means time.Now.
	Now func() time.Time

	mean   atomic.Uint64 // EWMA of every sample in ns, float64 bits; 0 = none yet
	meanAt atomic.Int64  // clock reading (ns) of the last sample
}

var _ Scheduler = (*Latency)(nil)

// NewLatency returns the latency method with the default settings.
func NewLatency() *Latency { return &Latency{} }

// Name returns "latency".
func (*Latency) Name() string { return "latency" }

// Pick implements [Scheduler].
func (l *Latency) Pick(cands []*Member) int {
	n := len(cands)
	if n <= 1 {
		return n - 1
	}
	i := int(l.rand(uint64(n)))
	j := int(l.rand(uint64(n - 1)))
	if j >= i {
		j++
	}
	ref := l.meanAt.Load()
	mean := math.Float64frombits(l.mean.Load())
	tau := l.decay()
	ci := l.cost(cands[i], ref, mean, tau)
	cj := l.cost(cands[j], ref, mean, tau)
	if cj < ci {
		return j
	}
	return i
}

// Done feeds the attempt's latency into m's average and the mean.
func (l *Latency) Done(m *Member, info DoneInfo) {
	if errors.Is(info.Err, context.Canceled) {
		return // the client left: nothing learnt about the member
	}
	x := float64(info.Latency)
	if info.Err != nil {
		p := l.Penalty
		if p == 0 {
			p = time.Second
		}
		x = max(x, float64(p))
	}
	x = max(x, 1) // 0 marks "no sample"
	now := l.now().UnixNano()
	tau := l.decay()
	observe(&m.lat, &m.latAt, x, now, tau, true)
	observe(&l.mean, &l.meanAt, x, now, tau, false)
}

// Reset forgets every member's average and the mean, and zeroes LBStatus.
func (l *Latency) Reset(all []*Member) {
	for _, m := range all {
		m.LBStatus = 0
		m.lat.Store(0)
		m.latAt.Store(0)
	}
	l.mean.Store(0)
	l.meanAt.Store(0)
}

// Estimate returns the response time Pick currently assumes for m, and
// whether m has been measured since the last Reset; an unmeasured member is
// assumed to be average.
func (l *Latency) Estimate(m *Member) (time.Duration, bool) {
	e := l.estimate(m, l.meanAt.Load(), math.Float64frombits(l.mean.Load()), l.decay())
	return time.Duration(e), m.lat.Load() != 0
}

// cost is m's cost for Pick; ref is the clock reading of the latest sample.
func (l *Latency) cost(m *Member, ref int64, mean, tau float64) float64 {
	e := max(l.estimate(m, ref, mean, tau), 1)
	w := m.Weight()
	if w <= 0 {
		w = 1
	}
	return e * float64(m.Busy()+1) / float64(w)
}

// estimate is m's response time pulled toward mean by its idle time before
// ref.
func (*Latency) estimate(m *Member, ref int64, mean, tau float64) float64 {
	bits := m.lat.Load()
	if bits == 0 {
		return mean // cold
	}
	avg := math.Float64frombits(bits)
	if mean == 0 {
		return avg
	}
	idle := float64(ref - m.latAt.Load())
	if idle <= 0 {
		return avg
	}
	return mean + (avg-mean)*math.Exp(-idle/tau)
}

func (l *Latency) decay() float64 {
	if l.Decay <= 0 {
		return float64(10 * time.Second)
	}
	return float64(l.Decay)
}

func (l *Latency) rand(n uint64) uint64 {
	if l.Rand != nil {
		return l.Rand(n)
	}
	return rand.Uint64N(n)
}

func (l *Latency) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// observe blends sample x (ns) taken at now into the average held in v
// (float64 bits, 0 = empty) whose last sample was at *at. With peak set, a
// sample above the average replaces it.
func observe(v *atomic.Uint64, at *atomic.Int64, x float64, now int64, tau float64, peak bool) {
	for {
		old := v.Load()
		nv := x
		if old != 0 {
			cur := math.Float64frombits(old)
			if !peak || x <= cur {
				dt := max(float64(now-at.Load()), 0)
				w := math.Exp(-dt / tau)
				nv = cur*w + x*(1-w)
			}
		}
		if v.CompareAndSwap(old, math.Float64bits(nv)) {
			at.Store(now)
			return
		}
	}
}
