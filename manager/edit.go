package manager

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/healthcheck"
	"github.com/proxybalancer/balancer/internal/sticky"
	"github.com/proxybalancer/balancer/lbmethod"
)

// mgrVal is one value of a change: whether it was given, its checked value,
// and the parameter that carried it and its text, for messages.
type mgrVal[T any] struct {
	set   bool
	v     T
	field string
	raw   string
}

// ptr returns a pointer to the value if it was given, nil otherwise.
func (v *mgrVal[T]) ptr() *T {
	if !v.set {
		return nil
	}
	return &v.v
}

// mgrEdit is one change to one balancer, parsed from a form or a JSON
// document. Values are checked while parsing; errs holds the values that
// are wrong, reported only once the nonce was checked.
type mgrEdit struct {
	balancer mgrVal[string]
	nonce    mgrVal[string]
	settings mgrSettingsEdit
	members  []*mgrMemberEdit
	add      []mgrVal[string] // normalised member URLs
	errs     []*mgrFieldError
}

type mgrSettingsEdit struct {
	method      mgrVal[string]
	sticky      mgrVal[string] // "" clears
	noFailover  mgrVal[bool]
	maxAttempts mgrVal[int] // as Apache shows it: 0 = no failover
	timeout     mgrVal[time.Duration]
	// rawMaxAttempts is Config.MaxAttempts itself (0 = the default), as a
	// state file keeps it.
	rawMaxAttempts mgrVal[int]
}

type mgrMemberEdit struct {
	url         mgrVal[string]
	lf          mgrVal[float64]
	lbset       mgrVal[int]
	route       mgrVal[string]
	redirect    mgrVal[string]
	set, clear  balancer.Status
	hcMethod    mgrVal[healthcheck.Method]
	hcURI       mgrVal[string]
	hcInterval  mgrVal[time.Duration]
	hcPasses    mgrVal[int]
	hcFails     mgrVal[int]
	fieldsGiven []string // the member parameters given, for messages
}

// mgrErrors is every wrong value of a change.
type mgrErrors []*mgrFieldError

func (es mgrErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

func (e *mgrEdit) bad(field, raw, msg string) {
	e.errs = append(e.errs, &mgrFieldError{field: field, value: raw, msg: msg})
}

// err returns the wrong values, or nil.
func (e *mgrEdit) err() error {
	if len(e.errs) == 0 {
		return nil
	}
	return mgrErrors(e.errs)
}

// managerFlags are the flags the manager may set and clear, with Apache's
// w_status_ letters.
var managerFlags = [...]struct {
	letter string
	flag   balancer.Status
}{
	{"I", balancer.StatusIgnoreErrors},
	{"N", balancer.StatusDrain},
	{"D", balancer.StatusDisabled},
	{"H", balancer.StatusStandby},
	{"R", balancer.StatusSpare},
	{"S", balancer.StatusStopped},
	{"C", balancer.StatusHCFailed},
}

// mgrPersistedFlags are the flags a state file keeps: the operator's
// choices, not the runtime states (E, C) that errors and checks decide.
const mgrPersistedFlags = balancer.OperatorFlags

func mgrIsChangeKey(key string) bool {
	return strings.HasPrefix(key, "w_") || strings.HasPrefix(key, "b_")
}

// Ranges of the values the manager accepts.
const (
	maxBalancerTimeout = 7200 * time.Second // b_tmo, Apache's 0..7200 s
	maxManagerAttempts = 99                 // b_max
	maxHCInterval      = 24 * time.Hour     // w_hi
	maxHCURILen        = 63                 // w_hu
	maxRouteLen        = 63                 // w_wr, w_rr: Apache's 64-byte fields
)

// Values, shared by the form and the JSON parsers.

func (e *mgrEdit) loadFactor(field, raw string, f float64) (float64, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 1 || f > 100 {
		e.bad(field, raw, "out of range 1..100")
		return 0, false
	}
	return f, true
}

func (e *mgrEdit) intRange(field, raw string, n, lo, hi int) (int, bool) {
	if n < lo || n > hi {
		e.bad(field, raw, fmt.Sprintf("out of range %d..%d", lo, hi))
		return 0, false
	}
	return n, true
}

func (e *mgrEdit) route(field, raw string) (string, bool) {
	if len(raw) > maxRouteLen {
		e.bad(field, raw, fmt.Sprintf("longer than %d bytes", maxRouteLen))
		return "", false
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] < 0x20 || raw[i] == 0x7f {
			e.bad(field, raw, fmt.Sprintf("control character at byte %d", i))
			return "", false
		}
	}
	return raw, true
}

