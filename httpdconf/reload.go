package httpdconf

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/manager"
)

// live is what a Loaded and the Loadeds its reloads return share: the
// site the handlers serve, and the running health checks.
type live struct {
	site    atomic.Pointer[site]
	current atomic.Pointer[Loaded] // what the latest Build or Reload returned

	mu      sync.Mutex      // serialises Reload; guards the fields below
	checks  context.Context // RunHealthChecks's context while it runs
	wg      sync.WaitGroup  // the balancers' RunHealthChecks goroutines
	running map[*balancer.Balancer]bool
}

// RunHealthChecks runs the health checks (hcmethod=...) of every
// balancer://name balancer until ctx ends, then returns ctx's error once
// every check has ended. Balancers whose members have no checks are watched
// too, so that checks set later (by the manager, or a reload) run, and so
// are the balancers a later [Loaded.Reload] adds. Workers are not checked,
// as in Apache. It returns nil at once when there is no balancer (call it
// again after a reload that adds the first ones). Call it once per loaded
// configuration (not again for the Loaded a Reload returns), from a
// goroutine the caller owns.
func (l *Loaded) RunHealthChecks(ctx context.Context) error {
	lv := l.live
	lv.mu.Lock()
	if len(lv.current.Load().Balancers) == 0 {
		lv.mu.Unlock()
		return nil
	}
	if lv.checks != nil {
		lv.mu.Unlock()
		return errors.New("httpdconf: RunHealthChecks is already running for this configuration")
	}
	lv.checks, lv.running = ctx, map[*balancer.Balancer]bool{}
	lv.startChecks(lv.current.Load().Balancers)
	lv.mu.Unlock()
	<-ctx.Done()
	lv.wg.Wait()
	lv.mu.Lock()
	lv.checks, lv.running = nil, nil
	lv.mu.Unlock()
	return ctx.Err()
}

// startChecks runs the checks of the balancers not yet checked; the caller
// holds mu and checks is set. A balancer closed by a reload ends its own.
func (lv *live) startChecks(bs []*balancer.Balancer) {
	for _, b := range bs {
		if lv.running[b] {
			continue
		}
		lv.running[b] = true
		lv.wg.Add(1)
		go func() {
			defer lv.wg.Done()
			_ = b.RunHealthChecks(lv.checks) // ErrClosed for a balancer a reload removed
		}()
	}
}

