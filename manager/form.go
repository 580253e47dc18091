package manager

import (
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/healthcheck"
)

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
