package balancer

import "sync/atomic"

// Defaults of the retry budget (Config.RetryBudget and RetryBudgetMin).
const (
	defaultRetryBudget    = 0.4
	defaultRetryBudgetMin = 3
)

// retryBudget limits the retries of requests already sent by concurrency,
// as Envoy's retry budget does: at any moment at most ratio × the client
// requests in flight, or min if that is more, may be retrying. A request
// holds each retry it made until it ends. Losing one member of three
// makes a third of the requests in flight retry at once, which a ratio
// above 1/3 absorbs. A fleet that fails every request is not amplified
// without bound: a retry is held at least as long as its own attempt, and
// a retrying request stays in flight longer, so retries per request are
// at most ratio/(1−ratio) (2/3 for 0.4) plus what min allows.
//
// The zero value admits no retry until init. Safe for concurrent use.
type retryBudget struct {
	active   atomic.Int64 // client requests in flight
	retrying atomic.Int64 // retries held by requests in flight
}

// begin counts a client request in flight.
func (rb *retryBudget) begin() { rb.active.Add(1) }

// end counts a client request out, with the retries it held.
func (rb *retryBudget) end(held int32) {
	rb.active.Add(-1)
	if held != 0 {
		rb.retrying.Add(-int64(held))
	}
}

// acquire takes one retry if the budget has room for it: fewer than
// max(min, ratio × active) retries are held.
func (rb *retryBudget) acquire(ratio float64, min int64) bool {
	for {
		r := rb.retrying.Load()
		limit := int64(ratio * float64(rb.active.Load()))
		if limit < min {
			limit = min
		}
		if r >= limit {
			return false
		}
		if rb.retrying.CompareAndSwap(r, r+1) {
			return true
		}
	}
}
