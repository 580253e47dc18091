package transport

import (
	"context"
	"fmt"
	"time"
)

// slots caps the requests in flight (Options.Max): a token semaphore sized
// to the cap.
type slots struct {
	ch   chan struct{}
	wait time.Duration // Options.Acquire; 0 = until the context ends
}

func newSlots(max int, wait time.Duration) *slots {
	return &slots{ch: make(chan struct{}, max), wait: wait}
}

// acquire takes a slot. It returns a *NotSentError wrapping
// ErrAcquireTimeout when none was free within s.wait, or an error wrapping
// the context's cause when ctx ended first.
func (s *slots) acquire(ctx context.Context) error {
	select {
	case s.ch <- struct{}{}:
		return nil
	default:
	}
	var expired <-chan time.Time
	if s.wait > 0 {
		timer := time.NewTimer(s.wait)
		defer timer.Stop()
		expired = timer.C
	}
	select {
	case s.ch <- struct{}{}:
		return nil
	case <-expired:
		return &NotSentError{
			Reason: ReasonAcquire,
			Err:    fmt.Errorf("%w: all %d connections busy for %v", ErrAcquireTimeout, cap(s.ch), s.wait),
		}
	case <-ctx.Done():
		return fmt.Errorf("transport: waiting for a free connection: %w", context.Cause(ctx))
	}
}

// release frees a slot taken by acquire.
func (s *slots) release() { <-s.ch }
