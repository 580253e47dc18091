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
// itself, unless the user opts into sharing health-check results
// (below). Member lists that come from service discovery ([discovery],
// [membership]) are per replica too: each replica follows the registry
// itself; an edit of a member that a replica does not have is left out
// there.
//
// # Shared health checks
//
// With [Fleet].ShareHealth (off by default) the replicas share their
// health-check results, and nothing else: each replica that runs checks
// (RunHealthChecks, on a balancer built from a configuration passed
// through [Fleet.Observe]) publishes, for each member its checker checks,
// its verdict "pass" or "fail", counted from its checks alone: failed
// after the member's Check.Fails consecutive failed checks, passing again
// after Check.Passes consecutive passed ones. Error state from live
// traffic (E) is not shared and does not enter the verdict. The report
// is one key per replica, beside the fleet's keys
// ("<prefix>.health/<replica>", JSON {"app": {"<url>": "fail"}}), under
// an etcd lease of [Fleet].HealthTTL kept alive while Run runs: a replica
// that dies takes its report with it when the lease expires, and one
// whose Run ends revokes it at once. A value there without a lease is
// not counted (no replica writes one; it would outlive its writer), nor
// is one that is not such JSON.
//
// A replica follows its own checker for the members it checks itself;
// the fleet's view never sets or clears their C, so a replica never
// switches between its own verdict and the others'. For every other
// member, the fleet's view decides: failed when at least one live report
// says so and at least as many say failed as passed (a tie fails; a
// replica alone with a bad path to a member is outvoted by two that reach
// it). The fleet sets C while the view says failed, and clears the C it
// set when the view no longer does (the reports changed, or went with
// their lease). A C set by anyone else is left alone.
//
// While etcd is unreachable the replica keeps the last view, for up to
// HealthTTL: when etcd has not confirmed the replica's lease for that
// long, the others' reports are as old as the replica's own, which etcd
// drops then. The replica forgets them, clears the C it set and follows
// its own checks only (logged once at warn), until etcd answers again
// (logged at info) and it reads the reports anew. [Fleet.Status] (Health),
// the JSON handler and [Fleet.Notes] say whether health is shared, whose
// reports the replica holds and where the fleet's view set C.
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
