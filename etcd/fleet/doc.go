// Package fleet shares the runtime edits of balancers between the
// gateways of a fleet through etcd: every replica publishes the edits made
// on it (through its balancer-manager or any caller of
// [balancer.Balancer.Apply]) and applies everyone else's, and the fleet's
// state lives in etcd, durably, in place of a state file.
//
// # What is shared
//
// The values a [balancer.Change] edits: the balancer parameters (method,
// stickysession, nofailover, maxattempts, timeout), each member's load
// factor, lbset, route, redirect, health-check settings and operator
// flags (I, N, D, H, R, S), and members added and removed. Each value is
// one etcd key (see the layout in keys.go), so edits of different values
// never overwrite each other, and one edit is one transaction.
//
// What a replica observes stays local, and says so: error state (E),
// health-check results (C and the checks' history), counters and
// scheduler state are per replica; every replica checks its members
// itself. Member lists that come from service discovery ([discovery],
// [membership]) are per replica too: each replica follows the registry
// itself; an edit of a member that a replica does not have is left out
// there.
//
// # Order and conflicts
//
// Every replica applies every published edit, its own included, in etcd
// revision order, so when two replicas edit the same value at once, the
// edit with the higher revision wins, on every replica alike. An edit is
// in force on the replica that made it at once, and on the others when
// their watch delivers it (milliseconds on a LAN; the tests measure
// p50/p99).
//
// # Start, restart and precedence
//
// [Fleet.Load] reads the fleet's state and applies it before the replica
// serves. The precedence follows Apache's BalancerPersist: the program's
// configuration is applied first (New), then the persisted state over it,
// so for every value the fleet has (every value ever edited at runtime,
// members added or removed at runtime) the fleet's state wins; values
// never edited keep the configuration's value. To give the configuration
// back a value, edit it again (or delete the fleet's key for it).
//
// # etcd unavailable
//
// Requests never wait for etcd. While etcd cannot be reached, the replica
// serves with the state it has, keeps the edits made on it in order, logs
// the outage once (and its end once), and shows it in [Fleet.Status], in
// its JSON handler and, through [Fleet.Notes], on the balancer-manager; when
// etcd answers again it publishes the kept edits and catches up with the
// others' (reading the whole state again if etcd compacted the history it
// missed).
package fleet
