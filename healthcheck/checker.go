package healthcheck

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// tickInterval is how often Run looks for due targets (Apache's watchdog
// slice, AP_WD_TM_SLICE).
const tickInterval = 100 * time.Millisecond

// Target is one balancer member as a [Checker] sees it. The balancer
// implements it; its methods may be called from several goroutines at once.
type Target interface {
	// Name identifies the member (its normalised URL). The Checker keeps
	// its state per name; two targets with the same name are one target.
	Name() string
	// URL is the member URL the check is made against: its scheme chooses
	// the default port and TLS (https, wss), its host and port are dialled
	// and sent as the Host header, and its path is joined with Check.URI.
	// The Checker does not modify it.
	URL() *url.URL
	// Check returns the member's current check settings. It is called on
	// every tick, so the settings may change at runtime.
	Check() Check
	// Stopped reports Apache's S (stopped) flag: stopped members are not
	// checked. Disabled (D) members are.
	Stopped() bool
	// Down reports whether the member is now in health-check failure (C) or
	// in error (E). mod_proxy_hcheck counts passes towards Check.Passes for
	// such a member and failures towards Check.Fails for the others. It is
	// called once per check, after the check ends.
	Down() bool
	// Report receives the outcome of each check, in order, never
	// concurrently for one Name. It is called from the check's goroutine
	// and should return quickly. When res.Changed is true the balancer
	// sets C (res.Healthy false) or clears C and E (res.Healthy true).
	Report(res Result)
}

// Result is the outcome of one check.
type Result struct {
	// Name is the Target's name.
	Name string
	// Passed reports whether the check passed.
	Passed bool
	// Status is the HTTP status received, or 0 for TCP checks and when no
	// response was read.
	Status int
	// Err says why the check failed; nil when it passed. Its text names
	// the method, the request target and the address.
	Err error
	// Time is when the check ended, and Duration how long it took, both by
	// Checker.Now.
	Time     time.Time
	Duration time.Duration
	// Healthy is the member's health after this result: false while it is
	// down (Target.Down) and has not yet passed Check.Passes consecutive
	// checks, or once it has failed Check.Fails consecutive checks.
	Healthy bool
	// Changed reports that this result is a transition: a down member
	// became healthy (clear C and E), or a healthy member failed enough
	// checks to be put down (set C).
	Changed bool
}

// ConnTarget is a [Target] that says how its member is reached, as the
// member's own transport reaches it: the Checker connects with its Dial
// and, for https and wss members, makes the TLS handshake with its
// TLSConfig, instead of with Checker.Dial and Checker.TLSConfig. A
// balancer's members implement it with their connection settings, so that
// a member with a private CA or a client certificate is checked as it is
// used.
type ConnTarget interface {
	Target
	// Dial connects to addr ("host:port") over network ("tcp"); it must
	// return when ctx is done.
	Dial(ctx context.Context, network, addr string) (net.Conn, error)
	// TLSConfig returns the TLS configuration for the member, or nil for
	// the Checker's. The Checker does not modify it; an empty ServerName
	// means the member's host. Checks speak HTTP/1.x, so NextProtos is
	// ignored.
	TLSConfig() *tls.Config
}

// TargetState is what a Checker knows about one target.
type TargetState struct {
	// Healthy is the health after the last check (true before the first).
	Healthy bool
	// Passes counts the consecutive passes of a down member, towards
	// Check.Passes; Fails counts the consecutive failures of a healthy
	// member, towards Check.Fails. Both restart at 0 after a transition.
	Passes, Fails int
	// Checking reports that a check is running, or is due and waiting for
	// one of the Limit slots.
	Checking bool
	// Invalid is non-nil while the target's Check does not validate; such a
	// target is not checked.
	Invalid error
	// Last is the latest result; the zero Result before the first check.
	Last Result
}

// Checker runs the health checks of a balancer's members. Set its fields,
// then call Run; the fields must not change while Run runs.
//
// State is safe for concurrent use, also while Run runs. A Checker must not
// be copied after first use.
type Checker struct {
	// Targets returns the members to check. It is called on every tick
	// (every 100 ms), so members added or removed at runtime are seen; a
	// target that is gone stops being checked and its state is dropped. It
	// must not be nil.
	Targets func() []Target
	// Limit is the number of checks that may run at once (Apache's
	// ProxyHCTPsize). Zero means DefaultLimit; negative is an error.
	Limit int
	// Dial connects to addr ("host:port") over network ("tcp"); it must
	// return when ctx is done (Run's prompt return relies on it). Nil means
	// a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// TLSConfig is used for https and wss members. Nil means the default
	// configuration. An empty ServerName is set to the member's host.
	TLSConfig *tls.Config
	// Now returns the current time; nil means time.Now. It decides when a
	// target is due and stamps results. Run still wakes every 100 ms by
	// the runtime's clock (the fake one in a testing/synctest bubble).
	Now func() time.Time

	running atomic.Bool

	mu     sync.Mutex        // protects states and the state values
	states map[string]*state // by Target.Name

	// Used only by the goroutine running Run.
	gen     uint64      // number of ticks so far
	scratch []candidate // reused by tick
}

// state is the Checker's record of one target.
type state struct {
	TargetState
	base time.Time // the next check is due one interval after this: the end of the last check, or when first seen
	seen uint64    // the last tick that saw the target
}

