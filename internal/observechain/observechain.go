// Package observechain combines two balancer Observers, for the
// integrations (otel, prometheus) that add their own in front of the one
// a configuration has.
package observechain

import "github.com/proxybalancer/balancer"

// Chain returns a new Observer calling a's Picked, Retried and Done, then
// b's where b has them; StateChanged and HealthChecked are b's. a must have
// all three of Picked, Retried and Done. b may be nil: the result is then
// a copy of a. Neither a nor b is changed.
func Chain(a, b *balancer.Observer) *balancer.Observer {
	if b == nil {
		o := *a
		return &o
	}
	return &balancer.Observer{
		Picked: func(ev balancer.PickEvent) {
			a.Picked(ev)
			if b.Picked != nil {
				b.Picked(ev)
			}
		},
		Retried: func(ev balancer.RetryEvent) {
			a.Retried(ev)
			if b.Retried != nil {
				b.Retried(ev)
			}
		},
		Done: func(ev balancer.DoneEvent) {
			a.Done(ev)
			if b.Done != nil {
				b.Done(ev)
			}
		},
		StateChanged:  b.StateChanged,
		HealthChecked: b.HealthChecked,
	}
}
