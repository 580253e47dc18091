package httpdconf

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limits of Apache's fixed-size shared-memory fields (string length must be
// below the size).
const (
	maxRouteLen   = 64 // route, redirect, hcuri, hcexpr, stickysession
	maxNonceLen   = 37 // nonce: 36 characters
	maxLBNameLen  = 16 // lbmethod: 15 characters
	maxExprName   = 16 // ProxyHCExpr name: 15 characters
	minHCInterval = 100 * time.Millisecond
)

// apacheLBMethods are the lbmethod providers Apache ships.
var apacheLBMethods = map[string]bool{"byrequests": true, "bytraffic": true, "bybusyness": true, "heartbeat": true}

// paramResult is what applying one parameter produced: an error message
// (configuration error) or a warning message (accepted, noted).
type paramResult struct {
	err  string
	warn string
}

func perr(format string, args ...any) paramResult {
	return paramResult{err: fmt.Sprintf(format, args...)}
}

// timeoutParam reads a duration parameter as Apache's
// ap_timeout_parameter_parse does (defUnit when the value has none) and
// checks it is at least min; the two messages are Apache's for a value it
// cannot read and one that is too small.
func timeoutParam(val, defUnit string, min time.Duration, badFormat, tooSmall string) (time.Duration, paramResult) {
	d, ok := parseTimeout(val, defUnit)
	if !ok {
		return 0, perr("%s", badFormat)
	}
	if d < min {
		return 0, perr("%s", tooSmall)
	}
	return d, paramResult{}
}

func pwarn(format string, args ...any) paramResult {
	return paramResult{warn: fmt.Sprintf(format, args...)}
}

// onOff reads an On/Off value (case-insensitive).
func onOff(v string) (Flag, bool) {
	switch {
	case strings.EqualFold(v, "on"):
		return FlagOn, true
	case strings.EqualFold(v, "off"):
		return FlagOff, true
	}
	return FlagUnset, false
}

// atoiNote warns when atoi did not read the whole value.
func atoiNote(key, val string, n int, exact bool, unit string) paramResult {
	if exact {
		return paramResult{}
	}
	return pwarn("%s=%s read as %d%s (Apache reads this parameter with atoi)", key, val, n, unit)
}