func (e *mgrEdit) hcMethod(field, raw string) (healthcheck.Method, bool) {
	m, err := healthcheck.ParseMethod(raw)
	if err != nil {
		e.bad(field, raw, "unknown health-check method (want one of "+strings.Join(hcMethodNames(), ", ")+")")
		return 0, false
	}
	return m, true
}

func (e *mgrEdit) hcURI(field, raw string) (string, bool) {
	if len(raw) > maxHCURILen {
		e.bad(field, raw, fmt.Sprintf("longer than %d bytes", maxHCURILen))
		return "", false
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] <= ' ' || raw[i] == 0x7f {
			e.bad(field, raw, fmt.Sprintf("byte %#02x at %d is not allowed in a request target", raw[i], i))
			return "", false
		}
	}
	return raw, true
}

func (e *mgrEdit) hcInterval(field, raw string, ms int64) (time.Duration, bool) {
	d := time.Duration(ms) * time.Millisecond
	if ms < healthcheck.MinInterval.Milliseconds() || d > maxHCInterval {
		e.bad(field, raw, fmt.Sprintf("out of range %d..%d (milliseconds)", healthcheck.MinInterval.Milliseconds(), maxHCInterval.Milliseconds()))
		return 0, false
	}
	return d, true
}

func (e *mgrEdit) timeoutMs(field, raw string, ms float64) (time.Duration, bool) {
	if math.IsNaN(ms) || ms < 0 || ms > float64(maxBalancerTimeout.Milliseconds()) {
		e.bad(field, raw, fmt.Sprintf("out of range 0..%d seconds", int(maxBalancerTimeout.Seconds())))
		return 0, false
	}
	return time.Duration(math.Round(ms)) * time.Millisecond, true
}

// stickyValue checks a stickysession value: "-" or "" clear it; the
// cookie and parameter names are trimmed (Apache keeps the spaces its own
// form shows around '|').
func (e *mgrEdit) stickyValue(field, raw string) (string, bool) {
	if raw == "-" || raw == "" {
		return "", true
	}
	v := raw
	if c, p, ok := strings.Cut(raw, "|"); ok {
		v = strings.TrimSpace(c) + "|" + strings.TrimSpace(p)
	}
	if _, _, err := sticky.ParseStickySession(v); err != nil {
		e.bad(field, raw, err.Error())
		return "", false
	}
	return v, true
}

func (e *mgrEdit) memberURL(field, raw string) (string, bool) {
	name, err := balancer.NormalizeURL(raw)
	if err != nil {
		e.bad(field, raw, "not a member URL: "+strings.TrimPrefix(err.Error(), fmt.Sprintf("balancer: member %q: ", raw)))
		return "", false
	}
	return name, true
}

func hcMethodNames() []string {
	var names []string
	for _, n := range []string{"NONE", "TCP", "OPTIONS", "HEAD", "GET", "OPTIONS11", "HEAD11", "GET11"} {
		if _, err := healthcheck.ParseMethod(n); err == nil {
			names = append(names, n)
		}
	}
	return names
}

// managerMethods are the method names the manager offers: those
// lbmethod.ByName can build.
func managerMethods() []string {
	var names []string
	for _, n := range []string{"byrequests", "bybusyness", "bytraffic", "heartbeat", "latency", "hash"} {
		if _, err := lbmethod.ByName(n); err == nil {
			names = append(names, n)
		}
	}
	return names
}
