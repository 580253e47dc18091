package manager

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/healthcheck"
)

// Source is the Source of the changes the manager applies
// ([balancer.Change.Source]).
const Source = "balancer-manager"

// applyEdit applies a checked change to m's balancer, as one
// [balancer.Balancer.Apply], and reports whether anything changed. Members
// to add are counted against the balancer's growth first. The caller holds
// mg.editMu (or is New, alone with the manager).
func (mg *Manager) applyEdit(m *managed, e *mgrEdit, who string) (bool, error) {
	before := m.b.State()
	present := make(map[string]bool, len(before.Members))
	for _, ms := range before.Members {
		present[ms.URL] = true
	}
	c := balancer.Change{Balancer: m.b.Name(), Source: Source, Who: who}
	mg.mu.Lock()
	for u := range m.added {
		if !present[u] {
			delete(m.added, u) // gone with an Update or another change
		}
	}
	used := len(m.added)
	mg.mu.Unlock()
	for _, a := range e.add {
		if present[a.v] {
			return false, &mgrFieldError{field: a.field, value: a.raw, msg: "already a member of " + m.b.Name()}
		}
		if used >= m.growth {
			return false, &mgrFieldError{field: a.field, value: a.raw, msg: fmt.Sprintf("no room: growth is %d and %d added members are in use", m.growth, used)}
		}
		used++
		// Apache: an added member starts disabled, with no route.
		c.Add = append(c.Add, balancer.MemberChange{URL: a.v, Set: "D"})
	}
	for _, me := range e.members {
		c.Members = append(c.Members, me.change())
	}
	e.settings.change(&c, before)

	// The additions are recorded first, so that the state file the
	// change listener writes marks them as added.
	mg.setAdded(m, e.add, true)
	if err := m.b.Apply(c); err != nil {
		mg.setAdded(m, e.add, false)
		return false, e.mapError(err, m.b.Name())
	}
	return !reflect.DeepEqual(before, m.b.State()), nil
}

func (mg *Manager) setAdded(m *managed, add []mgrVal[string], on bool) {
	mg.mu.Lock()
	defer mg.mu.Unlock()
	for _, a := range add {
		if on {
			m.added[a.v] = true
		} else {
			delete(m.added, a.v)
		}
	}
}

// change is the member edit as a [balancer.MemberChange].
func (me *mgrMemberEdit) change() balancer.MemberChange {
	mc := balancer.MemberChange{URL: me.url.v, Set: me.set.Letters(), Clear: me.clear.Letters()}
	mc.LoadFactor = me.lf.ptr()
	mc.LBSet = me.lbset.ptr()
	mc.Route = me.route.ptr()
	mc.Redirect = me.redirect.ptr()
	if me.hcMethod.set || me.hcURI.set || me.hcInterval.set || me.hcPasses.set || me.hcFails.set {
		hc := &balancer.HealthCheckChange{}
		if me.hcMethod.set {
			name := me.hcMethod.v.String()
			hc.Method = &name
		}
		hc.URI = me.hcURI.ptr()
		hc.Interval = me.hcInterval.ptr()
		hc.Passes = me.hcPasses.ptr()
		hc.Fails = me.hcFails.ptr()
		mc.HealthCheck = hc
	}
	return mc
}

// change adds the balancer settings to c. A value equal to the current one
// changes nothing, so that a form sent back as shown leaves the balancer
// as it is; maxattempts is compared as Apache shows it.
func (s *mgrSettingsEdit) change(c *balancer.Change, cur balancer.State) {
	c.Method = s.method.ptr()
	c.StickySession = s.sticky.ptr()
	c.NoFailover = s.noFailover.ptr()
	if s.maxAttempts.set && s.maxAttempts.v != mgrMaxAttempts(cur.MaxAttempts, len(cur.Members)) {
		// Apache's maxattempts=0 (no failover) is a negative MaxAttempts.
		n := s.maxAttempts.v
		if n == 0 {
			n = -1
		}
		c.MaxAttempts = &n
	}
	if s.rawMaxAttempts.set {
		c.MaxAttempts = &s.rawMaxAttempts.v
	}
	c.Timeout = s.timeout.ptr()
}

// mapError turns the errors of Apply into the manager's, naming the
// parameters of the form or JSON document that carried the values.
func (e *mgrEdit) mapError(err error, name string) error {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var out mgrErrors
	for _, x := range errs {
		var ee *balancer.EditError
		if !errors.As(x, &ee) {
			return err // not a refused value: the caller answers 500
		}
		fe := &mgrFieldError{field: ee.Field, value: ee.Value, msg: ee.Reason}
		var i int
		switch {
		case ee.Field == "method":
			fe.field, fe.value = e.settings.method.field, e.settings.method.raw
			fe.msg += " (the manager can set: " + strings.Join(managerMethods(), ", ") + ")"
		case ee.Field == "stickySession":
			fe.field, fe.value = e.settings.sticky.field, e.settings.sticky.raw
		case scan(ee.Field, "members[%d].url", &i) && i < len(e.members):
			u := e.members[i].url
			fe.field, fe.value, fe.msg = u.field, u.raw, "no such member in "+name
		case scan(ee.Field, "add[%d].url", &i) && i < len(e.add):
			fe.field, fe.value = e.add[i].field, e.add[i].raw
		}
		out = append(out, fe)
	}
	if len(out) == 1 {
		return out[0]
	}
	return out
}

// scan reports whether s is format with one number, stored in *i.
func scan(s, format string, i *int) bool {
	n, err := fmt.Sscanf(s, format, i)
	return err == nil && n == 1 && fmt.Sprintf(format, *i) == s
}

// mgrHCInterval is a health check's interval, the default for zero.
func mgrHCInterval(c healthcheck.Check) time.Duration {
	if c.Interval <= 0 {
		return healthcheck.DefaultInterval
	}
	return c.Interval
}

// mgrMethodName is the name of a configured method; nil is byrequests.
func mgrMethodName(m interface{ Name() string }) string {
	if m == nil {
		return "byrequests"
	}
	return m.Name()
}

// mgrMaxAttempts is the failover attempts a configuration gives, as
// Apache shows maxattempts: the configured value, or members−1.
func mgrMaxAttempts(configured, members int) int {
	switch {
	case configured < 0:
		return 0
	case configured > 0:
		return configured
	case members > 1:
		return members - 1
	}
	return 0
}