// setWorkerParam applies one member (worker) parameter as Apache's
// set_worker_param and mod_proxy_hcheck's set_worker_hc_param do. Keys are
// case-insensitive.
func (p *parser) setWorkerParam(m *Member, key, val string) paramResult {
	k := strings.ToLower(key)
	switch k {
	case "loadfactor":
		f, exact := atof(val)
		v := f * 100
		if !(v >= 100 && v < 10001) {
			return perr("LoadFactor must be a number between 1..100")
		}
		m.LoadFactor = int(v)
		if !exact || float64(m.LoadFactor) != v {
			return pwarn("loadfactor=%s read as %d.%02d (Apache multiplies by 100 and truncates)", val, m.LoadFactor/100, m.LoadFactor%100)
		}
	case "route":
		if len(val) >= maxRouteLen {
			return perr("Route length must be < %d characters", maxRouteLen)
		}
		m.Route = val
	case "redirect":
		if len(val) >= maxRouteLen {
			return perr("Redirect length must be < %d characters", maxRouteLen)
		}
		m.Redirect = val
	case "retry":
		n, exact := atoi(val)
		if n < 0 {
			return perr("Retry must be a positive value")
		}
		m.Retry, m.RetrySet = time.Duration(n)*time.Second, true
		return atoiNote(key, val, n, exact, " s")
	case "timeout":
		n, exact := atoi(val)
		if n < 1 {
			return perr("Timeout must be at least one second")
		}
		m.Timeout = time.Duration(n) * time.Second
		return atoiNote(key, val, n, exact, " s")
	case "ttl":
		n, exact := atoi(val)
		if n < 1 {
			return perr("TTL must be at least one second")
		}
		m.TTL = time.Duration(n) * time.Second
		return atoiNote(key, val, n, exact, " s")
	case "min", "max", "smax":
		n, exact := atoi(val)
		if n < 0 {
			return perr("%s must be a positive number", map[string]string{"min": "Min", "max": "Max", "smax": "Smax"}[k])
		}
		switch k {
		case "min":
			m.Min, m.MinSet = n, true
		case "max":
			m.Max, m.MaxSet = n, true
		default:
			m.Smax, m.SmaxSet = n, true
		}
		return atoiNote(key, val, n, exact, "")
	case "acquire":
		d, bad := timeoutParam(val, "ms", time.Millisecond, "Acquire timeout has wrong format", "Acquire must be at least one millisecond")
		if bad.err != "" {
			return bad
		}
		m.Acquire = d
	case "connectiontimeout":
		d, bad := timeoutParam(val, "s", time.Millisecond, "Connectiontimeout has wrong format", "Connectiontimeout must be at least one millisecond")
		if bad.err != "" {
			return bad
		}
		m.ConnectionTimeout = d
	case "ping":
		d, bad := timeoutParam(val, "s", time.Millisecond, "Ping/Pong timeout has wrong format", "Ping/Pong timeout must be at least one millisecond")
		if bad.err != "" {
			return bad
		}
		m.Ping = d
	case "disablereuse", "enablereuse", "keepalive":
		f, ok := onOff(val)
		if !ok {
			return perr("%s must be On|Off", map[string]string{"disablereuse": "DisableReuse", "enablereuse": "EnableReuse", "keepalive": "KeepAlive"}[k])
		}
		switch k {
		case "disablereuse":
			m.DisableReuse = f
		case "enablereuse":
			if f == FlagOn {
				m.DisableReuse = FlagOff
			} else {
				m.DisableReuse = FlagOn
			}
		default:
			m.KeepAlive = f
		}
	case "lbset":
		n, exact := atoi(val)
		if n < 0 || n > 99 {
			return perr("lbset must be between 0 and 99")
		}
		m.LBSet = n
		return atoiNote(key, val, n, exact, "")
	case "status":
		set, clr, ok := parseStatus(val, m.Status.Set, m.Status.Clear)
		if !ok {
			return perr("Unknown status parameter option")
		}
		m.Status = Status{Raw: val, Set: set, Clear: clr}
	case "iobuffersize", "receivebuffersize":
		n, _ := atoi(val)
		if n < 512 && n != 0 {
			name := map[string]string{"iobuffersize": "IOBufferSize", "receivebuffersize": "ReceiveBufferSize"}[k]
			return perr("%s must be >= 512 bytes, or 0 for system default.", name)
		}
		return p.ignoreParam(m, key, val)
	case "flushpackets":
		if !strings.EqualFold(val, "on") && !strings.EqualFold(val, "off") && !strings.EqualFold(val, "auto") {
			return perr("flushpackets must be on|off|auto")
		}
		return p.ignoreParam(m, key, val)
	case "flushwait":
		n, _ := atoi(val)
		if n < 0 || n > 1000 {
			return perr("flushwait must be <= 1000, or 0 for system default of 10 millseconds.")
		}
		return p.ignoreParam(m, key, val)
	case "responsefieldsize":
		n, _ := atoi(val)
		if n < 0 {
			return perr("ResponseFieldSize must be greater than 0 bytes, or 0 for system default.")
		}
		return p.ignoreParam(m, key, val)
	case "upgrade", "secret", "flusher", "addressttl":
		return p.ignoreParam(m, key, val)
	case "hctemplate", "hcmethod", "hcinterval", "hcpasses", "hcfails", "hcuri", "hcexpr":
		return p.setHCParam(&m.HealthCheck, key, val)
	default:
		return perr("unknown Worker parameter")
	}
	return paramResult{}
}

func (p *parser) ignoreParam(m *Member, key, val string) paramResult {
	m.Ignored = append(m.Ignored, Param{Key: key, Value: val})
	return pwarn("parameter %s=%s accepted but ignored", key, val)
}

