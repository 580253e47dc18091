package httpdconf

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/healthcheck"
	apconf "github.com/proxybalancer/balancer/internal/httpdconf"
	"github.com/proxybalancer/balancer/internal/pathmatch"
	"github.com/proxybalancer/balancer/lbmethod"
	"github.com/proxybalancer/balancer/transport"
)

// converter maps a parsed File onto a Config.
type converter struct {
	f    *apconf.File
	opts Options
	c    *Config
	used map[string]bool // balancer names taken (lower-case)
}

func pos(p apconf.Pos) Pos { return Pos{File: p.File, Line: p.Line} }

func (cv *converter) warn(at apconf.Pos, directive, format string, args ...any) {
	cv.c.Warnings = append(cv.c.Warnings, Warning{Pos: pos(at), Directive: directive, Msg: fmt.Sprintf(format, args...)})
}

func errAt(at apconf.Pos, directive, format string, args ...any) *Error {
	return &Error{Pos: pos(at), Directive: directive, Msg: fmt.Sprintf(format, args...)}
}

func convert(f *apconf.File, opts Options, path string) (*Config, error) {
	c := &Config{
		ManagerPaths:    append([]string(nil), f.ManagerPaths...),
		Persist:         f.Persist == apconf.FlagOn,
		StateFile:       opts.StateFile,
		VirtualHostPort: opts.VirtualHostPort,
	}
	if c.Persist && c.StateFile == "" {
		if path == "" {
			return nil, errAt(f.PersistPos, "BalancerPersist", "On needs a state file: set Options.StateFile (a configuration read from a reader has no path to put it next to)")
		}
		c.StateFile = path + ".state.json"
	}
	for _, w := range f.Warnings {
		c.Warnings = append(c.Warnings, Warning{Pos: Pos{w.File, w.Line}, Directive: w.Directive, Msg: w.Msg})
	}
	cv := &converter{f: f, opts: opts, c: c, used: map[string]bool{}}
	for _, b := range f.Balancers {
		cv.used[strings.TrimPrefix(b.Name, "balancer://")] = true
	}
	for _, b := range f.Balancers {
		bc, err := cv.balancer(b)
		if err != nil {
			return nil, err
		}
		c.Balancers = append(c.Balancers, bc)
	}
	cv.globalRouteCookies()
	if err := cv.mounts(); err != nil {
		return nil, err
	}
	for _, v := range f.VirtualHosts {
		vh := VirtualHost{Pos: pos(v.Pos), Addrs: append([]string(nil), v.Addrs...), ServerName: v.ServerName, Aliases: append([]string(nil), v.Aliases...)}
		if vh.ServerName == "" {
			vh.ServerName = f.ServerName
		}
		if v.PreserveHost != apconf.FlagUnset {
			on := v.PreserveHost == apconf.FlagOn
			vh.PreserveHost = &on
		}
		if err := parseVAddrs(&vh); err != nil {
			return nil, errAt(v.Pos, "<VirtualHost>", "%v", err)
		}
		c.VirtualHosts = append(c.VirtualHosts, vh)
	}
	if err := cv.sections(); err != nil {
		return nil, err
	}
	cv.headerEdits()
	c.ManagerHosts = opts.ManagerHosts
	if c.ManagerHosts == nil && len(c.ManagerPaths) > 0 {
		c.ManagerHosts = []string{"localhost", "127.0.0.1", "::1"}
		names := []string{f.ServerName}
		for _, v := range c.VirtualHosts {
			names = append(append(names, v.ServerName), v.Aliases...)
		}
		for _, n := range names {
			// The manager takes names and "*.domain", not other wildcards.
			if n != "" && !strings.ContainsAny(strings.TrimPrefix(n, "*."), "*?[") {
				c.ManagerHosts = append(c.ManagerHosts, n)
			}
		}
	}
	cv.forwarding()
	return c, nil
}

