package observechain

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
)

func TestChainCallsAThenB(t *testing.T) {
	var calls []string
	a := &balancer.Observer{
		Picked:  func(balancer.PickEvent) { calls = append(calls, "a.Picked") },
		Retried: func(balancer.RetryEvent) { calls = append(calls, "a.Retried") },
		Done:    func(balancer.DoneEvent) { calls = append(calls, "a.Done") },
	}
	b := &balancer.Observer{
		Picked:       func(balancer.PickEvent) { calls = append(calls, "b.Picked") },
		Done:         func(balancer.DoneEvent) { calls = append(calls, "b.Done") },
		StateChanged: func(balancer.StateEvent) { calls = append(calls, "b.StateChanged") },
	}
	c := Chain(a, b)
	c.Picked(balancer.PickEvent{})
	c.Retried(balancer.RetryEvent{})
	c.Done(balancer.DoneEvent{})
	require.NotNil(t, c.StateChanged)
	c.StateChanged(balancer.StateEvent{})
	assert.Nil(t, c.HealthChecked)
	assert.Equal(t, []string{"a.Picked", "b.Picked", "a.Retried", "a.Done", "b.Done", "b.StateChanged"}, calls)
}

func TestChainWithoutBCopiesA(t *testing.T) {
	n := 0
	a := &balancer.Observer{
		Picked:  func(balancer.PickEvent) { n++ },
		Retried: func(balancer.RetryEvent) {},
		Done:    func(balancer.DoneEvent) {},
	}
	c := Chain(a, nil)
	require.NotSame(t, a, c)
	c.Picked(balancer.PickEvent{})
	assert.Equal(t, 1, n)
}
