package balancer

// Panic mode (Config.PanicThreshold), Envoy's healthy_panic_threshold:
// when fewer than that share of the members meant to serve are usable, the
// few left would take the whole load; the balancer then spreads requests
// over all of those members, usable or not.

// panicSkip holds the flags that keep a member out of panic mode's
// candidates: it is not meant to serve (disabled, stopped, shut down,
// draining) or serves only in place of others (hot standby, hot spare).
// Members kept out by their health only (in error state, failed health
// checks, ejected) are candidates.
const panicSkip = StatusDisabled | StatusStopped | StatusShutdown | StatusDrain | StatusStandby | StatusSpare

// panicking reports whether fewer than the snapshot's panic threshold of
// the members meant to serve are usable. A member in error state whose
// retry is due counts as usable. The caller holds the selection lock.
func (sel *selection) panicking(s *snapshot) bool {
	total, ok := 0, 0
	for _, m := range s.members {
		f := sel.flags(m)
		if f&StatusInit == 0 || f&panicSkip != 0 {
			continue
		}
		total++
		if f.Usable() || f&unusableMask == StatusError && m.retryDue(sel.now()) {
			ok++
		}
	}
	return total > 0 && float64(ok) < s.panic*float64(total)
}

// panicCandidates fills the scratch buffers with every member meant to
// serve, whatever its health, in configuration order and whatever its
// lbset, leaving out those this request already tried.
func (sel *selection) panicCandidates(st *requestState, s *snapshot) {
	sel.reset()
	for _, m := range s.members {
		f := sel.flags(m)
		if f&StatusInit == 0 || f&panicSkip != 0 || st.triedMember(m) {
			continue
		}
		sel.add(m)
	}
}
