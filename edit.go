package balancer

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/proxybalancer/balancer/healthcheck"
	"github.com/proxybalancer/balancer/internal/sticky"
	"github.com/proxybalancer/balancer/lbmethod"
)

// Change is one atomic runtime edit of a balancer: the edits that Apache's
// balancer-manager makes (balancer parameters, member settings and flags,
// members added), members removed, and where the edit comes from. It is
// the one path by which the balancer-manager, a state file, a
// configuration reload or a fleet of gateways change a running balancer;
// see [Balancer.Apply], [Balancer.State] and [Balancer.OnChange].
//
// Every pointer field is "unchanged when nil"; a field set to the value the
// balancer already has changes nothing. A Change is plain data: it encodes
// to JSON (durations as nanoseconds) and back without loss, so it can be
// published, stored and replayed. The zero Change changes nothing.
type Change struct {
	// Balancer, if set, names the balancer the change is for ("name" or
	// "balancer://name", case-insensitive); Apply refuses the change on
	// any other balancer.
	Balancer string `json:"balancer,omitempty"`

	// Provenance, passed on unchanged to the [Balancer.OnChange] listeners
	// (except When, filled in when zero). Apply does not interpret it.
	//
	// Source is what made the change ("manager", "state file", "etcd",
	// "reload"); Who is who asked for it (a user, a client address, a
	// gateway's name); When is when it was made, zero meaning "when
	// applied"; Version is the publisher's version of the change (an etcd
	// revision, a counter), zero meaning none.
	Source  string    `json:"source,omitempty"`
	Who     string    `json:"who,omitempty"`
	When    time.Time `json:"when,omitzero"`
	Version uint64    `json:"version,omitempty"`

	// Method is the load-balancing method by name, as [lbmethod.ByName]
	// knows it ("byrequests", "bybusyness", ...; case-insensitive). The
	// method the balancer runs already keeps its state; another starts
	// from a reset state.
	Method *string `json:"method,omitempty"`

	// StickySession is [Config.StickySession]; "" turns sticky sessions
	// off, which a balancer with a RouteCookie or RoutePattern refuses.
	StickySession *string `json:"stickySession,omitempty"`

	// NoFailover is [Config.NoFailover].
	NoFailover *bool `json:"noFailover,omitempty"`

	// MaxAttempts is [Config.MaxAttempts]: 0 is Apache's default
	// (members−1), a negative value no failover.
	MaxAttempts *int `json:"maxAttempts,omitempty"`

	// Timeout is [Config.Timeout], >= 0.
	Timeout *time.Duration `json:"timeout,omitempty"`

	// Remove lists members to remove, by URL (compared normalised, see
	// [NormalizeURL]). They finish the requests they have, as with
	// [Balancer.Update].
	Remove []string `json:"remove,omitempty"`

	// Add lists members to add. Each starts as Member{URL: url} (default
	// connection settings, Retry and health checks) with the entry's
	// settings applied and its Set flags as its configured Status; Apache's
	// balancer-manager adds members with Set "D", disabled.
	Add []MemberChange `json:"add,omitempty"`

	// Members lists edits of members, the ones added by this change
	// included.
	Members []MemberChange `json:"members,omitempty"`
}

// MemberChange is an edit of one member, named by URL; nil fields are
// unchanged.
type MemberChange struct {
	// URL names the member (compared normalised, see [NormalizeURL]).
	URL string `json:"url"`

	// LoadFactor is [Member.LoadFactor], 1..100 (0 means 1). Changing it
	// restarts every member's scheduler credit at its load factor (Apache's
	// recalc_factors); a balancer's only member always has factor 1.
	LoadFactor *float64 `json:"loadFactor,omitempty"`
	// LBSet is [Member.LBSet], 0..99.
	LBSet *int `json:"lbSet,omitempty"`
	// Route and Redirect are [Member.Route] and [Member.Redirect].
	Route    *string `json:"route,omitempty"`
	Redirect *string `json:"redirect,omitempty"`

	// Set and Clear are status flags to set and then clear, as letters
	// among those the balancer-manager switches: I (ignore errors), N
	// (draining), D (disabled), H (hot standby), R (hot spare), S
	// (stopped) and C (health check failed); for example Set "D" disables
	// the member and Clear "DS" enables it. Case-insensitive. The flags
	// are runtime state, as [Balancer.SetStatus] sets them, except for an
	// added member, whose Set flags are its configured Status.
	Set   string `json:"set,omitempty"`
	Clear string `json:"clear,omitempty"`

	// HealthCheck edits the member's health-check settings.
	HealthCheck *HealthCheckChange `json:"healthCheck,omitempty"`
}