// balancer maps one balancer:// and its members.
func (cv *converter) balancer(b *apconf.Balancer) (BalancerConfig, error) {
	cfg := balancer.Config{
		Name:                 strings.TrimPrefix(b.Name, "balancer://"),
		NoFailover:           b.NoFailover == apconf.FlagOn,
		ScolonPathDelim:      b.ScolonPathDelim == apconf.FlagOn,
		Timeout:              b.Timeout,
		FailOnStatus:         append([]int(nil), b.FailOnStatus...),
		FailOnTimeout:        b.FailOnTimeout == apconf.FlagOn,
		DisableForceRecovery: b.ForceRecovery == apconf.FlagOff,
	}
	bc := BalancerConfig{Pos: pos(b.Pos), Growth: b.Growth, Nonce: b.Nonce, NonceSet: b.NonceSet}
	switch strings.ToLower(b.LBMethod) {
	case "":
	case "heartbeat":
		if cv.opts.Heartbeat == nil {
			return bc, errAt(b.LBMethodPos, "", "%s lbmethod=%s: needs the backends' load reports, which this configuration does not give (HeartbeatListen and HeartbeatStorage are not read): set Options.Heartbeat to a lbmethod.HeartbeatTable fed by lbmethod.ListenHeartbeat, HeartbeatTable.LoadStorageFile or POSTs", b.Name, b.LBMethod)
		}
		cfg.Method = lbmethod.MethodHeartbeat(cv.opts.Heartbeat)
	default:
		m, err := lbmethod.ByName(b.LBMethod)
		if err != nil {
			return bc, &Error{Pos: pos(b.LBMethodPos), Msg: fmt.Sprintf("%s lbmethod=%s: unknown lbmethod", b.Name, b.LBMethod), Err: err}
		}
		cfg.Method = m
	}
	if b.MaxAttemptsSet {
		cfg.MaxAttempts = b.MaxAttempts
		if b.MaxAttempts == 0 {
			cfg.MaxAttempts = -1 // maxattempts=0: no failover
		}
	}
	switch {
	case b.StickyCookie == "" && b.StickyParam == "":
	case b.StickyCookie == b.StickyParam:
		cfg.StickySession = b.StickyCookie
	default:
		cfg.StickySession = b.StickyCookie + "|" + b.StickyParam
	}
	if b.StickySepSet {
		cfg.StickySessionSep = "Off"
		if b.StickySep != 0 {
			cfg.StickySessionSep = string([]byte{b.StickySep})
		}
	}
	if b.RouteRegex != "" {
		if cfg.StickySession == "" {
			return bc, errAt(b.RouteRegexPos, "", "%s routeregex=%s: needs stickysession (the route is read from the session value)", b.Name, b.RouteRegex)
		}
		re, err := regexp.Compile(b.RouteRegex)
		if err != nil || re.NumSubexp() < 1 {
			why := "needs a group for the route"
			if err != nil {
				why = err.Error() + " (Go's regexp has no backreferences or lookaround)"
			}
			return bc, errAt(b.RouteRegexPos, "", "%s routeregex=%s: %s", b.Name, b.RouteRegex, why)
		}
		cfg.RoutePattern = b.RouteRegex
	}
	if b.RouteCookie != nil {
		cfg.RouteCookie = cv.routeCookie(b, cfg)
	}
	for _, m := range b.Members {
		mem, err := cv.member(m, "BalancerMember", false)
		if err != nil {
			return bc, err
		}
		cfg.Members = append(cfg.Members, mem)
		bc.MemberPos = append(bc.MemberPos, pos(m.Pos))
	}
	bc.Config = cfg
	return bc, nil
}

