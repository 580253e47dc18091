// Package discovery keeps a balancer's member list in step with a service
// registry: DNS SRV or A/AAAA records here, an etcd key prefix in the
// etcd module (github.com/proxybalancer/balancer/etcd/membership).
//
// Every source ends in a [MemberSet], which changes the list the way
// [balancer.Balancer.Update] does: members that stay (the same normalised
// URL) keep their counters, error state, health state and settings,
// including edits made at runtime; members that are gone finish the
// requests they have (they drain) and get no new ones; new members take the
// settings of MemberSet.Template. When the registry cannot be read, the
// last good list stays in force.
//
// The package imports only the standard library and the balancer.
package discovery