// parseStatus applies a status= value to the running set/clear masks.
// Apache reads the value left to right: '+' or '-' selects the mode for the
// next character, which must be one of the flag letters (case-insensitive);
// a trailing '+'/'-', a doubled sign or an unknown letter is an error.
func parseStatus(val string, set, clr StatusFlags) (StatusFlags, StatusFlags, bool) {
	on := true
	for i := 0; i < len(val); i++ {
		c := val[i]
		if c == '+' || c == '-' {
			on = c == '+'
			i++
			if i == len(val) {
				return 0, 0, false
			}
			c = val[i]
		}
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		var f StatusFlags
		for _, l := range statusLetters {
			if l.letter == c {
				f = l.flag
			}
		}
		if f == 0 {
			return 0, 0, false
		}
		if on {
			set, clr = set|f, clr&^f
		} else {
			set, clr = set&^f, clr|f
		}
	}
	return set, clr, true
}

// setHCParam applies a health-check parameter to a member's or template's
// settings (mod_proxy_hcheck's set_worker_hc_param).
func (p *parser) setHCParam(hc *HealthCheck, key, val string) paramResult {
	switch strings.ToLower(key) {
	case "hctemplate":
		if t := p.templates[strings.ToLower(val)]; t != nil {
			*hc = t.HealthCheck
			hc.Template = t.Name
			return paramResult{}
		}
		return perr("Unknown ProxyHCTemplate name: %s", val)
	case "hcmethod":
		for _, m := range hcMethods {
			if strings.EqualFold(val, string(m)) {
				hc.Method = m
				return paramResult{}
			}
		}
		return perr("Unknown method")
	case "hcinterval":
		d, bad := timeoutParam(val, "s", minHCInterval, "Unparse-able hcinterval setting", "Interval must be a positive value greater than 100ms")
		if bad.err != "" {
			return bad
		}
		hc.Interval = d
	case "hcpasses", "hcfails":
		n, exact := atoi(val)
		if n < 0 {
			if strings.EqualFold(key, "hcpasses") {
				return perr("Passes must be a positive value")
			}
			return perr("Fails must be a positive value")
		}
		if strings.EqualFold(key, "hcpasses") {
			hc.Passes, hc.PassesSet = n, true
		} else {
			hc.Fails, hc.FailsSet = n, true
		}
		return atoiNote(key, val, n, exact, "")
	case "hcuri":
		if len(val) >= maxRouteLen {
			return perr("Health check uri length must be < %d characters", maxRouteLen)
		}
		hc.URI = val
	case "hcexpr":
		if _, ok := p.exprs[strings.ToLower(val)]; !ok {
			return perr("Unknown health check condition expr: %s", val)
		}
		if len(val) >= maxRouteLen {
			return perr("Health check expr name length must be < %d characters", maxRouteLen)
		}
		hc.Expr = val
	default:
		return perr("unknown Worker hcheck parameter")
	}
	return paramResult{}
}

