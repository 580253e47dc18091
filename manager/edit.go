package manager

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"sort"
	"strconv"
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

// ---- values, shared by the form and the JSON parsers ----

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
	for _, n := range []string{"byrequests", "bybusyness", "bytraffic", "heartbeat", "latency"} {
		if _, err := lbmethod.ByName(n); err == nil {
			names = append(names, n)
		}
	}
	return names
}

// ---- the form (Apache's parameters) ----

// mgrParseForm reads a change from a POST form with Apache's parameter
// names. b, w and nonce may also come from the query string; changes only
// from the body.
func mgrParseForm(q, f url.Values) (*mgrEdit, error) {
	for key := range q {
		if mgrIsChangeKey(key) {
			return nil, &mgrFieldError{field: key, value: q.Get(key), msg: "send changes in the POST body, not in the URL"}
		}
	}
	e := &mgrEdit{}
	one := func(key string) (string, bool) {
		vs, ok := f[key]
		if !ok {
			vs, ok = q[key]
		}
		if !ok || len(vs) == 0 {
			return "", false
		}
		if len(vs) > 1 {
			e.bad(key, strings.Join(vs, ","), "given more than once")
		}
		return strings.TrimSpace(vs[0]), true
	}
	e.balancer.field, e.nonce.field = "b", "nonce"
	e.balancer.v, e.balancer.set = one("b")
	e.nonce.v, e.nonce.set = one("nonce")
	me := &mgrMemberEdit{}
	me.url.field = "w"
	me.url.v, me.url.set = one("w")
	e.balancer.raw, e.nonce.raw, me.url.raw = e.balancer.v, e.nonce.v, me.url.v
	s := &e.settings

	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var wyes, nwrkr mgrVal[string]
	for _, key := range keys {
		if !mgrIsChangeKey(key) {
			continue // b, w, nonce, xml, json, a submit button's name
		}
		raw, _ := one(key)
		if strings.HasPrefix(key, "w_") {
			me.fieldsGiven = append(me.fieldsGiven, key)
		}
		switch key {
		case "w_lf":
			if n, err := strconv.ParseFloat(raw, 64); err != nil {
				e.bad(key, raw, "not a number (want 1..100)")
			} else if v, ok := e.loadFactor(key, raw, n); ok {
				me.lf = mgrVal[float64]{true, v, key, raw}
			}
		case "w_ls":
			if n, ok := mgrFormInt(e, key, raw, 0, 99); ok {
				me.lbset = mgrVal[int]{true, n, key, raw}
			}
		case "w_wr":
			if v, ok := e.route(key, raw); ok {
				me.route = mgrVal[string]{true, v, key, raw}
			}
		case "w_rr":
			if v, ok := e.route(key, raw); ok {
				me.redirect = mgrVal[string]{true, v, key, raw}
			}
		case "w_hm":
			if m, ok := e.hcMethod(key, raw); ok {
				me.hcMethod = mgrVal[healthcheck.Method]{true, m, key, raw}
			}
		case "w_hi":
			if n, err := strconv.ParseInt(raw, 10, 64); err != nil {
				e.bad(key, raw, "not a whole number of milliseconds")
			} else if d, ok := e.hcInterval(key, raw, n); ok {
				me.hcInterval = mgrVal[time.Duration]{true, d, key, raw}
			}
		case "w_hp":
			if n, ok := mgrFormInt(e, key, raw, 1, math.MaxInt32); ok {
				me.hcPasses = mgrVal[int]{true, n, key, raw}
			}
		case "w_hf":
			if n, ok := mgrFormInt(e, key, raw, 1, math.MaxInt32); ok {
				me.hcFails = mgrVal[int]{true, n, key, raw}
			}
		case "w_hu":
			if v, ok := e.hcURI(key, raw); ok {
				me.hcURI = mgrVal[string]{true, v, key, raw}
			}
		case "w_he":
			if raw != "" {
				e.bad(key, raw, "health-check expressions are not supported: set healthcheck.Check.Expect in Go")
			}
		case "b_lbm":
			if raw == "" {
				e.bad(key, raw, "must not be empty")
			} else {
				s.method = mgrVal[string]{true, raw, key, raw}
			}
		case "b_tmo":
			if n, err := strconv.ParseFloat(raw, 64); err != nil {
				e.bad(key, raw, "not a number of seconds (want 0..7200)")
			} else if d, ok := e.timeoutMs(key, raw, n*1000); ok {
				s.timeout = mgrVal[time.Duration]{true, d, key, raw}
			}
		case "b_max":
			if n, ok := mgrFormInt(e, key, raw, 0, maxManagerAttempts); ok {
				s.maxAttempts = mgrVal[int]{true, n, key, raw}
			}
		case "b_sforce":
			if b, ok := mgrFormBool(e, key, raw); ok {
				s.noFailover = mgrVal[bool]{true, b, key, raw}
			}
		case "b_ss":
			// Apache: an empty value changes nothing, "-" clears.
			if raw != "" {
				if v, ok := e.stickyValue(key, raw); ok {
					s.sticky = mgrVal[string]{true, v, key, raw}
				}
			}
		case "b_wyes":
			wyes = mgrVal[string]{true, raw, key, raw}
		case "b_nwrkr":
			nwrkr = mgrVal[string]{true, raw, key, raw}
		default:
			if l, ok := strings.CutPrefix(key, "w_status_"); ok {
				flag, known := managerFlag(l)
				if !known {
					e.bad(key, raw, "unknown status flag (want one of I, N, D, H, R, S, C)")
					continue
				}
				if on, ok := mgrFormBool(e, key, raw); ok {
					if on {
						me.set |= flag
					} else {
						me.clear |= flag
					}
				}
				continue
			}
			e.bad(key, raw, "unknown parameter")
		}
	}
	switch {
	case wyes.set && wyes.v != "1":
		e.bad("b_wyes", wyes.raw, "want 1 to add the member b_nwrkr names")
	case wyes.set && nwrkr.v == "":
		e.errs = append(e.errs, &mgrFieldError{field: "b_nwrkr", missing: true, msg: "missing: b_wyes=1 needs the URL of the member to add"})
	case wyes.set:
		if u, ok := e.memberURL("b_nwrkr", nwrkr.v); ok {
			e.add = append(e.add, mgrVal[string]{true, u, "b_nwrkr", nwrkr.v})
		}
	case nwrkr.v != "":
		e.errs = append(e.errs, &mgrFieldError{field: "b_wyes", missing: true, msg: "missing: set b_wyes=1 to add the member b_nwrkr names"})
	}
	if me.url.set && me.url.v != "" {
		e.members = append(e.members, me)
	} else if len(me.fieldsGiven) > 0 {
		e.errs = append(e.errs, &mgrFieldError{field: "w", missing: true, msg: "missing: name the member " + strings.Join(me.fieldsGiven, ", ") + " change"})
	}
	return e, nil
}