// HealthCheckChange edits a member's [healthcheck.Check]; nil fields are
// unchanged. The Check's Expect and Timeout are not editable at runtime.
type HealthCheckChange struct {
	// Method is the check method by name ("NONE", "TCP", "OPTIONS",
	// "HEAD", "GET", "OPTIONS11", "HEAD11", "GET11"; case-insensitive).
	Method *string `json:"method,omitempty"`
	// URI is [healthcheck.Check.URI].
	URI *string `json:"uri,omitempty"`
	// Interval is [healthcheck.Check.Interval]: 0 for the default, else at
	// least [healthcheck.MinInterval].
	Interval *time.Duration `json:"interval,omitempty"`
	// Passes and Fails are [healthcheck.Check.Passes] and Fails, >= 0 (0
	// means 1).
	Passes *int `json:"passes,omitempty"`
	Fails  *int `json:"fails,omitempty"`
}

// EditFlags are the flags a [MemberChange] may set and clear.
const EditFlags = StatusIgnoreErrors | StatusDrain | StatusDisabled | StatusStandby | StatusSpare | StatusStopped | StatusHCFailed

// OperatorFlags are the flags that an operator chooses, as opposed to the
// runtime states (error, health check failed) that errors and checks
// decide: the flags [State] keeps and a state file persists.
const OperatorFlags = StatusIgnoreErrors | StatusDrain | StatusDisabled | StatusStandby | StatusSpare | StatusStopped

// EditError is a value of a [Change] that [Balancer.Apply] refused. Field
// is the value's path in the Change's JSON form, for example "method",
// "members[1].loadFactor" or "remove[0]".
type EditError struct {
	Field  string
	Value  string
	Reason string
}

func (e *EditError) Error() string {
	return fmt.Sprintf("balancer: change: %s %q: %s", e.Field, e.Value, e.Reason)
}

// NormalizeURL returns a member URL in normalised form, a member's
// identity: scheme and host lower-cased, the scheme's default port
// dropped, the path kept as given. Two member URLs name the same member
// when their normalised forms are equal. The error says why raw is not a
// member URL.
func NormalizeURL(raw string) (string, error) {
	_, n, err := normalizeURL(raw)
	if err != nil {
		return "", fmt.Errorf("balancer: member %q: %v", raw, err)
	}
	return n, nil
}

// Apply applies c to the balancer atomically: every value is checked
// first, on its own and then against the balancer as it is (members named
// must exist, added ones must not), and on any error nothing changes; the
// error names each refused field and its value ([EditError], joined with
// [errors.Join] when there are several of one kind). Otherwise the configuration
// switches at once (members removed, added and edited, balancer
// parameters), then the flags change, all under the balancer's
// configuration lock, so no other change comes in between; a request
// routed in between sees the new configuration with the old flags. The
// next request sees everything.
//
// Once the locks are released, Apply reports the flag changes to the
// Observer's StateChanged, then, if anything changed, calls the
// [Balancer.OnChange] listeners. It is safe for concurrent use; it must
// not be called from a Reconfigure function.
func (b *Balancer) Apply(c Change) error {
	if err := c.check(b); err != nil {
		return err
	}
	b.adminMu.Lock()
	res, err := b.applyLocked(&c)
	b.unlockAdmin()
	if err != nil {
		return err
	}
	for _, ev := range res.events {
		b.stateChanged(ev.m, ev.from, ev.to, ev.why)
	}
	if res.changed {
		if c.When.IsZero() {
			c.When = b.now()
		}
		b.listeners.call(ChangeEvent{Balancer: b.name, Seq: res.seq, Change: c})
	}
	return nil
}

// editResult is what applyLocked did, for what Apply reports after it.
type editResult struct {
	changed bool
	seq     uint64
	events  []flagEvent
}