// setBalancerParam applies one balancer parameter as Apache's
// set_balancer_param does.
func (p *parser) setBalancerParam(b *Balancer, key, val string, pos Pos) paramResult {
	switch strings.ToLower(key) {
	case "stickysession":
		v := val
		var w paramResult
		if len(v) >= maxRouteLen {
			// Apache builds a length error but never returns it, and
			// stores the value truncated.
			v = v[:maxRouteLen-1]
			w = pwarn("stickysession=%s truncated to %q (Apache stores at most %d characters)", val, v, maxRouteLen-1)
		}
		cookie, param := v, v
		if i := strings.IndexByte(v, '|'); i >= 0 {
			cookie, param = v[:i], v[i+1:]
			if param == "" {
				return perr("stickysession %q has an empty URL parameter name after '|'", val)
			}
		}
		b.StickySession, b.StickyCookie, b.StickyParam = v, cookie, param
		return w
	case "stickysessionsep":
		switch {
		case len(val) == 1:
			b.StickySep = val[0]
		case strings.EqualFold(val, "off"):
			b.StickySep = 0
		default:
			return perr("stickysessionsep must be a single character or Off")
		}
		b.StickySepSet = true
	case "nofailover":
		f, ok := onOff(val)
		if !ok {
			return perr("failover must be On|Off")
		}
		b.NoFailover = f
	case "timeout":
		n, exact := atoi(val)
		if n < 1 {
			return perr("timeout must be at least one second")
		}
		b.Timeout = time.Duration(n) * time.Second
		return atoiNote(key, val, n, exact, " s")
	case "maxattempts":
		n, exact := atoi(val)
		if n < 0 {
			return perr("maximum number of attempts must be a positive number")
		}
		b.MaxAttempts, b.MaxAttemptsSet = n, true
		return atoiNote(key, val, n, exact, "")
	case "lbmethod":
		if len(val) >= maxLBNameLen || val == "" {
			return perr("unknown lbmethod")
		}
		b.LBMethod, b.LBMethodPos = val, pos
		if !apacheLBMethods[val] {
			return pwarn("lbmethod=%s is not one of Apache's (byrequests, bytraffic, bybusyness, heartbeat)", val)
		}
	case "scolonpathdelim":
		f, ok := onOff(val)
		if !ok {
			return perr("scolonpathdelim must be On|Off")
		}
		b.ScolonPathDelim = f
	case "failonstatus":
		codes := []int{}
		for _, tok := range strings.FieldsFunc(val, func(r rune) bool { return r == ',' || r == ' ' }) {
			n, _ := atoi(tok)
			if n < 100 || n > 599 {
				return perr("failonstatus must be one or more HTTP response codes")
			}
			codes = append(codes, n)
		}
		b.FailOnStatus = codes
	case "failontimeout":
		f, ok := onOff(val)
		if !ok {
			return perr("failontimeout must be On|Off")
		}
		b.FailOnTimeout = f
	case "nonce":
		if strings.EqualFold(val, "None") {
			b.Nonce = ""
		} else {
			if len(val) >= maxNonceLen {
				return perr("Provided nonce is too large")
			}
			b.Nonce = val
		}
		b.NonceSet = true
	case "growth":
		n, exact := atoi(val)
		if n < 1 || n > 100 {
			return perr("growth must be between 1 and 100")
		}
		b.Growth = n
		return atoiNote(key, val, n, exact, "")
	case "routeregex":
		// Helicon Ape's extension; httpd 2.4.71 refuses the parameter.
		if val == "" {
			return perr("routeregex needs a regular expression with a group for the route")
		}
		b.RouteRegex, b.RouteRegexPos = val, pos
		return pwarn("routeregex=%s is Helicon Ape's extension (httpd refuses it as an unknown Balancer parameter): the route is the first group of its match in the session value, no match meaning no route", val)
	case "forcerecovery":
		f, ok := onOff(val)
		if !ok {
			return perr("forcerecovery must be On|Off")
		}
		b.ForceRecovery = f
	default:
		return perr("unknown Balancer parameter")
	}
	return paramResult{}
}

// splitParam splits "key=value" at the first '='.
func splitParam(w string) (key, val string, ok bool) {
	i := strings.IndexByte(w, '=')
	if i < 0 {
		return "", "", false
	}
	return w[:i], w[i+1:], true
}

// paramTable collects key=value parameters with apr_table_setn semantics:
// a key already present (case-insensitive) keeps its position and takes the
// new value.
type paramTable struct {
	list []Param
	idx  map[string]int
}

func (t *paramTable) set(key, val string) {
	lk := strings.ToLower(key)
	if i, ok := t.idx[lk]; ok {
		t.list[i].Value = val
		return
	}
	if t.idx == nil {
		t.idx = map[string]int{}
	}
	t.idx[lk] = len(t.list)
	t.list = append(t.list, Param{Key: key, Value: val})
}

// quoteParam formats key=value for messages.
func quoteParam(key, val string) string {
	kv := key + "=" + val
	if strings.ContainsAny(kv, " \t\"") || kv == "" {
		return strconv.Quote(kv)
	}
	return kv
}