// routeCookie maps the ROUTEID recipe attached to b, warning about what
// the balancer's route cookie cannot reproduce.
func (cv *converter) routeCookie(b *apconf.Balancer, cfg balancer.Config) *balancer.RouteCookie {
	rc := b.RouteCookie
	if cfg.StickySession == "" {
		cv.warn(rc.Pos, "Header", "route cookie %s for %s not honoured: the balancer has no stickysession, so it cannot read the cookie back (and Apache never sets BALANCER_ROUTE_CHANGED)", rc.Name, b.Name)
		return nil
	}
	sep := "."
	if cfg.StickySessionSep == "Off" {
		sep = ""
	} else if cfg.StickySessionSep != "" {
		sep = cfg.StickySessionSep
	}
	if rc.Prefix != sep || rc.Suffix != "" {
		cv.warn(rc.Pos, "Header", "route cookie %s: its value %q + route + %q is sent as written, but with the separator %q the route is not read back from it (nor by Apache)", rc.Name, rc.Prefix, rc.Suffix, sep)
	}
	if !rc.OnlyWhenChanged {
		cv.warn(rc.Pos, "Header", "route cookie %s: sent only when the route changed (as with env=BALANCER_ROUTE_CHANGED); Apache sends this one on every response", rc.Name)
	}
	if rc.Always {
		cv.warn(rc.Pos, "Header", "route cookie %s: \"always\" not honoured: the balancer's own 502 and 503 responses carry no cookie", rc.Name)
	}
	// The cookie is sent as written (Raw); the attributes are also
	// mapped, for programs that read them.
	out := &balancer.RouteCookie{
		Name: rc.Name, Path: rc.Path, Domain: rc.Domain,
		Secure: rc.Secure, HttpOnly: rc.HTTPOnly, SameSite: rc.SameSite,
		Raw: rc.Value,
	}
	if rc.HasMaxAge {
		out.MaxAge = rc.MaxAge
		if rc.MaxAge <= 0 {
			out.MaxAge = -1 // http.Cookie's "Max-Age=0"
		}
	}
	return out
}

// globalRouteCookies warns about route-cookie recipes written outside a
// <Proxy> section: Apache's Header applies to every response whose request
// set BALANCER_ROUTE_CHANGED, so it also sends the cookie for balancers
// whose sticky cookie has another name; here only the balancers that read
// the cookie send it.
func (cv *converter) globalRouteCookies() {
	for i := range cv.f.RouteCookies {
		rc := &cv.f.RouteCookies[i]
		if rc.Balancer != "" || !rc.OnlyWhenChanged {
			continue
		}
		var others []string
		for _, b := range cv.f.Balancers {
			if b.StickyCookie != "" && b.StickyCookie != rc.Name {
				others = append(others, b.Name)
			}
		}
		if len(others) > 0 {
			cv.warn(rc.Pos, "Header", "route cookie %s is sent only by the balancers whose stickysession cookie is %s; Apache also sends it on the scheduled responses of %s (write the Header inside <Proxy> to scope it)", rc.Name, rc.Name, strings.Join(others, ", "))
		}
	}
}

// memberURL maps a member URL's scheme onto http or https. It reports
// whether the member speaks HTTP/2 (h2c://, h2://).
func memberURL(raw string) (u string, h2 bool, ws bool, ok bool) {
	i := strings.Index(raw, "://")
	if i <= 0 {
		return "", false, false, false
	}
	rest := raw[i:]
	switch strings.ToLower(raw[:i]) {
	case "http":
		return "http" + rest, false, false, true
	case "https":
		return "https" + rest, false, false, true
	case "h2c":
		return "http" + rest, true, false, true
	case "h2":
		return "https" + rest, true, false, true
	case "ws":
		return "http" + rest, false, true, true
	case "wss":
		return "https" + rest, false, true, true
	}
	return "", false, false, false
}

