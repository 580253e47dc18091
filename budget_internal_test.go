package balancer

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The budget admits max(min, ratio × requests in flight) retries at once
// and gives a request's retries back when it ends.
func TestRetryBudgetConcurrency(t *testing.T) {
	var rb retryBudget
	for range 10 {
		rb.begin()
	}
	got := 0
	for rb.acquire(0.4, 3) {
		got++
	}
	assert.Equal(t, 4, got, "0.4 of 10 in flight")
	rb.end(2) // a request holding two retries ends: 9 in flight, 2 held
	got = 0
	for rb.acquire(0.4, 3) {
		got++
	}
	assert.Equal(t, 1, got, "0.4 of 9 in flight is 3, 2 held")
	for range 9 {
		rb.end(0)
	}
	rb.retrying.Store(0)
	rb.begin()
	got = 0
	for rb.acquire(0.4, 3) {
		got++
	}
	assert.Equal(t, 3, got, "the minimum with one request in flight")
	assert.False(t, rb.acquire(0.4, 0), "no minimum")
}
