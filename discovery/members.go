package discovery

import (
	"fmt"
	"slices"
	"sync"

	"github.com/proxybalancer/balancer"
)

// Target is one discovered member.
type Target struct {
	// URL is the member's base URL (http or https).
	URL string

	// LBSet and LoadFactor are the tier and weight the registry gives the
	// member (an SRV record's priority and weight). They apply when
	// HasWeight is true; otherwise the Template's values apply.
	LBSet      int
	LoadFactor float64
	HasWeight  bool
}

// Diff is what one MemberSet.Apply changed, as normalised member URLs in
// the order of the new list (Added) or of the old one (Removed).
type Diff struct {
	Added, Removed []string
}

// Empty reports whether the apply changed nothing.
func (d Diff) Empty() bool { return len(d.Added) == 0 && len(d.Removed) == 0 }

// MemberSet applies discovered member lists to a balancer. The zero value
// is not usable: Balancer is required. A MemberSet is safe for concurrent
// use; Apply calls are serialised.
//
// A MemberSet owns the membership of its balancer: members configured by
// other means and not discovered are removed by the first Apply.
type MemberSet struct {
	// Balancer receives the member list. Required.
	Balancer *balancer.Balancer

	// Template holds the settings of a member the registry adds (its URL
	// is replaced). Members that stay keep the settings they have, so
	// runtime edits (the manager's, for example) survive a refresh; only a
	// registry weight (Target.HasWeight) that changed is applied again.
	Template balancer.Member

	mu      sync.Mutex
	weights map[string]Target // normalised URL → the weights applied last
}

// Apply makes the balancer's members exactly ts, in that order, through
// [balancer.Balancer.Reconfigure], which changes the member list as
// [balancer.Balancer.Update] does, atomically with respect to other
// configuration changes. An empty ts is refused (it would leave the
// balancer with nothing to route to): the caller keeps the last good list.
// On error nothing changes. The change is not an edit reported to
// [balancer.Balancer.OnChange] listeners: a fleet (etcd/fleet) does not
// publish it, since every replica follows the registry itself.
func (s *MemberSet) Apply(ts []Target) (Diff, error) {
	if s.Balancer == nil {
		return Diff{}, fmt.Errorf("discovery: MemberSet.Balancer is nil")
	}
	if len(ts) == 0 {
		return Diff{}, fmt.Errorf("discovery: empty member list: keeping the current one")
	}
	keys := make([]string, len(ts))
	for i, t := range ts {
		k, err := Normalize(t.URL)
		if err != nil {
			return Diff{}, fmt.Errorf("discovery: target URL %q: %v", t.URL, err)
		}
		if slices.Contains(keys[:i], k) {
			return Diff{}, fmt.Errorf("discovery: target URL %q: listed twice", t.URL)
		}
		keys[i] = k
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var d Diff
	err := s.Balancer.Reconfigure(func(cfg *balancer.Config) error {
		d = Diff{}
		cur := make(map[string]balancer.Member, len(cfg.Members))
		for _, m := range cfg.Members {
			k, err := Normalize(m.URL)
			if err != nil {
				k = m.URL
			}
			cur[k] = m
		}
		next := make([]balancer.Member, len(ts))
		for i, t := range ts {
			m, ok := cur[keys[i]]
			if !ok {
				m = s.Template
				m.URL = t.URL
				d.Added = append(d.Added, keys[i])
			}
			if t.HasWeight && (!ok || s.weights[keys[i]] != t) {
				m.LBSet, m.LoadFactor = t.LBSet, t.LoadFactor
			}
			next[i] = m
		}
		for _, m := range cfg.Members {
			k, err := Normalize(m.URL)
			if err != nil {
				k = m.URL
			}
			if !slices.Contains(keys, k) {
				d.Removed = append(d.Removed, k)
			}
		}
		cfg.Members = next
		return nil
	})
	if err != nil {
		return Diff{}, fmt.Errorf("discovery: %w", err)
	}
	w := make(map[string]Target, len(ts))
	for i, t := range ts {
		if t.HasWeight {
			w[keys[i]] = t
		}
	}
	s.weights = w
	return d, nil
}

// Normalize returns a member URL in the balancer's normalised form, its
// identity ([balancer.NormalizeURL]): scheme and host lower-cased, the
// default port dropped, the path kept.
func Normalize(raw string) (string, error) {
	return balancer.NormalizeURL(raw)
}