// member maps one BalancerMember, or the worker of a ProxyPass when worker
// is true (its URL is then reduced to scheme://host:port by the caller).
func (cv *converter) member(m *apconf.Member, directive string, worker bool) (balancer.Member, error) {
	u, h2, ws, ok := memberURL(m.URL)
	if !ok {
		scheme, _, _ := strings.Cut(m.URL, ":")
		return balancer.Member{}, errAt(m.Pos, directive, "%s: scheme %q is not served (only http, https, h2c, h2, ws and wss)", m.URL, scheme)
	}
	if ws {
		cv.warn(m.Pos, directive, "%s is served as %s: WebSocket upgrades go to any http or https member", m.URL, u)
	}
	mem := balancer.Member{
		URL:      u,
		LBSet:    m.LBSet,
		Route:    m.Route,
		Redirect: m.Redirect,
		Status:   statusString(m.Status),
	}
	if m.LoadFactor != 0 {
		mem.LoadFactor = float64(m.LoadFactor) / 100
	}
	if m.RetrySet {
		mem.Retry = m.Retry
		if m.Retry == 0 {
			mem.Retry = balancer.RetryNow
		}
	}
	conn := transport.Options{
		Timeout:        m.Timeout,
		ConnectTimeout: m.ConnectionTimeout,
		DisableReuse:   m.DisableReuse == apconf.FlagOn,
		KeepAlive:      m.KeepAlive == apconf.FlagOn,
		TTL:            m.TTL,
		Acquire:        m.Acquire,
		Ping:           m.Ping,
		H2C:            h2,
	}
	if conn.Timeout == 0 {
		conn.Timeout = cv.f.ProxyTimeout
	}
	if m.MaxSet {
		conn.Max = m.Max
	}
	if m.SmaxSet {
		conn.SMax = m.Smax
	}
	if conn.Acquire != 0 && conn.Max == 0 {
		cv.warn(m.Pos, directive, "%s acquire=%v has no effect without max= (Apache's max defaults to the threads per child; here there is no cap)", m.URL, conn.Acquire)
	}
	if m.MinSet && m.Min > 0 {
		cv.warn(m.Pos, directive, "%s min=%d ignored: connections are not opened in advance", m.URL, m.Min)
	}
	mem.Connection = conn
	hc := m.HealthCheck
	switch hc.Method {
	case "", apconf.HCNone:
	case apconf.HCCPing:
		cv.warn(m.Pos, directive, "%s hcmethod=CPING (AJP only) not supported: no health checks", m.URL)
	default:
		if worker {
			cv.warn(m.Pos, directive, "%s hcmethod=%s ignored: only balancer members are health-checked, as in Apache", m.URL, hc.Method)
			break
		}
		method, err := healthcheck.ParseMethod(string(hc.Method))
		if err != nil {
			return mem, errAt(m.Pos, directive, "%s hcmethod=%s: %v", m.URL, hc.Method, err)
		}
		chk := healthcheck.Check{
			Method:   method,
			URI:      hc.URI,
			Interval: hc.Interval,
			Passes:   hc.Passes,
			Fails:    hc.Fails,
			Timeout:  conn.Timeout,
		}
		if hc.Expr != "" {
			e := cv.f.HCExpr(hc.Expr)
			if e == nil || e.Expr == nil {
				return mem, errAt(m.Pos, directive, "%s hcexpr=%s: no such ProxyHCExpr", m.URL, hc.Expr)
			}
			chk.Expect = expect(e.Expr)
		}
		mem.HealthCheck = chk
	}
	return mem, nil
}

// expect wraps a ProxyHCExpr as a health-check predicate.
func expect(e *apconf.Expr) func(*healthcheck.Response) bool {
	return func(r *healthcheck.Response) bool { return e.Eval(r.StatusCode, r.Header, r.Body) }
}

// allStatus has every flag bit of Apache's table set.
const allStatus = balancer.Status(0x0FFF)

// statusString returns the status= value(s) as one value the balancer
// reads: the value as written when it means the same, else the flags
// cleared ("-...") and set ("+...").
func statusString(s apconf.Status) string {
	if s.Set == 0 && s.Clear == 0 {
		return ""
	}
	if s.Raw != "" {
		lo, err1 := balancer.ParseStatus(s.Raw, 0)
		hi, err2 := balancer.ParseStatus(s.Raw, allStatus)
		if err1 == nil && err2 == nil && lo == balancer.Status(s.Set) && hi == allStatus&^balancer.Status(s.Clear) {
			return s.Raw
		}
	}
	var b strings.Builder
	if s.Clear != 0 {
		b.WriteString("-" + s.Clear.String())
	}
	if s.Set != 0 {
		b.WriteString("+" + s.Set.String())
	}
	return b.String()
}