func managerFlag(letter string) (balancer.Status, bool) {
	for _, f := range managerFlags {
		if f.letter == letter {
			return f.flag, true
		}
	}
	return 0, false
}

func mgrFormInt(e *mgrEdit, key, raw string, lo, hi int) (int, bool) {
	n, err := strconv.Atoi(raw)
	if err != nil {
		e.bad(key, raw, fmt.Sprintf("not a whole number (want %d..%d)", lo, hi))
		return 0, false
	}
	return e.intRange(key, raw, n, lo, hi)
}

func mgrFormBool(e *mgrEdit, key, raw string) (bool, bool) {
	switch raw {
	case "1":
		return true, true
	case "0":
		return false, true
	}
	e.bad(key, raw, "want 0 or 1")
	return false, false
}

// ---- the JSON document ----

// mgrJSONEdit is a change as a JSON document; see the README's
// "balancer-manager" section.
type mgrJSONEdit struct {
	Balancer string              `json:"balancer"`
	Nonce    *string             `json:"nonce"`
	Settings *mgrJSONSettings    `json:"settings"`
	Members  []mgrJSONMemberEdit `json:"members"`
	Add      []string            `json:"add"`
}

type mgrJSONSettings struct {
	Method        *string `json:"method"`
	StickySession *string `json:"stickySession"`
	NoFailover    *bool   `json:"noFailover"`
	MaxAttempts   *int    `json:"maxAttempts"`
	TimeoutMs     *int64  `json:"timeoutMs"`
}

