package balancer

import (
	"time"
)

// changed returns a channel closed at the next change that may make a
// member usable (flags cleared, health restored, configuration changed).
func (b *Balancer) changed() <-chan struct{} {
	return *b.changeCh.Load()
}

// notify wakes every request waiting for a usable member.
func (b *Balancer) notify() {
	ch := make(chan struct{})
	old := b.changeCh.Swap(&ch)
	close(*old)
}

// chooseWait is choose with Apache's balancer timeout: when no member is
// usable it waits up to Config.Timeout for one, woken when a member's flags
// are cleared, its health is restored, the configuration changes, or a
// member's error state ends (its retry has passed), never by polling. A
// request whose client goes away stops waiting.
func (b *Balancer) chooseWait(st *requestState) (*member, error) {
	m, err := b.choose(st)
	if m != nil || st.snap.timeout <= 0 || st.reason == ReasonNoFailover {
		return m, err
	}
	deadline := b.now().Add(st.snap.timeout)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		ch := b.changed()
		// Try again now that we hold the channel: a change after this
		// closes it.
		if b.closed.Load() {
			return nil, errClosedRequest
		}
		if m, err = b.choose(st); m != nil || st.reason == ReasonNoFailover {
			return m, err
		}
		now := b.now()
		wake := deadline
		if t, ok := st.snap.nextRetry(); ok && t.Before(wake) {
			wake = t
		}
		if !now.Before(deadline) {
			return nil, err
		}
		d := wake.Sub(now)
		if d <= 0 {
			// A retry is due now (with retry exactly at now): the next
			// choose clears it.
			d = time.Millisecond
		}
		if timer == nil {
			timer = time.NewTimer(d)
		} else {
			timer.Reset(d)
		}
		select {
		case <-ch:
		case <-timer.C:
		case <-st.Done():
			return nil, err
		}
	}
}

// nextRetry returns the earliest time a member in error state becomes
// eligible again.
func (s *snapshot) nextRetry() (time.Time, bool) {
	var first time.Time
	ok := false
	for _, m := range s.members {
		// Only a member kept out by its error state alone, and one the
		// scheduler would consider (not draining), becomes usable when
		// its retry passes.
		f := m.flags()
		if f&unusableMask != StatusError || f&StatusDrain != 0 {
			continue
		}
		// Usable once strictly after errorUntil.
		t := m.errorUntil().Add(time.Nanosecond)
		if !ok || t.Before(first) {
			first, ok = t, true
		}
	}
	return first, ok
}
