package lbmethod

import "time"

// SlowStart ramps up the weight of a member that has just become usable, so
// it does not take its full share of the load at once (beyond Apache, which
// gives a recovered member its full share immediately; for bybusyness and
// bytraffic, whose counters start low, that share can be all of it).
//
// While a member ramps, its Weight grows linearly from 1% of its load factor
// (at least 1, so it stays reachable) to the full factor over Window, after
// which Weight is the load factor again. Every method reads Weight where
// Apache reads lbfactor, so the ramp works for all of them: byrequests and
// bytraffic weigh by it, bybusyness and latency scale the member's load by
// factor ÷ weight, and heartbeat scales the reported ready count by
// weight ÷ factor.
//
// How a balancer uses it:
//
//   - call Begin(m, now) when m becomes usable after being unusable: added to
//     a running balancer, re-enabled, out of the error state, or passing a
//     health check again. Do not call it for the members a balancer starts
//     with: they share the load from the start.
//   - call Update(ms, now) before each Pick or StickyHit, with the selection
//     lock held, passing at least the members whose Weight that call reads
//     (the usable members). Update costs one atomic load per member that is
//     not ramping and never allocates; it reports whether any member of ms
//     still ramps, which a balancer may use to skip later calls until the
//     next Begin.
//   - call End(m) to give m its full weight at once.
//
// The ramp state lives in the member (its start time), so a SlowStart value
// holds only the configuration; changing Window takes effect at the next
// Update. Begin, Update and End are safe for concurrent use: a Begin that
// races an Update is corrected by the next Update. The clock is the caller's:
// every call takes now, and a clock that goes backwards restarts the ramp.
type SlowStart struct {
	// Window is how long a ramp lasts. Zero or negative disables slow
	// start: Begin gives full weight at once and Update ends every ramp.
	Window time.Duration
}

// Begin starts m's ramp at now, dropping its weight to 1% of its load
// factor (at least 1). Without a Window it gives m its full weight instead.
func (s SlowStart) Begin(m *Member, now time.Time) {
	if s.Window <= 0 {
		s.End(m)
		return
	}
	m.rampStart.Store(rampStamp(now))
	m.weight.Store(rampWeight(m.Factor(), 0, s.Window))
}

// End stops m's ramp: its weight is its load factor again.
func (SlowStart) End(m *Member) {
	m.rampStart.Store(0)
	m.weight.Store(0)
}

// Update sets the weight of every ramping member of ms for time now and
// ends the ramps that are over. It reports whether a member of ms is still
// ramping.
func (s SlowStart) Update(ms []*Member, now time.Time) (ramping bool) {
	t := rampStamp(now)
	for _, m := range ms {
		start := m.rampStart.Load()
		if start == 0 {
			continue
		}
		elapsed := time.Duration(t - start)
		if elapsed < 0 {
			// The clock went backwards: restart rather than hold the member
			// at its lowest weight until the clock catches up.
			m.rampStart.CompareAndSwap(start, t)
			elapsed = 0
		}
		if s.Window <= 0 || elapsed >= s.Window {
			if m.rampStart.CompareAndSwap(start, 0) {
				m.weight.Store(0)
			}
			continue
		}
		ramping = true
		if w := rampWeight(m.Factor(), elapsed, s.Window); m.weight.Load() != w {
			m.weight.Store(w)
		}
	}
	return ramping
}

// Ramping reports whether m is in slow start.
func (m *Member) Ramping() bool { return m.rampStart.Load() != 0 }

// rampWeight is the weight of a member with load factor f, elapsed into a
// ramp of length window: linear, at least 1% of f and at least 1.
func rampWeight(f int64, elapsed, window time.Duration) int64 {
	floor := max(f/100, 1)
	w := int64(float64(f) * (float64(elapsed) / float64(window)))
	return max(w, floor)
}

// rampStamp turns now into the member's ramp start; 0 means "not ramping",
// so the one instant that would store 0 stores 1 ns later instead.
func rampStamp(now time.Time) int64 {
	if t := now.UnixNano(); t != 0 {
		return t
	}
	return 1
}