// Reload applies c, the configuration read again (Read, ReadReader), to
// the running one, and returns the Loaded describing it; l.Handler and
// the handlers of l.Wrap serve c from the next request on, and requests
// in flight finish where they are. configure is Build's.
//
// Balancers and workers are matched by name:
//
//   - one that stays is the same *balancer.Balancer, changed in place
//     (Balancer.Reconfigure): its members that stay (same normalised URL)
//     keep their counters, error and health state, and the flags set at
//     runtime that the configuration does not change (a member the
//     manager disabled stays disabled unless the new configuration
//     changes its status); removed members finish their requests; added
//     members start as configured. The settings follow the new
//     configuration, except with BalancerPersist On: then the runtime
//     state ([balancer.Balancer.State]: method, stickysession,
//     nofailover, maxattempts, timeout, and each staying member's load
//     factor, lbset, route, redirect, operator flags and health-check
//     settings, manager edits included) is applied again over it, as
//     httpd's persisted state wins over the configuration after a
//     restart. Hooks set by configure (Now and WrapTransport) are kept
//     from the running balancer.
//   - a new one is created; one the configuration no longer has is
//     closed once the requests that started before the switch have
//     finished (a goroutine waits for them).
//
// Mounts, virtual hosts, access rules and the manager's place follow c;
// the manager keeps its nonces and the members it added
// (manager.Manager.SetBalancers). Health checks started by
// l.RunHealthChecks cover the new balancers too.
//
// On error (an [*Error] at the line at fault) nothing changes and l still
// describes what is served. Reload is safe for concurrent use with
// requests; reloads are serialised.
func (l *Loaded) Reload(c *Config, configure func(cfg *balancer.Config)) (*Loaded, error) {
	lv := l.live
	lv.mu.Lock()
	defer lv.mu.Unlock()
	cur := lv.current.Load()
	old := map[string]*balancer.Balancer{}
	for _, b := range append(append([]*balancer.Balancer(nil), cur.Balancers...), cur.Workers...) {
		old[strings.TrimPrefix(b.Name(), "balancer://")] = b
	}

	// Check everything before changing anything.
	nl := &Loaded{Config: c, Manager: cur.Manager, Handler: cur.Handler, live: lv}
	byName := map[string]*balancer.Balancer{}
	type survivor struct {
		b   *balancer.Balancer
		cfg balancer.Config
	}
	var stay []survivor
	var made []*balancer.Balancer
	fail := func(err error) (*Loaded, error) {
		for _, b := range made {
			b.Close()
		}
		return nil, err
	}
	for _, list := range []struct {
		bcs []BalancerConfig
		out *[]*balancer.Balancer
	}{{c.Balancers, &nl.Balancers}, {c.Workers, &nl.Workers}} {
		for i := range list.bcs {
			bc := &list.bcs[i]
			cfg := bc.config(c, configure)
			name := strings.ToLower(bc.Config.Name)
			b := old[name]
			if b != nil {
				// Validate by building it aside.
				probe, err := balancer.New(cfg)
				if err != nil {
					return fail(bc.buildError(cfg, err))
				}
				probe.Close()
				stay = append(stay, survivor{b, cfg})
			} else {
				nb, err := balancer.New(cfg)
				if err != nil {
					return fail(bc.buildError(cfg, err))
				}
				made = append(made, nb)
				b = nb
			}
			byName[name] = b
			*list.out = append(*list.out, b)
		}
	}
	st, err := c.routes(nl, byName)
	if err != nil {
		return fail(err)
	}

	// Apply.
	for _, s := range stay {
		var saved balancer.State
		if c.Persist {
			saved = s.b.State()
		}
		err := s.b.Reconfigure(func(cfg *balancer.Config) error {
			now, wrap := cfg.Now, cfg.WrapTransport
			*cfg = s.cfg
			cfg.Now, cfg.WrapTransport = now, wrap
			return nil
		})
		if err != nil {
			return fail(&Error{Msg: "reload " + s.b.Name() + ": " + err.Error(), Err: err})
		}
		if c.Persist {
			if err := s.b.Apply(keepState(saved, s.cfg)); err != nil {
				return fail(&Error{Msg: "reload " + s.b.Name() + ": restoring its runtime state (BalancerPersist On): " + err.Error(), Err: err})
			}
		}
	}
	if st.managed {
		if nl.Manager != nil {
			if err := nl.Manager.SetBalancers(nl.Balancers); err != nil {
				return fail(&Error{Pos: st.managerPos, Directive: "SetHandler", Msg: "balancer-manager: " + err.Error(), Err: err})
			}
		} else {
			mgr, err := manager.New(c.managerConfig(nl))
			if err != nil {
				return fail(&Error{Pos: st.managerPos, Directive: "SetHandler", Msg: "balancer-manager: " + err.Error(), Err: err})
			}
			nl.Manager = mgr
		}
		st.manager = nl.Manager
	}
	prev := lv.site.Swap(st)
	lv.current.Store(nl)
	prev.retire()
	var removed []*balancer.Balancer
	for name, b := range old {
		if byName[name] != b {
			removed = append(removed, b)
		}
	}
	if len(removed) > 0 {
		// Closed once the requests that came through the previous site
		// have finished (a request may have picked it just before).
		go func() {
			<-prev.drained
			for _, b := range removed {
				b.Close()
			}
		}()
	}
	if lv.checks != nil {
		lv.startChecks(nl.Balancers)
	}
	return nl, nil
}

// keepState is the Change that puts back the runtime state saved of the
// members the new configuration keeps (BalancerPersist On).
func keepState(saved balancer.State, cfg balancer.Config) balancer.Change {
	keep := map[string]bool{}
	for _, m := range cfg.Members {
		if u, err := balancer.NormalizeURL(m.URL); err == nil {
			keep[u] = true
		}
	}
	var ms []balancer.MemberState
	for _, m := range saved.Members {
		if keep[m.URL] {
			ms = append(ms, m)
		}
	}
	saved.Members = ms
	ch := saved.Change()
	ch.Source = "reload"
	return ch
}