type mgrJSONMemberEdit struct {
	URL         string            `json:"url"`
	LoadFactor  *float64          `json:"loadFactor"`
	LBSet       *int              `json:"lbSet"`
	Route       *string           `json:"route"`
	Redirect    *string           `json:"redirect"`
	Flags       map[string]bool   `json:"flags"`
	HealthCheck *mgrJSONCheckEdit `json:"healthCheck"`
}

type mgrJSONCheckEdit struct {
	Method     *string `json:"method"`
	URI        *string `json:"uri"`
	IntervalMs *int64  `json:"intervalMs"`
	Passes     *int    `json:"passes"`
	Fails      *int    `json:"fails"`
}

// mgrParseJSON reads a change from a JSON document. Unknown fields and
// values of the wrong type are errors.
func mgrParseJSON(r io.Reader) (*mgrEdit, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var je mgrJSONEdit
	if err := dec.Decode(&je); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, &mgrFieldError{field: te.Field, value: te.Value, msg: "wrong type: want " + te.Type.String()}
		}
		return nil, fmt.Errorf("balancer: manager: JSON body: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("balancer: manager: JSON body: more than one value")
	}
	return je.toEdit(), nil
}

func (je *mgrJSONEdit) toEdit() *mgrEdit {
	e := &mgrEdit{}
	e.balancer = mgrVal[string]{true, strings.TrimSpace(je.Balancer), "balancer", je.Balancer}
	e.nonce.field = "nonce"
	if je.Nonce != nil {
		e.nonce = mgrVal[string]{true, strings.TrimSpace(*je.Nonce), "nonce", *je.Nonce}
	}
	if js := je.Settings; js != nil {
		s := &e.settings
		if js.Method != nil {
			const f = "settings.method"
			if v := strings.TrimSpace(*js.Method); v == "" {
				e.bad(f, *js.Method, "must not be empty")
			} else {
				s.method = mgrVal[string]{true, v, f, *js.Method}
			}
		}
		if js.StickySession != nil {
			const f = "settings.stickySession"
			if v, ok := e.stickyValue(f, strings.TrimSpace(*js.StickySession)); ok {
				s.sticky = mgrVal[string]{true, v, f, *js.StickySession}
			}
		}
		if js.NoFailover != nil {
			s.noFailover = mgrVal[bool]{true, *js.NoFailover, "settings.noFailover", strconv.FormatBool(*js.NoFailover)}
		}
		if js.MaxAttempts != nil {
			const f = "settings.maxAttempts"
			raw := strconv.Itoa(*js.MaxAttempts)
			if n, ok := e.intRange(f, raw, *js.MaxAttempts, 0, maxManagerAttempts); ok {
				s.maxAttempts = mgrVal[int]{true, n, f, raw}
			}
		}
		if js.TimeoutMs != nil {
			const f = "settings.timeoutMs"
			raw := strconv.FormatInt(*js.TimeoutMs, 10)
			if d, ok := e.timeoutMs(f, raw, float64(*js.TimeoutMs)); ok {
				s.timeout = mgrVal[time.Duration]{true, d, f, raw}
			}
		}
	}
	for i, jm := range je.Members {
		e.members = append(e.members, jm.toEdit(e, fmt.Sprintf("members[%d]", i)))
	}
	for i, raw := range je.Add {
		f := fmt.Sprintf("add[%d]", i)
		if u, ok := e.memberURL(f, strings.TrimSpace(raw)); ok {
			e.add = append(e.add, mgrVal[string]{true, u, f, raw})
		}
	}
	return e
}