// flagEdit is a runtime flag change of one member.
type flagEdit struct {
	name       string
	set, clear Status
}

// applyLocked applies a checked change; the caller holds adminMu.
func (b *Balancer) applyLocked(c *Change) (editResult, error) {
	cfg := b.cfg
	cfg.Members = append([]Member(nil), cfg.Members...)
	var errs []error
	bad := func(field, value, reason string) {
		errs = append(errs, &EditError{Field: field, Value: value, Reason: reason})
	}
	cfgChanged, recalc := false, false

	index := func() map[string]int {
		ix := make(map[string]int, len(cfg.Members))
		for i := range cfg.Members {
			if _, n, err := normalizeURL(cfg.Members[i].URL); err == nil {
				ix[n] = i
			}
		}
		return ix
	}
	ix := index()
	if len(c.Remove) > 0 {
		gone := map[string]bool{}
		for i, raw := range c.Remove {
			n, _ := NormalizeURL(raw)
			if _, ok := ix[n]; !ok {
				bad(fmt.Sprintf("remove[%d]", i), raw, "no such member in "+b.name)
				continue
			}
			gone[n] = true
		}
		kept := cfg.Members[:0]
		for _, mc := range cfg.Members {
			if _, n, err := normalizeURL(mc.URL); err != nil || !gone[n] {
				kept = append(kept, mc)
			}
		}
		cfgChanged = cfgChanged || len(kept) != len(cfg.Members)
		cfg.Members = kept
		ix = index()
	}
	for i := range c.Add {
		a := &c.Add[i]
		n, _ := NormalizeURL(a.URL)
		if _, dup := ix[n]; dup {
			bad(fmt.Sprintf("add[%d].url", i), a.URL, "already a member of "+b.name)
			continue
		}
		st, _ := ParseStatus(a.Set, 0)
		mc := Member{URL: n, Status: st.Letters()}
		cfg.Members = append(cfg.Members, mc)
		ix[n] = len(cfg.Members) - 1
		cfgChanged = true
	}
	for i := range c.Add {
		n, _ := NormalizeURL(c.Add[i].URL)
		if j, ok := ix[n]; ok && cfg.Members[j].URL == n {
			_, lf := c.Add[i].edit(&cfg.Members[j], len(cfg.Members))
			recalc = recalc || lf
		}
	}
	var flags []flagEdit
	for i := range c.Members {
		me := &c.Members[i]
		n, _ := NormalizeURL(me.URL)
		j, ok := ix[n]
		if !ok {
			bad(fmt.Sprintf("members[%d].url", i), me.URL, "no such member in "+b.name)
			continue
		}
		changed, lf := me.edit(&cfg.Members[j], len(cfg.Members))
		cfgChanged = cfgChanged || changed
		recalc = recalc || lf
		set, _ := ParseStatus(me.Set, 0)
		clear, _ := ParseStatus(me.Clear, 0)
		if set|clear != 0 {
			flags = append(flags, flagEdit{name: n, set: set, clear: clear})
		}
	}
	if c.Method != nil && !strings.EqualFold(*c.Method, methodName(cfg.Method)) {
		m, err := lbmethod.ByName(strings.TrimSpace(*c.Method))
		if err != nil {
			bad("method", *c.Method, err.Error())
		} else {
			cfg.Method, cfgChanged = m, true
		}
	}
	if c.StickySession != nil && *c.StickySession != cfg.StickySession {
		if *c.StickySession == "" && (cfg.RouteCookie != nil || cfg.RoutePattern != "") {
			bad("stickySession", "", "cannot turn sticky sessions off: "+b.name+"'s RouteCookie or RoutePattern needs them")
		}
		cfg.StickySession, cfgChanged = *c.StickySession, true
	}
	if c.NoFailover != nil && *c.NoFailover != cfg.NoFailover {
		cfg.NoFailover, cfgChanged = *c.NoFailover, true
	}
	if c.MaxAttempts != nil && *c.MaxAttempts != cfg.MaxAttempts {
		cfg.MaxAttempts, cfgChanged = *c.MaxAttempts, true
	}
	if c.Timeout != nil && *c.Timeout != cfg.Timeout {
		cfg.Timeout, cfgChanged = *c.Timeout, true
	}
	if len(errs) > 0 {
		return editResult{}, errors.Join(errs...)
	}
	if cfgChanged {
		if err := b.apply(cfg); err != nil {
			return editResult{}, fmt.Errorf("balancer: change: %w", err)
		}
	}
	res := editResult{changed: cfgChanged}
	why := "changed at runtime"
	if c.Source != "" {
		why = "changed by " + c.Source
	}
	now := b.now()
	for _, fe := range flags {
		m, err := b.member(fe.name)
		if err != nil {
			continue // cannot happen: checked under the same lock
		}
		if from, to, ok := m.swapFlags(fe.set, fe.clear, now); ok {
			res.events = append(res.events, flagEvent{m, from, to, why})
			res.changed = true
		}
	}
	if len(res.events) > 0 {
		b.notify()
	}
	if recalc {
		b.recalcFactors()
	}
	if res.changed {
		b.editSeq++
		res.seq = b.editSeq
	}
	return res, nil
}

