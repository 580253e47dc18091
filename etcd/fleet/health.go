package fleet

import (
	"slices"
	"sync"
	"time"

	"github.com/proxybalancer/balancer"
)

// DefaultHealthTTL is how long a replica's health report outlives the
// replica when Fleet.HealthTTL is zero.
const DefaultHealthTTL = 10 * time.Second

// Values of a member in a health report.
const (
	verdictPass = "pass"
	verdictFail = "fail"
)

// report is one replica's health report as published: balancer (short
// name) -> member URL -> verdictPass or verdictFail, for the members its
// own checks cover.
type report map[string]map[string]string

// health is this replica's own verdicts, fed by its checker through
// Observe.
type health struct {
	mu      sync.Mutex
	local   map[string]map[string]*verdict // balancer (short name) -> member -> verdict
	changed chan struct{}                  // a verdict changed or appeared (capacity 1)
}

// verdict is what this replica's checks say of one member, counted from
// the checks alone: failed after Check.Fails consecutive failed checks,
// passing again after Check.Passes consecutive passed ones. Unlike the
// checker's own Healthy, the member's flags (error state from traffic, C
// from the fleet) do not enter it.
type verdict struct {
	failed bool
	streak int // consecutive checks that disagree with failed
}

func (f *Fleet) healthState() *health {
	f.healthOnce.Do(func() {
		f.hs = &health{local: map[string]map[string]*verdict{}, changed: make(chan struct{}, 1)}
	})
	return f.hs
}

// Observe makes the balancer built from cfg report its health-check
// results to f, for ShareHealth: it sets cfg.Observer to a copy of the
// Observer cfg had, whose HealthChecked calls that one's, then f's. Call
// it before [balancer.New] and list the balancer built in f.Balancers.
// Without ShareHealth the results are ignored; a replica that runs no
// checks need not call it. Observe does not block and is safe for
// concurrent use.
func (f *Fleet) Observe(cfg *balancer.Config) {
	o := &balancer.Observer{}
	if cfg.Observer != nil {
		*o = *cfg.Observer
	}
	prev := o.HealthChecked
	o.HealthChecked = func(ev balancer.HealthEvent) {
		if prev != nil {
			prev(ev)
		}
		f.healthChecked(ev)
	}
	cfg.Observer = o
}

// healthChecked counts one check result into the member's verdict and
// wakes the sharing loop when the verdict changed. The balancer calls it
// outside its locks, never concurrently for one member.
func (f *Fleet) healthChecked(ev balancer.HealthEvent) {
	if !f.ShareHealth {
		return
	}
	var b *balancer.Balancer
	for _, c := range f.Balancers {
		if c.Name() == ev.Balancer {
			b = c
		}
	}
	if b == nil {
		return
	}
	bal, passed := shortName(b.Name()), ev.Result.Passed
	h := f.healthState()
	h.mu.Lock()
	v := h.local[bal][ev.Member]
	isNew := v == nil
	if isNew {
		v = &verdict{}
		if h.local[bal] == nil {
			h.local[bal] = map[string]*verdict{}
		}
		h.local[bal][ev.Member] = v
	}
	agrees := passed != v.failed
	if agrees {
		v.streak = 0
	} else {
		v.streak++
	}
	streak, failed := v.streak, v.failed
	h.mu.Unlock()
	flip := false
	if !agrees {
		// Only a check that disagrees with the verdict needs the member's
		// thresholds: the steady state costs no lookup.
		passes, fails := checkThresholds(b, ev.Member)
		flip = failed && streak >= passes || !failed && streak >= fails
	}
	if flip {
		h.mu.Lock()
		v.failed, v.streak = !failed, 0
		h.mu.Unlock()
	}
	if isNew || flip {
		select {
		case h.changed <- struct{}{}:
		default:
		}
	}
}

// checkThresholds returns a member's Check.Passes and Check.Fails (0
// counts as 1).
func checkThresholds(b *balancer.Balancer, member string) (passes, fails int) {
	st := b.State()
	i := slices.IndexFunc(st.Members, func(m balancer.MemberState) bool { return m.URL == member })
	if i < 0 {
		return 1, 1
	}
	hc := st.Members[i].HealthCheck
	return max(hc.Passes, 1), max(hc.Fails, 1)
}

// localReport returns this replica's report, first forgetting the
// verdicts of members its checker no longer checks (checks stopped,
// member removed, or its check set to NONE); checked lists, per balancer,
// the members checked here. It reports whether something was forgotten.
func (h *health) localReport(checked map[string]map[string]bool) (r report, pruned bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r = report{}
	for bal, ms := range h.local {
		for m, v := range ms {
			if !checked[bal][m] {
				delete(ms, m)
				pruned = true
				continue
			}
			if r[bal] == nil {
				r[bal] = map[string]string{}
			}
			r[bal][m] = verdictPass
			if v.failed {
				r[bal][m] = verdictFail
			}
		}
		if len(ms) == 0 {
			delete(h.local, bal)
		}
	}
	return r, pruned
}

// fleetVerdict combines the other replicas' live reports on one member:
// it is failed when at least one report says so and at least as many say
// failed as passed. It returns the replicas on each side, sorted.
func fleetVerdict(reports map[string]report, bal, member string) (failed bool, failing, passing []string) {
	for replica, r := range reports {
		switch r[bal][member] {
		case verdictFail:
			failing = append(failing, replica)
		case verdictPass:
			passing = append(passing, replica)
		}
	}
	slices.Sort(failing)
	slices.Sort(passing)
	return len(failing) > 0 && len(failing) >= len(passing), failing, passing
}