func (jm *mgrJSONMemberEdit) toEdit(e *mgrEdit, p string) *mgrMemberEdit {
	me := &mgrMemberEdit{}
	me.url = mgrVal[string]{true, strings.TrimSpace(jm.URL), p + ".url", jm.URL}
	if me.url.v == "" {
		e.errs = append(e.errs, &mgrFieldError{field: p + ".url", missing: true, msg: "missing: name the member to change"})
	}
	if jm.LoadFactor != nil {
		f := p + ".loadFactor"
		raw := strconv.FormatFloat(*jm.LoadFactor, 'f', -1, 64)
		if v, ok := e.loadFactor(f, raw, *jm.LoadFactor); ok {
			me.lf = mgrVal[float64]{true, v, f, raw}
		}
	}
	if jm.LBSet != nil {
		f := p + ".lbSet"
		raw := strconv.Itoa(*jm.LBSet)
		if n, ok := e.intRange(f, raw, *jm.LBSet, 0, 99); ok {
			me.lbset = mgrVal[int]{true, n, f, raw}
		}
	}
	if jm.Route != nil {
		f := p + ".route"
		if v, ok := e.route(f, strings.TrimSpace(*jm.Route)); ok {
			me.route = mgrVal[string]{true, v, f, *jm.Route}
		}
	}
	if jm.Redirect != nil {
		f := p + ".redirect"
		if v, ok := e.route(f, strings.TrimSpace(*jm.Redirect)); ok {
			me.redirect = mgrVal[string]{true, v, f, *jm.Redirect}
		}
	}
	letters := make([]string, 0, len(jm.Flags))
	for l := range jm.Flags {
		letters = append(letters, l)
	}
	sort.Strings(letters)
	for _, l := range letters {
		flag, ok := managerFlag(l)
		if !ok {
			e.bad(p+".flags."+l, strconv.FormatBool(jm.Flags[l]), "unknown status flag (want one of I, N, D, H, R, S, C)")
			continue
		}
		if jm.Flags[l] {
			me.set |= flag
		} else {
			me.clear |= flag
		}
	}
	if hc := jm.HealthCheck; hc != nil {
		if hc.Method != nil {
			f := p + ".healthCheck.method"
			if m, ok := e.hcMethod(f, strings.TrimSpace(*hc.Method)); ok {
				me.hcMethod = mgrVal[healthcheck.Method]{true, m, f, *hc.Method}
			}
		}
		if hc.URI != nil {
			f := p + ".healthCheck.uri"
			if v, ok := e.hcURI(f, strings.TrimSpace(*hc.URI)); ok {
				me.hcURI = mgrVal[string]{true, v, f, *hc.URI}
			}
		}
		if hc.IntervalMs != nil {
			f := p + ".healthCheck.intervalMs"
			raw := strconv.FormatInt(*hc.IntervalMs, 10)
			if d, ok := e.hcInterval(f, raw, *hc.IntervalMs); ok {
				me.hcInterval = mgrVal[time.Duration]{true, d, f, raw}
			}
		}
		if hc.Passes != nil {
			f := p + ".healthCheck.passes"
			raw := strconv.Itoa(*hc.Passes)
			if n, ok := e.intRange(f, raw, *hc.Passes, 1, math.MaxInt32); ok {
				me.hcPasses = mgrVal[int]{true, n, f, raw}
			}
		}
		if hc.Fails != nil {
			f := p + ".healthCheck.fails"
			raw := strconv.Itoa(*hc.Fails)
			if n, ok := e.intRange(f, raw, *hc.Fails, 1, math.MaxInt32); ok {
				me.hcFails = mgrVal[int]{true, n, f, raw}
			}
		}
	}
	return me
}