// edit applies the member settings of me to mc and reports whether any
// changed, and whether the load factor did; members is how many members
// the balancer will have.
func (me *MemberChange) edit(mc *Member, members int) (changed, lf bool) {
	if me.LoadFactor != nil {
		f := *me.LoadFactor
		if members == 1 {
			f = 1 // Apache's recalc_factors: a single member's factor is 1
		}
		if mustFactor(mc.LoadFactor) != mustFactor(f) {
			mc.LoadFactor, changed, lf = f, true, true
		}
	}
	if me.LBSet != nil && *me.LBSet != mc.LBSet {
		mc.LBSet, changed = *me.LBSet, true
	}
	if me.Route != nil && *me.Route != mc.Route {
		mc.Route, changed = *me.Route, true
	}
	if me.Redirect != nil && *me.Redirect != mc.Redirect {
		mc.Redirect, changed = *me.Redirect, true
	}
	if hc := me.HealthCheck; hc != nil {
		c := &mc.HealthCheck
		if hc.Method != nil {
			m, _ := healthcheck.ParseMethod(strings.TrimSpace(*hc.Method))
			if m != c.Method {
				c.Method, changed = m, true
			}
		}
		if hc.URI != nil && *hc.URI != c.URI {
			c.URI, changed = *hc.URI, true
		}
		if hc.Interval != nil && hcInterval(*hc.Interval) != hcInterval(c.Interval) {
			c.Interval, changed = *hc.Interval, true
		}
		if hc.Passes != nil && max(*hc.Passes, 1) != max(c.Passes, 1) {
			c.Passes, changed = *hc.Passes, true
		}
		if hc.Fails != nil && max(*hc.Fails, 1) != max(c.Fails, 1) {
			c.Fails, changed = *hc.Fails, true
		}
	}
	return changed, lf
}

func hcInterval(d time.Duration) time.Duration {
	if d <= 0 {
		return healthcheck.DefaultInterval
	}
	return d
}

// mustFactor is loadFactor for a value already checked.
func mustFactor(f float64) int64 {
	n, _ := loadFactor(f)
	return n
}

// methodName is the name of a configured method; nil is byrequests.
func methodName(m interface{ Name() string }) string {
	if m == nil {
		return "byrequests"
	}
	return m.Name()
}

