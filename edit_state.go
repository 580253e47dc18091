package balancer

import (
	"strings"
	"sync"
	"time"
)

// State is the runtime-editable state of a balancer, everything a
// [Change] can set, as a document: it encodes to JSON (durations as
// nanoseconds) and back without loss. Values are the effective ones: the
// method's name (byrequests when none is configured), load factors of at
// least 1, the health-check interval, passes and fails their defaults
// stand for. Counters and runtime states are in [Balancer.Members].
//
// A State saved and applied again ([State.Change]) recreates the settings
// and operator flags of the members it names. A state file kept across
// restarts (Apache's BalancerPersist) works that way: the saved state is
// applied over the configuration the program starts with, so for the
// members and parameters it names, the persisted state wins over the
// configuration.
type State struct {
	// Balancer is the balancer's name, "balancer://name".
	Balancer      string        `json:"balancer"`
	Method        string        `json:"method"`
	StickySession string        `json:"stickySession"`
	NoFailover    bool          `json:"noFailover"`
	MaxAttempts   int           `json:"maxAttempts"` // Config.MaxAttempts: 0 default, <0 none
	Timeout       time.Duration `json:"timeout"`
	// Members are in configuration order.
	Members []MemberState `json:"members"`
}

// MemberState is the runtime-editable state of one member.
type MemberState struct {
	// URL is the member's normalised URL, its identity.
	URL        string  `json:"url"`
	LoadFactor float64 `json:"loadFactor"`
	LBSet      int     `json:"lbSet"`
	Route      string  `json:"route"`
	Redirect   string  `json:"redirect"`
	// Flags are the member's [OperatorFlags] that are set, as letters
	// ([Status.Letters]), "" for none.
	Flags       string           `json:"flags"`
	HealthCheck HealthCheckState `json:"healthCheck"`
}

// HealthCheckState is a member's editable health-check settings.
type HealthCheckState struct {
	Method   string        `json:"method"` // "NONE" when the member is not checked
	URI      string        `json:"uri"`
	Interval time.Duration `json:"interval"`
	Passes   int           `json:"passes"`
	Fails    int           `json:"fails"`
}

// State returns the balancer's runtime-editable state. It is consistent
// with every Apply (read under the same lock); flags that errors and health
// checks change are read as they are at that moment. Safe for concurrent
// use.
func (b *Balancer) State() State {
	b.adminMu.Lock()
	defer b.adminMu.Unlock()
	cfg := &b.cfg
	st := State{
		Balancer:      b.name,
		Method:        methodName(cfg.Method),
		StickySession: cfg.StickySession,
		NoFailover:    cfg.NoFailover,
		MaxAttempts:   cfg.MaxAttempts,
		Timeout:       cfg.Timeout,
		Members:       []MemberState{},
	}
	for _, m := range b.snap.Load().members {
		c := m.cfg.Load()
		st.Members = append(st.Members, MemberState{
			URL:        m.name,
			LoadFactor: float64(c.factor) / 100,
			LBSet:      c.lbset,
			Route:      c.route,
			Redirect:   c.redirect,
			Flags:      (m.flags() & OperatorFlags).Letters(),
			HealthCheck: HealthCheckState{
				Method:   c.hc.Method.String(),
				URI:      c.hc.URI,
				Interval: hcInterval(c.hc.Interval),
				Passes:   max(c.hc.Passes, 1),
				Fails:    max(c.hc.Fails, 1),
			},
		})
	}
	return st
}

// Change returns the change that sets every value of s on a balancer
// that has the members s names: every balancer parameter, and for each
// member its settings, its operator flags set and the others cleared. It
// names s's balancer and adds and removes no member. Provenance is left
// for the caller to fill in.
func (s State) Change() Change {
	c := Change{
		Balancer:      s.Balancer,
		Method:        ptr(s.Method),
		StickySession: ptr(s.StickySession),
		NoFailover:    ptr(s.NoFailover),
		MaxAttempts:   ptr(s.MaxAttempts),
		Timeout:       ptr(s.Timeout),
	}
	for _, ms := range s.Members {
		set, _ := ParseStatus(ms.Flags, 0)
		c.Members = append(c.Members, ms.change(set))
	}
	return c
}

// ChangeTo returns the change that turns a balancer in state s into
// target: the parameters that differ, members of target that s lacks added
// (with all their settings, their flags as status), members s has and
// target lacks removed, and for members in both the settings and operator
// flags that differ. Nothing differing gives a Change that changes nothing.
// Added members come after the others, in target's order. It names s's
// balancer; provenance is left for the caller to fill in. A fleet sync
// applies a published State this way to a gateway whose members differ.
func (s State) ChangeTo(target State) Change {
	c := Change{Balancer: s.Balancer}
	if !strings.EqualFold(s.Method, target.Method) {
		c.Method = ptr(target.Method)
	}
	if s.StickySession != target.StickySession {
		c.StickySession = ptr(target.StickySession)
	}
	if s.NoFailover != target.NoFailover {
		c.NoFailover = ptr(target.NoFailover)
	}
	if s.MaxAttempts != target.MaxAttempts {
		c.MaxAttempts = ptr(target.MaxAttempts)
	}
	if s.Timeout != target.Timeout {
		c.Timeout = ptr(target.Timeout)
	}
	have := make(map[string]MemberState, len(s.Members))
	for _, ms := range s.Members {
		have[ms.URL] = ms
	}
	want := make(map[string]bool, len(target.Members))
	for _, tm := range target.Members {
		want[tm.URL] = true
		cur, ok := have[tm.URL]
		set, _ := ParseStatus(tm.Flags, 0)
		if !ok {
			a := tm.change(set)
			a.Clear = ""
			c.Add = append(c.Add, a)
			continue
		}
		if mc, differs := cur.diff(tm, set); differs {
			c.Members = append(c.Members, mc)
		}
	}
	for _, ms := range s.Members {
		if !want[ms.URL] {
			c.Remove = append(c.Remove, ms.URL)
		}
	}
	return c
}