// candidate is a target seen by a tick.
type candidate struct {
	t       Target
	name    string
	stopped bool
	chk     Check
	due     time.Time
	st      *state
}

// Run checks the targets until ctx is done, then waits for the checks still
// running (they are cancelled) and returns ctx.Err(). Results of checks cut
// short by the end of ctx are not recorded or reported. Run starts nothing
// that outlives it.
//
// Run returns an error at once if Targets is nil, Limit is negative, or Run
// is already running.
func (c *Checker) Run(ctx context.Context) error {
	if c.Targets == nil {
		return errors.New("healthcheck: Targets: must not be nil")
	}
	if c.Limit < 0 {
		return fmt.Errorf("healthcheck: limit %d: must be >= 0", c.Limit)
	}
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("healthcheck: Run: already running")
	}
	defer c.running.Store(false)

	var g errgroup.Group
	g.SetLimit(cmp.Or(c.Limit, DefaultLimit))
	defer g.Wait()

	ticker := time.NewTicker(tickInterval)
	defer ticker.Stop()
	c.tick(ctx, &g) // see the targets now: their first check is one interval away
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
			if ctx.Err() == nil {
				c.tick(ctx, &g)
			}
		}
	}
}

// State returns what the Checker knows about the target with the given name,
// and false if it has no such target (never seen, or gone since).
func (c *Checker) State(name string) (TargetState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.states[name]
	if !ok {
		return TargetState{}, false
	}
	return st.TargetState, true
}

func (c *Checker) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// tick records the current targets, drops the state of those that are gone,
// and starts the checks that are due, most overdue first. It returns when
// they have all started.
func (c *Checker) tick(ctx context.Context, g *errgroup.Group) {
	targets := c.Targets()
	now := c.now()
	// Ask the targets before taking the lock: their methods are the
	// balancer's, and may take its locks.
	cands := c.scratch[:0]
	for _, t := range targets {
		if t != nil {
			cands = append(cands, candidate{t: t, name: t.Name(), stopped: t.Stopped(), chk: t.Check()})
		}
	}
	c.gen++

	c.mu.Lock()
	if c.states == nil {
		c.states = make(map[string]*state)
	}
	due := cands[:0]
	for _, cd := range cands {
		st := c.states[cd.name]
		if st == nil {
			st = &state{TargetState: TargetState{Healthy: true}, base: now}
			c.states[cd.name] = st
		}
		if st.seen == c.gen {
			continue // a second target of that name
		}
		st.seen = c.gen
		if cd.stopped || cd.chk.Method == MethodNone {
			st.Invalid = nil
			continue
		}
		if st.Invalid = cd.chk.Validate(); st.Invalid != nil || st.Checking {
			continue
		}
		cd.due = st.base.Add(cd.chk.interval())
		if now.Before(cd.due) {
			continue
		}
		cd.st = st
		due = append(due, cd)
	}
	for name, st := range c.states {
		if st.seen != c.gen && !st.Checking {
			delete(c.states, name)
		}
	}
	for _, cd := range due {
		cd.st.Checking = true
	}
	c.mu.Unlock()

	// Start the checks, most overdue first, waiting for a free slot when
	// Limit checks are running. The wait is short once ctx is done, as the
	// running checks end then.
	slices.SortStableFunc(due, func(a, b candidate) int { return a.due.Compare(b.due) })
	for i, cd := range due {
		if ctx.Err() != nil {
			c.mu.Lock()
			for _, cd := range due[i:] {
				cd.st.Checking = false
			}
			c.mu.Unlock()
			break
		}
		g.Go(func() error {
			c.check(ctx, cd)
			return nil
		})
	}

	clear(cands) // keep no targets alive until the next tick
	c.scratch = cands[:0]
}

// check runs one due check and records and reports its result.
func (c *Checker) check(ctx context.Context, cd candidate) {
	st := cd.st
	defer func() {
		c.mu.Lock()
		st.Checking = false
		c.mu.Unlock()
	}()

	start := c.now()
	o := c.probe(ctx, cd.t, cd.chk)
	if ctx.Err() != nil {
		return // Run is ending: the result says nothing about the member
	}
	end := c.now()
	res := Result{
		Name:     cd.name,
		Passed:   o.err == nil,
		Status:   o.status,
		Err:      o.err,
		Time:     end,
		Duration: end.Sub(start),
	}
	down := cd.t.Down()

	c.mu.Lock()
	res.Healthy, res.Changed = st.record(res.Passed, down, cd.chk)
	st.Last = res
	st.base = end
	c.mu.Unlock()

	cd.t.Report(res)
}

// record counts one result and returns the health after it and whether it
// is a transition. This is mod_proxy_hcheck's hc_check state machine with
// consecutive counts: Apache never resets a count on the opposite result, so
// with fails=3 it puts a member down after 500, 200, 500, 200, 500.
func (s *state) record(passed, down bool, chk Check) (healthy, changed bool) {
	if down {
		s.Fails = 0
		switch {
		case !passed:
			s.Passes = 0
		case s.Passes+1 < chk.passes():
			s.Passes++
		default:
			s.Passes = 0
			s.Healthy = true
			return true, true
		}
		s.Healthy = false
		return false, false
	}
	s.Passes = 0
	switch {
	case passed:
		s.Fails = 0
	case s.Fails+1 < chk.fails():
		s.Fails++
	default:
		s.Fails = 0
		s.Healthy = false
		return false, true
	}
	s.Healthy = true
	return true, false
}
