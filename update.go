package balancer

// Update replaces the member list while requests flow, for a gateway fed by
// a service registry. A member that stays (the same normalised URL) keeps
// its counters, error state, health state and scheduler credit, and takes
// its new settings; a changed Status applies only the flags that changed in
// the configuration, so flags set at runtime (by errors, health checks or
// the manager) are kept. Removed members finish the requests they have.
// Requests already routed are not affected; the next request sees the new
// list. On error nothing changes. Update is safe for concurrent use.
func (b *Balancer) Update(members []Member) error {
	b.adminMu.Lock()
	defer b.unlockAdmin()
	cfg := b.cfg
	cfg.Members = append([]Member(nil), members...)
	return b.apply(cfg)
}