// check validates what a change says on its own, before the balancer is
// looked at; every bad value is reported.
func (c *Change) check(b *Balancer) error {
	var errs []error
	bad := func(field, value, reason string) {
		errs = append(errs, &EditError{Field: field, Value: value, Reason: reason})
	}
	if c.Balancer != "" {
		n := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(c.Balancer)), "balancer://")
		if "balancer://"+n != b.name {
			bad("balancer", c.Balancer, "this is "+b.name)
		}
	}
	if c.Method != nil && strings.TrimSpace(*c.Method) == "" {
		bad("method", *c.Method, "must not be empty")
	}
	if c.StickySession != nil && *c.StickySession != "" {
		if _, _, err := sticky.ParseStickySession(*c.StickySession); err != nil {
			bad("stickySession", *c.StickySession, err.Error())
		}
	}
	if c.Timeout != nil && *c.Timeout < 0 {
		bad("timeout", c.Timeout.String(), "must be >= 0")
	}
	seen := map[string]string{} // normalised URL → the field that named it
	once := func(field, raw string, allowed ...string) {
		n, err := NormalizeURL(raw)
		if err != nil {
			bad(field, raw, "not a member URL: "+strings.TrimPrefix(err.Error(), fmt.Sprintf("balancer: member %q: ", raw)))
			return
		}
		prev, dup := seen[n]
		if !dup {
			seen[n] = field
			return
		}
		for _, a := range allowed {
			if strings.HasPrefix(prev, a) {
				return
			}
		}
		bad(field, raw, "already named by "+prev)
	}
	for i, raw := range c.Remove {
		once(fmt.Sprintf("remove[%d]", i), raw)
	}
	for i := range c.Add {
		p := fmt.Sprintf("add[%d]", i)
		once(p+".url", c.Add[i].URL)
		c.Add[i].check(p, bad)
	}
	for i := range c.Members {
		p := fmt.Sprintf("members[%d]", i)
		once(p+".url", c.Members[i].URL, "add[") // an added member may be edited
		c.Members[i].check(p, bad)
	}
	return errors.Join(errs...)
}

// check validates a member edit's values; p is its path.
func (me *MemberChange) check(p string, bad func(field, value, reason string)) {
	if me.LoadFactor != nil {
		if _, err := loadFactor(*me.LoadFactor); err != nil {
			bad(p+".loadFactor", fmt.Sprint(*me.LoadFactor), err.Error())
		}
	}
	if me.LBSet != nil && (*me.LBSet < 0 || *me.LBSet > 99) {
		bad(p+".lbSet", fmt.Sprint(*me.LBSet), "out of range 0..99")
	}
	if me.Route != nil {
		if err := checkRoute(*me.Route); err != nil {
			bad(p+".route", *me.Route, err.Error())
		}
	}
	if me.Redirect != nil {
		if err := checkRoute(*me.Redirect); err != nil {
			bad(p+".redirect", *me.Redirect, err.Error())
		}
	}
	for _, f := range [...]struct{ name, v string }{{"set", me.Set}, {"clear", me.Clear}} {
		for i := 0; i < len(f.v); i++ {
			st, err := ParseStatus(f.v[i:i+1], 0)
			if err != nil || st&^EditFlags != 0 || st == 0 {
				bad(p+"."+f.name, f.v, fmt.Sprintf("flag %q: want letters among I, N, D, H, R, S, C", f.v[i]))
				break
			}
		}
	}
	hc := me.HealthCheck
	if hc == nil {
		return
	}
	if hc.Method != nil {
		if _, err := healthcheck.ParseMethod(strings.TrimSpace(*hc.Method)); err != nil {
			bad(p+".healthCheck.method", *hc.Method, strings.TrimPrefix(err.Error(), fmt.Sprintf("healthcheck: method %q: ", strings.TrimSpace(*hc.Method))))
		}
	}
	if hc.URI != nil {
		if err := (healthcheck.Check{URI: *hc.URI}).Validate(); err != nil {
			bad(p+".healthCheck.uri", *hc.URI, "control characters and spaces are not allowed in a request target")
		}
	}
	if hc.Interval != nil {
		if d := *hc.Interval; d < 0 || d > 0 && d < healthcheck.MinInterval {
			bad(p+".healthCheck.interval", d.String(), fmt.Sprintf("must be >= %v, or 0 for the default", healthcheck.MinInterval))
		}
	}
	if hc.Passes != nil && *hc.Passes < 0 {
		bad(p+".healthCheck.passes", fmt.Sprint(*hc.Passes), "must be >= 0")
	}
	if hc.Fails != nil && *hc.Fails < 0 {
		bad(p+".healthCheck.fails", fmt.Sprint(*hc.Fails), "must be >= 0")
	}
}

// recalcFactors is Apache's recalc_factors after a load factor change:
// every member's lbstatus restarts at its load factor.
func (b *Balancer) recalcFactors() {
	s := b.snap.Load()
	b.mu.Lock()
	defer b.mu.Unlock()
	if s.lists != nil {
		s.lists.SyncLBStatus(true)
	}
	for _, m := range s.members {
		m.lb.LBStatus = m.lb.Factor()
	}
}
