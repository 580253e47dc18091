package backoff

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWaitDoublesUpToMaxAndResets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(50*time.Millisecond, 200*time.Millisecond)
		var waited []time.Duration
		for range 4 {
			start := time.Now()
			require.NoError(t, b.Wait(t.Context()))
			waited = append(waited, time.Since(start))
		}
		b.Reset()
		start := time.Now()
		require.NoError(t, b.Wait(t.Context()))
		waited = append(waited, time.Since(start))
		assert.Equal(t, []time.Duration{50 * time.Millisecond, 100 * time.Millisecond,
			200 * time.Millisecond, 200 * time.Millisecond, 50 * time.Millisecond}, waited)
	})
}

func TestWaitEndsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		assert.ErrorIs(t, New(time.Hour, time.Hour).Wait(ctx), context.Canceled)
	})
}

func TestNextDoublesUpToMax(t *testing.T) {
	b := New(50*time.Millisecond, 150*time.Millisecond)
	got := []time.Duration{b.Next(), b.Next(), b.Next()}
	b.Reset()
	got = append(got, b.Next())
	assert.Equal(t, []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 150 * time.Millisecond, 50 * time.Millisecond}, got)
}