// diff returns the member edit that turns ms into t (whose operator flags
// are set), and whether anything differs.
func (ms MemberState) diff(t MemberState, set Status) (MemberChange, bool) {
	mc := MemberChange{URL: ms.URL}
	differs := false
	if ms.LoadFactor != t.LoadFactor {
		mc.LoadFactor, differs = ptr(t.LoadFactor), true
	}
	if ms.LBSet != t.LBSet {
		mc.LBSet, differs = ptr(t.LBSet), true
	}
	if ms.Route != t.Route {
		mc.Route, differs = ptr(t.Route), true
	}
	if ms.Redirect != t.Redirect {
		mc.Redirect, differs = ptr(t.Redirect), true
	}
	cur, _ := ParseStatus(ms.Flags, 0)
	if on := set &^ cur & OperatorFlags; on != 0 {
		mc.Set, differs = on.Letters(), true
	}
	if off := cur &^ set & OperatorFlags; off != 0 {
		mc.Clear, differs = off.Letters(), true
	}
	if ms.HealthCheck != t.HealthCheck {
		mc.HealthCheck, differs = t.HealthCheck.change(), true
	}
	return mc, differs
}

// change is the member edit that recreates ms with the operator flags set.
func (ms MemberState) change(set Status) MemberChange {
	hc := ms.HealthCheck
	return MemberChange{
		URL:         ms.URL,
		LoadFactor:  ptr(ms.LoadFactor),
		LBSet:       ptr(ms.LBSet),
		Route:       ptr(ms.Route),
		Redirect:    ptr(ms.Redirect),
		Set:         (set & OperatorFlags).Letters(),
		Clear:       (OperatorFlags &^ set).Letters(),
		HealthCheck: hc.change(),
	}
}

// change is the health-check edit that recreates hc.
func (hc HealthCheckState) change() *HealthCheckChange {
	return &HealthCheckChange{
		Method:   ptr(hc.Method),
		URI:      ptr(hc.URI),
		Interval: ptr(hc.Interval),
		Passes:   ptr(hc.Passes),
		Fails:    ptr(hc.Fails),
	}
}

func ptr[T any](v T) *T { return &v }

// ChangeEvent reports a change that [Balancer.Apply] applied.
type ChangeEvent struct {
	// Balancer is the balancer's name, "balancer://name".
	Balancer string
	// Seq numbers the balancer's applied changes from 1, in the order they
	// were applied; listeners called concurrently by two Applies may see
	// them out of order and can sort by Seq.
	Seq uint64
	// Change is the change as given to Apply, with its provenance, When
	// filled in if it was zero. It may name values that were already set:
	// the change as a whole changed something.
	Change Change
}

// OnChange registers fn to be called after each Apply that changed
// something, and returns a function that unregisters it (safe to call more
// than once). fn runs on the goroutine that called Apply, after every lock
// is released, so it may call the balancer (State, Members, even Apply);
// listeners run in the order they were registered and should return
// quickly. OnChange is safe for concurrent use; a listener registered or
// unregistered while a change is reported may or may not see it.
//
// Only Apply is reported. Changes made with Update, Reconfigure and
// SetStatus are not, by design, and neither are the flags that errors and
// health checks change (see [Observer] for those):
//   - Listeners act on a report as on a runtime edit with a provenance:
//     the etcd fleet (etcd/fleet) publishes it to every replica, the
//     balancer-manager's state file persists it, and the persisted state
//     wins over the configuration at the next start. Update and
//     Reconfigure are how a replica's own configuration arrives (its
//     configuration file reloaded, its service discovery, which every
//     replica follows itself): publishing that would impose one
//     replica's configuration on the others, and persisting it would make
//     a later edit of the configuration file lose to a stale copy.
//   - A Reconfigure can change what a Change cannot express (functions,
//     transports, the Observer), so no faithful report exists for it.
//   - SetStatus carries no provenance, and a caller may mean it for this
//     replica only (taking its local member out during a deploy).
//
// A runtime edit that listeners should see (shared, persisted, audited)
// goes through Apply: MemberChange.Set and Clear set the same flags as
// SetStatus, with Change.Source and Who saying where the edit comes from.
// A caller that makes a change with Update or Reconfigure knows it made
// it, and can tell whoever needs to know.
func (b *Balancer) OnChange(fn func(ChangeEvent)) (stop func()) {
	return b.listeners.add(fn)
}

// listeners are the OnChange functions.
type listeners struct {
	mu   sync.Mutex
	next int
	fns  []listener
}

type listener struct {
	id int
	fn func(ChangeEvent)
}

func (l *listeners) add(fn func(ChangeEvent)) func() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.next++
	id := l.next
	l.fns = append(l.fns, listener{id, fn})
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		for i, f := range l.fns {
			if f.id == id {
				// A new slice, so that a call running on the old one is
				// not disturbed.
				l.fns = append(l.fns[:i:i], l.fns[i+1:]...)
				return
			}
		}
	}
}

// call calls every listener with ev, no lock held.
func (l *listeners) call(ev ChangeEvent) {
	l.mu.Lock()
	fns := l.fns
	l.mu.Unlock()
	for _, f := range fns {
		f.fn(ev)
	}
}
