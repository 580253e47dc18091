// Package backoff is the retry delay of the etcd module's loops: it starts
// at a first delay and doubles up to a ceiling.
package backoff

import (
	"context"
	"time"
)

// Backoff waits First, then twice as long each time, up to Max. The zero
// value waits no time; use [New]. A Backoff is used by one goroutine.
type Backoff struct {
	first, max, d time.Duration
}

// New returns a Backoff whose first wait is first and whose waits never
// exceed max.
func New(first, max time.Duration) *Backoff {
	return &Backoff{first: first, max: max, d: first}
}

// Reset makes the next wait the first delay again.
func (b *Backoff) Reset() { b.d = b.first }

// Next returns the current delay and doubles it (up to the ceiling), for
// a loop that waits in its own select.
func (b *Backoff) Next() time.Duration {
	d := b.d
	b.d = min(2*b.d, b.max)
	return d
}

// Wait waits the current delay, then doubles it (up to the ceiling). It
// returns ctx's error if ctx ends first, nil otherwise.
func (b *Backoff) Wait(ctx context.Context) error {
	t := time.NewTimer(b.Next())
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
