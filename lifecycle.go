package balancer

import (
	"context"
	"errors"
	"fmt"
)

// ErrClosed is returned (wrapped) by the methods of a closed Balancer, and
// is the error a request that arrives after Close gets (with ErrNoMember:
// it is answered 503).
var ErrClosed = errors.New("balancer: closed")

// errClosedRequest is what a request after Close fails with.
var errClosedRequest = fmt.Errorf("%w: %w", ErrNoMember, ErrClosed)

// Close shuts the balancer down: requests that arrive after it (or are
// waiting for a usable member) get 503; requests in flight finish, and the
// connections they free are closed as they finish. It closes the idle
// connections of every member's transport (not those of a Config.Transport,
// which is the caller's), ends a running RunHealthChecks (which returns
// ErrClosed once its checks have ended), and refuses later configuration
// changes with ErrClosed. Close is safe to call more than once and
// concurrently with anything; every call returns nil once the balancer is
// closed.
func (b *Balancer) Close() error {
	b.closeOnce.Do(func() {
		b.adminMu.Lock()
		b.closed.Store(true)
		if b.stopChecks != nil {
			b.stopChecks(ErrClosed)
		}
		for _, m := range b.snap.Load().members {
			b.pending.idle = append(b.pending.idle, m.cfg.Load().rt)
		}
		b.unlockAdmin()
		b.notify() // requests waiting for a member: they see the close
	})
	return nil
}

// afterClose closes the idle connections of s's members once a request
// that was in flight during Close has finished, so that the connections it
// freed do not outlive the balancer.
func (b *Balancer) afterClose(s *snapshot) {
	for _, m := range s.members {
		closeIdle(m.cfg.Load().rt)
	}
}

// startChecks registers the cancel function of a RunHealthChecks, unless
// the balancer is closed.
func (b *Balancer) startChecks(cancel context.CancelCauseFunc) error {
	b.adminMu.Lock()
	defer b.adminMu.Unlock()
	if b.closed.Load() {
		return ErrClosed
	}
	b.stopChecks = cancel
	return nil
}

// endChecks forgets the cancel function of an ending RunHealthChecks.
func (b *Balancer) endChecks() {
	b.adminMu.Lock()
	b.stopChecks = nil
	b.adminMu.Unlock()
}
