package balancer

import (
	"math"
	"sync/atomic"
)

// retryBudget limits retries of requests already sent to a share of recent
// requests, so that a failing fleet is not hit with more traffic than the
// clients send: every request deposits ratio of a token, up to a cap, and a
// retry takes one whole token. With ratio 0.2 at most one request in five
// is retried over time; the cap lets a quiet balancer retry a short burst.
type retryBudget struct {
	ratio  float64
	cap    float64
	tokens atomic.Uint64 // float64 bits
}

func (rb *retryBudget) init(ratio, capacity float64) {
	rb.ratio, rb.cap = ratio, capacity
	rb.tokens.Store(math.Float64bits(capacity))
}

// deposit credits one request.
func (rb *retryBudget) deposit() {
	if rb.ratio <= 0 {
		return
	}
	for {
		old := rb.tokens.Load()
		t := math.Float64frombits(old)
		if t >= rb.cap {
			return
		}
		t = math.Min(t+rb.ratio, rb.cap)
		if rb.tokens.CompareAndSwap(old, math.Float64bits(t)) {
			return
		}
	}
}

// withdraw takes one token for a retry, reporting whether there was one.
func (rb *retryBudget) withdraw() bool {
	for {
		old := rb.tokens.Load()
		t := math.Float64frombits(old)
		if t < 1 {
			return false
		}
		if rb.tokens.CompareAndSwap(old, math.Float64bits(t-1)) {
			return true
		}
	}
}