// mounts maps the ProxyPass, ProxyPassReverse and cookie rules.
func (cv *converter) mounts() error {
	f := cv.f
	// Apache checks the mappings of <Location> sections first.
	var src []apconf.Mount
	for _, inLoc := range []bool{true, false} {
		for _, m := range f.ProxyPass {
			if m.InLocation == inLoc {
				src = append(src, m)
			}
		}
	}
	// Cookie rules apply to the responses of their server: a virtual
	// host's mounts take the main server's rules, then its own.
	domains := map[int][]balancer.CookieRewrite{}
	paths := map[int][]balancer.CookieRewrite{}
	for _, r := range f.ReverseCookieDomain {
		if rw, ok := cv.cookieRule(r, "ProxyPassReverseCookieDomain"); ok {
			domains[r.VHost] = append(domains[r.VHost], rw)
		}
	}
	for _, r := range f.ReverseCookiePath {
		if rw, ok := cv.cookieRule(r, "ProxyPassReverseCookiePath"); ok {
			paths[r.VHost] = append(paths[r.VHost], rw)
		}
	}
	workers := map[*apconf.Member]string{}
	for _, m := range src {
		mt := Mount{Pos: pos(m.Pos), Path: m.Path, VHost: m.VHost, InLocation: m.InLocation}
		if m.Regex != "" {
			re, err := regexp.Compile(m.Regex)
			if err != nil {
				return errAt(m.Pos, "ProxyPassMatch", "%s: %v (Go's regexp has no backreferences or lookaround)", m.Regex, err)
			}
			mt.Regex, mt.re = m.Regex, re
			if strings.ContainsAny(m.Target, "?#") {
				return errAt(m.Pos, "ProxyPassMatch", "%s: a target with a query or fragment is not supported", m.Target)
			}
		}
		var kw []string
		for _, k := range []struct {
			on   bool
			name string
		}{{m.NoCanon, "nocanon"}, {m.NoQuery, "noquery"}, {m.Interpolate, "interpolate"}} {
			if k.on {
				kw = append(kw, k.name)
			}
		}
		if m.Mapping != "" {
			kw = append(kw, "mapping="+m.Mapping)
		}
		if len(kw) > 0 && !m.Exclude {
			cv.warn(m.Pos, "ProxyPass", "%s: %s not supported; ignored", m.Path, strings.Join(kw, ", "))
		}
		switch {
		case m.Exclude:
		case m.Balancer != "":
			mt.Balancer = strings.TrimPrefix(m.Balancer, "balancer://")
			mt.BalancerPath = m.BalancerPath
			if strings.ContainsAny(mt.Balancer, "$&\\") {
				return errAt(m.Pos, "ProxyPassMatch", "%s: substitutions in the balancer name are not supported", m.Target)
			}
		case m.Worker != nil:
			name, ok := workers[m.Worker]
			if !ok {
				var err error
				if name, err = cv.worker(m.Worker); err != nil {
					return err
				}
				workers[m.Worker] = name
			}
			u, err := url.Parse(m.Target)
			if err == nil && strings.ContainsAny(u.Host, "$&\\") {
				return errAt(m.Pos, "ProxyPassMatch", "%s: substitutions in the host are not supported", m.Target)
			}
			if err != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
				return errAt(m.Pos, "ProxyPass", "%s: a target with a query or fragment is not supported", m.Target)
			}
			mt.Balancer, mt.BalancerPath = name, u.Path
		default:
			return errAt(m.Pos, "ProxyPass", "%s: target %q not understood", m.Path, m.Target)
		}
		if mt.Balancer != "" {
			mt.CookieDomains = append([]balancer.CookieRewrite(nil), domains[0]...)
			mt.CookiePaths = append([]balancer.CookieRewrite(nil), paths[0]...)
			if m.VHost != 0 {
				mt.CookieDomains = append(mt.CookieDomains, domains[m.VHost]...)
				mt.CookiePaths = append(mt.CookiePaths, paths[m.VHost]...)
			}
		}
		cv.c.Mounts = append(cv.c.Mounts, mt)
	}
	for _, r := range f.Reverse {
		hit := false
		for i, m := range src {
			if m.Exclude || m.Path != r.Path || m.Regex != "" || m.VHost != r.VHost {
				continue
			}
			if r.Balancer != "" && m.Balancer == r.Balancer && m.BalancerPath == r.BalancerPath ||
				r.Balancer == "" && m.Worker != nil && sameURL(m.Target, r.URL) {
				cv.c.Mounts[i].Reverse = true
				hit = true
			}
		}
		if r.Interpolate {
			cv.warn(r.Pos, "ProxyPassReverse", "%s %s: interpolate not supported; ignored", r.Path, r.URL)
		}
		switch {
		case hit:
		case r.Balancer == "" && !strings.HasPrefix(r.URL, "/") && !r.Interpolate:
			// A URL rule of its own: every proxied response of its
			// server has its URL headers rewritten by it.
			cv.c.Reverse = append(cv.c.Reverse, ReverseRule{Pos: pos(r.Pos), Path: r.Path, URL: r.URL, VHost: r.VHost})
		default:
			cv.warn(r.Pos, "ProxyPassReverse", "%s %s not applied: supported with the path and target of a ProxyPass, or with an absolute URL", r.Path, r.URL)
		}
	}
	for _, p := range cv.c.ManagerPaths {
		for _, m := range cv.c.Mounts {
			if pathmatch.Alias(p, m.Path) < 0 {
				continue
			}
			if m.Balancer != "" {
				cv.c.Warnings = append(cv.c.Warnings, Warning{Pos: m.Pos, Directive: "ProxyPass",
					Msg: fmt.Sprintf("%s is proxied, so the balancer-manager at %s is not reachable (as in Apache; add \"ProxyPass %s !\" before it)", m.Path, p, p)})
			}
			break
		}
	}
	return nil
}

