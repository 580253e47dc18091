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
//
// The ratio is the configuration's (Config.RetryBudget), passed with each
// deposit, so a new ratio applies to the next request and the tokens saved
// are kept.
type retryBudget struct {
	cap    float64
	tokens atomic.Uint64 // float64 bits
}

// The retry budget's defaults: Config.RetryBudget zero means
// defaultRetryRatio; the budget starts with and holds at most
// retryBudgetCap retries.
const (
	defaultRetryRatio = 0.2
	retryBudgetCap    = 10
)

func (rb *retryBudget) init(capacity float64) {
	rb.cap = capacity
	rb.tokens.Store(math.Float64bits(capacity))
}

// deposit credits one request with ratio of a token.
func (rb *retryBudget) deposit(ratio float64) {
	if ratio <= 0 {
		return
	}
	for {
		old := rb.tokens.Load()
		t := math.Float64frombits(old)
		if t >= rb.cap {
			return
		}
		t = math.Min(t+ratio, rb.cap)
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