// cookieRule maps one ProxyPassReverseCookieDomain or ...Path rule.
func (cv *converter) cookieRule(r apconf.CookieMap, directive string) (balancer.CookieRewrite, bool) {
	if r.VirtualHost != "" {
		cv.warn(r.Pos, directive, "rule of <VirtualHost %s> applies to every host: virtual hosts are flattened", r.VirtualHost)
	}
	if r.Interpolate {
		cv.warn(r.Pos, directive, "interpolate not supported; ignored")
	}
	if r.Internal == "" {
		cv.warn(r.Pos, directive, "an empty internal value matches nothing here; rule skipped")
		return balancer.CookieRewrite{}, false
	}
	return balancer.CookieRewrite{From: r.Internal, To: r.Public}, true
}

// worker makes the one-member balancer of a ProxyPass worker and returns
// its name.
func (cv *converter) worker(w *apconf.Member) (string, error) {
	u, err := url.Parse(w.Name)
	if err != nil || u.Host == "" {
		return "", errAt(w.Pos, "ProxyPass", "%s: not an absolute URL", w.URL)
	}
	name := strings.ToLower(u.Host)
	for i := 2; cv.used[name]; i++ {
		name = strings.ToLower(u.Host) + "~" + strconv.Itoa(i)
	}
	cv.used[name] = true
	// The worker's normalised name: scheme and host lower-cased, default
	// port dropped.
	norm := *w
	norm.URL = w.Name
	mem, err := cv.member(&norm, "ProxyPass", true)
	if err != nil {
		return "", err
	}
	// The member is the target's scheme://host:port; each ProxyPass puts
	// its own target path in BalancerPath.
	i := strings.Index(mem.URL, "://")
	authority := mem.URL[i+3:]
	if j := strings.IndexAny(authority, "/?#"); j >= 0 {
		authority = authority[:j]
	}
	mem.URL = mem.URL[:i+3] + authority
	cv.c.Workers = append(cv.c.Workers, BalancerConfig{
		Pos:       pos(w.Pos),
		Config:    balancer.Config{Name: name, Members: []balancer.Member{mem}},
		MemberPos: []Pos{pos(w.Pos)},
	})
	return name, nil
}

// sameURL compares two URLs as Apache compares worker names: scheme and
// host case-insensitively with the default port dropped, the rest exactly.
func sameURL(a, b string) bool {
	na, ok1 := normURL(a)
	nb, ok2 := normURL(b)
	return ok1 && ok2 && na == nb
}

func normURL(s string) (string, bool) {
	i := strings.Index(s, "://")
	if i <= 0 {
		return "", false
	}
	scheme := strings.ToLower(s[:i])
	rest := s[i+3:]
	j := strings.IndexAny(rest, "/?#")
	if j < 0 {
		j = len(rest)
	}
	host, tail := strings.ToLower(rest[:j]), rest[j:]
	for _, d := range [][2]string{{"http", ":80"}, {"ws", ":80"}, {"h2c", ":80"}, {"https", ":443"}, {"wss", ":443"}, {"h2", ":443"}} {
		if scheme == d[0] {
			host = strings.TrimSuffix(host, d[1])
		}
	}
	return scheme + "://" + host + tail, true
}
