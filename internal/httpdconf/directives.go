package httpdconf

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// directiveFunc handles one directive; args is the raw argument text.
type directiveFunc func(p *parser, d *dctx) error

// dctx is one directive occurrence.
type dctx struct {
	sc       scope
	pos      Pos
	name     string // canonical name
	args     string
	incDepth int
}

func (d *dctx) errorf(format string, args ...any) error { return d.pos.Errorf(d.name, format, args...) }

// directiveTable lists the directives of the balancing subset. It is a
// function, not a package variable, because the handlers reach back into
// the parser (Include), which a variable's initialiser may not.
func directiveTable() []struct {
	name string
	fn   directiveFunc
} {
	return []struct {
		name string
		fn   directiveFunc
	}{
		{"BalancerMember", (*parser).balancerMember},
		{"ProxySet", (*parser).proxySet},
		{"ProxyPass", (*parser).proxyPass},
		{"ProxyPassMatch", (*parser).proxyPass},
		{"ServerName", (*parser).serverName},
		{"ServerAlias", (*parser).serverAlias},
		{"ProxyPassReverse", (*parser).proxyPassReverse},
		{"ProxyPassReverseCookieDomain", (*parser).cookieMap},
		{"ProxyPassReverseCookiePath", (*parser).cookieMap},
		{"ProxyHCExpr", (*parser).proxyHCExpr},
		{"ProxyHCTemplate", (*parser).proxyHCTemplate},
		{"BalancerPersist", (*parser).flagDirective},
		{"BalancerInherit", (*parser).flagDirective},
		{"ProxyPassInherit", (*parser).flagDirective},
		{"BalancerGrowth", (*parser).balancerGrowth},
		{"ProxyTimeout", (*parser).proxyTimeout},
		{"ProxyPreserveHost", (*parser).proxyPreserveHost},
		{"LimitRequestLine", (*parser).limitRequest},
		{"LimitRequestFieldSize", (*parser).limitRequest},
		{"LimitRequestFields", (*parser).limitRequest},
		{"Header", (*parser).header},
		{"RequestHeader", (*parser).requestHeader},
		{"SetHandler", (*parser).setHandler},
		{"Include", (*parser).includeDirective},
		{"IncludeOptional", (*parser).includeDirective},
		{"ServerRoot", (*parser).serverRoot},
		{"Define", (*parser).define},
		{"UnDefine", (*parser).undefine},
		{"Require", (*parser).require},
		{"Order", (*parser).order},
		{"Allow", (*parser).allowDeny},
		{"Deny", (*parser).allowDeny},
		{"Satisfy", (*parser).satisfy},
		{"RemoteIPHeader", (*parser).refuseAccess},
		{"RemoteIPProxyProtocol", (*parser).refuseAccess},
		{"AuthType", (*parser).refuseAccess},
		{"AuthMerging", (*parser).authMerging},
	}
}

func (p *parser) directive(sc scope, pos Pos, word, rest string, incDepth int) error {
	if sc.urlProxy && !accessDirectives[strings.ToLower(word)] && !strings.EqualFold(word, "Include") && !strings.EqualFold(word, "IncludeOptional") {
		p.warn(pos, word, "skipped: only access rules are read in <Proxy> sections of URLs that are not balancers")
		return nil
	}
	for _, d := range directiveTable() {
		if strings.EqualFold(d.name, word) {
			return d.fn(p, &dctx{sc: sc, pos: pos, name: d.name, args: rest, incDepth: incDepth})
		}
	}
	p.warn(pos, word, "directive skipped: outside the balancing subset")
	return nil
}

// oneArg returns the single argument of a TAKE1-style directive.
func oneArg(d *dctx) (string, error) {
	ws := words(d.args)
	if len(ws) != 1 {
		return "", d.errorf("takes one argument")
	}
	return ws[0], nil
}

func (p *parser) balancerMember(d *dctx) error {
	if d.sc.inLocation && d.sc.balancer == nil {
		return d.errorf("not allowed inside <Location>")
	}
	var bname, url string
	var ps paramTable
	for _, w := range words(d.args) {
		if k, v, ok := splitParam(w); ok {
			ps.set(k, v)
			continue
		}
		switch {
		case d.sc.balancer == nil && bname == "":
			bname = w
		case url == "":
			url = w
		case d.sc.balancer != nil:
			return d.errorf("%q: BalancerMember can not have a balancer name when defined in a <Proxy> section", w)
		default:
			return d.errorf("invalid parameter %q: parameters must be in the form key=value", w)
		}
	}
	b := d.sc.balancer
	if b == nil {
		if bname == "" {
			return d.errorf("BalancerMember must define balancer name when outside <Proxy > section")
		}
		bn, ok := balancerName(bname)
		if !ok {
			return d.errorf("bad syntax for a balancer name: %q", bname)
		}
		b = p.balancer(bn, d.pos)
	}
	if url == "" {
		return d.errorf("BalancerMember must define remote proxy server")
	}
	if isBalancerURL(url) {
		return d.errorf("%q: a member can not be a balancer", url)
	}
	name, msg := workerName(url)
	if msg != "" {
		return d.errorf("%q: %s", url, msg)
	}
	key := authorityKey(name)
	if m := p.members[b][key]; m != nil {
		p.warn(d.pos, d.name, "%s shares the worker %s of line %d (same scheme, host and port); its parameters are ignored, as in Apache", url, m.URL, m.Pos.Line)
		return nil
	}
	m := &Member{Pos: d.pos, URL: url, Name: name}
	for _, kv := range ps.list {
		if err := p.applyWorker(m, kv, d.pos, d.name); err != nil {
			return err
		}
	}
	if p.members[b] == nil {
		p.members[b] = map[string]*Member{}
	}
	p.members[b][key] = m
	b.Members = append(b.Members, m)
	return nil
}

func (p *parser) proxySet(d *dctx) error {
	ws := words(d.args)
	b := d.sc.balancer
	var w *Member
	if b == nil {
		if len(ws) == 0 {
			return d.errorf("needs a balancer or worker URL")
		}
		target := ws[0]
		ws = ws[1:]
		if isBalancerURL(target) {
			bn, ok := balancerName(target)
			if !ok {
				return d.errorf("bad syntax for a balancer name: %q", target)
			}
			b = p.balancers[bn]
		} else if name, msg := workerName(target); msg == "" {
			w = p.workers[authorityKey(name)]
		}
		if b == nil && w == nil {
			return d.errorf("can not find '%s' Worker/Balancer", target)
		}
	}
	for _, word := range ws {
		k, v, ok := splitParam(word)
		if !ok {
			return d.errorf("invalid parameter %q: parameters must be in the form key=value", word)
		}
		var err error
		if b != nil {
			err = p.applyBalancer(b, Param{k, v}, d.pos, d.name)
		} else {
			err = p.applyWorker(w, Param{k, v}, d.pos, d.name)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) proxyPass(d *dctx) error {
	if d.sc.balancer != nil {
		return d.errorf("not allowed inside <Proxy>")
	}
	m := Mount{Pos: d.pos, InLocation: d.sc.inLocation, VirtualHost: d.sc.vhost, VHost: d.sc.vhostIdx}
	var ps paramTable
	haveF, haveR := d.sc.inLocation, false
	if haveF {
		if d.name == "ProxyPassMatch" {
			return d.errorf("in <Location %s>: use <LocationMatch> (not supported) or write ProxyPassMatch outside <Location>", d.sc.location)
		}
		m.Path = d.sc.location
	}
	for _, w := range words(d.args) {
		if !haveF {
			if w == "~" && m.Regex == "" && d.name == "ProxyPass" {
				m.Regex = "~"
				continue
			}
			if m.Regex == "~" || d.name == "ProxyPassMatch" {
				m.Regex, haveF = w, true
				continue
			}
			m.Path, haveF = w, true
			continue
		}
		if !haveR {
			m.Target, haveR = w, true
			continue
		}
		switch strings.ToLower(w) {
		case "nocanon":
			m.NoCanon = true
			continue
		case "interpolate":
			m.Interpolate = true
			continue
		case "noquery":
			m.NoQuery = true
			continue
		}
		k, v, ok := splitParam(w)
		if !ok {
			if d.sc.inLocation {
				return d.errorf("%q: ProxyPass can not have a path when defined in a location", w)
			}
			return d.errorf("invalid parameter %q: parameters must be in the form key=value", w)
		}
		if strings.EqualFold(k, "mapping") {
			lv := strings.ToLower(v)
			if lv != "encoded" && lv != "servlet" {
				return d.errorf("%s: unknown mapping", quoteParam(k, v))
			}
			m.Mapping = lv
			continue
		}
		ps.set(k, v)
	}
	m.Params = ps.list
	if !haveR {
		if d.sc.inLocation {
			return d.errorf("needs a URL")
		}
		return d.errorf("ProxyPass needs a path when not defined in a location")
	}
	switch {
	case m.Target == "!":
		m.Exclude = true
		if len(m.Params) > 0 {
			p.warn(d.pos, d.name, "parameters of an exclusion are ignored")
		}
	case isBalancerURL(m.Target):
		bn, rest, ok := balancerNameAndPath(m.Target)
		if !ok {
			return d.errorf("bad syntax for a balancer name: %q", m.Target)
		}
		m.Balancer, m.BalancerPath = bn, rest
		b := p.balancer(bn, d.pos)
		for _, kv := range m.Params {
			if err := p.applyBalancer(b, kv, d.pos, d.name); err != nil {
				return err
			}
		}
	default:
		name, msg := workerName(m.Target)
		if msg != "" {
			return d.errorf("%q: %s", m.Target, msg)
		}
		key := authorityKey(name)
		if w := p.workers[key]; w != nil {
			// Apache shares the worker (AH01145) and ignores the
			// parameters (AH01146).
			m.Worker = w
			if len(m.Params) > 0 {
				p.warn(d.pos, d.name, "%s shares the worker %s of line %d (same scheme, host and port); its parameters are ignored, as in Apache", m.Target, w.URL, w.Pos.Line)
			}
			break
		}
		w := &Member{Pos: d.pos, URL: m.Target, Name: name}
		for _, kv := range m.Params {
			if err := p.applyWorker(w, kv, d.pos, d.name); err != nil {
				return err
			}
		}
		p.workers[key] = w
		m.Worker = w
	}
	p.file.ProxyPass = append(p.file.ProxyPass, m)
	return nil
}

// serverName records ServerName [scheme://]name[:port].
func (p *parser) serverName(d *dctx) error {
	a, err := oneArg(d)
	if err != nil {
		return err
	}
	if i := strings.Index(a, "://"); i >= 0 {
		a = a[i+3:]
	}
	if strings.HasPrefix(a, "[") {
		if i := strings.IndexByte(a, ']'); i > 0 {
			a = a[:i+1]
		}
	} else if i := strings.LastIndexByte(a, ':'); i >= 0 {
		a = a[:i]
	}
	if d.sc.inVhost {
		p.file.VirtualHosts[d.sc.vhostIdx-1].ServerName = a
	} else {
		p.file.ServerName = a
	}
	return nil
}

// serverAlias records ServerAlias names of a <VirtualHost>.
func (p *parser) serverAlias(d *dctx) error {
	if !d.sc.inVhost {
		return d.errorf("ServerAlias only used in <VirtualHost>")
	}
	ws := words(d.args)
	if len(ws) == 0 {
		return d.errorf("needs at least one name")
	}
	vh := p.file.VirtualHosts[d.sc.vhostIdx-1]
	vh.Aliases = append(vh.Aliases, ws...)
	return nil
}

func (p *parser) proxyPassReverse(d *dctx) error {
	if d.sc.balancer != nil {
		return d.errorf("not allowed inside <Proxy>")
	}
	ws := words(d.args)
	if len(ws) == 0 || len(ws) > 3 {
		return d.errorf("takes one, two or three arguments")
	}
	rm := ReverseMap{Pos: d.pos, VirtualHost: d.sc.vhost, VHost: d.sc.vhostIdx}
	var opt []string
	if d.sc.inLocation {
		rm.Path, rm.URL, opt = d.sc.location, ws[0], ws[1:]
		if len(opt) > 0 && !strings.EqualFold(opt[0], "interpolate") {
			return d.errorf("%q: ProxyPassReverse can not have a path when defined in a location", opt[0])
		}
	} else {
		if len(ws) < 2 || strings.EqualFold(ws[1], "interpolate") {
			return d.errorf("ProxyPassReverse needs a path when not defined in a location")
		}
		rm.Path, rm.URL, opt = ws[0], ws[1], ws[2:]
	}
	if len(opt) > 1 {
		return d.errorf("takes one, two or three arguments")
	}
	if len(opt) == 1 {
		if !strings.EqualFold(opt[0], "interpolate") {
			return d.errorf("%q: unknown option (only interpolate)", opt[0])
		}
		rm.Interpolate = true
	}
	if isBalancerURL(rm.URL) {
		bn, rest, ok := balancerNameAndPath(rm.URL)
		if !ok {
			return d.errorf("bad syntax for a balancer name: %q", rm.URL)
		}
		rm.Balancer, rm.BalancerPath = bn, rest
	}
	p.file.Reverse = append(p.file.Reverse, rm)
	return nil
}

func (p *parser) cookieMap(d *dctx) error {
	ws := words(d.args)
	if len(ws) < 2 || len(ws) > 3 {
		return d.errorf("takes two or three arguments")
	}
	cm := CookieMap{Pos: d.pos, Internal: ws[0], Public: ws[1], VirtualHost: d.sc.vhost, VHost: d.sc.vhostIdx}
	if len(ws) == 3 {
		if !strings.EqualFold(ws[2], "interpolate") {
			return d.errorf("%q: unknown option (only interpolate)", ws[2])
		}
		cm.Interpolate = true
	}
	if d.name == "ProxyPassReverseCookieDomain" {
		p.file.ReverseCookieDomain = append(p.file.ReverseCookieDomain, cm)
	} else {
		p.file.ReverseCookiePath = append(p.file.ReverseCookiePath, cm)
	}
	return nil
}

func (p *parser) proxyHCExpr(d *dctx) error {
	name, rest := getWord(d.args)
	if name == "" {
		return d.errorf("missing expression name")
	}
	if len(name) >= maxExprName {
		return d.errorf("%q: expression name limited to %d characters", name, maxExprName-1)
	}
	src, rest := getWord2(rest)
	if src == "" {
		return d.errorf("missing expression for %s", name)
	}
	e, err := ParseExpr(src)
	if err != nil {
		return d.errorf("could not parse expression %q: %v", src, err)
	}
	if extra, _ := getWord(rest); extra != "" {
		return d.errorf("extra parameter(s) after the expression: %q", rest)
	}
	def := &HCExpr{Pos: d.pos, Name: name, Expr: e}
	ln := strings.ToLower(name)
	if i, ok := p.exprs[ln]; ok {
		p.warn(d.pos, d.name, "%s redefines the expression of line %d; members naming it use this one", name, p.file.HCExprs[i].Pos.Line)
		p.file.HCExprs[i] = def
		return nil
	}
	p.exprs[ln] = len(p.file.HCExprs)
	p.file.HCExprs = append(p.file.HCExprs, def)
	return nil
}

func (p *parser) proxyHCTemplate(d *dctx) error {
	name, rest := getWord(d.args)
	if name == "" {
		return d.errorf("missing template name")
	}
	t := &HCTemplate{Pos: d.pos, Name: name, HealthCheck: HealthCheck{
		Method: HCTCP, Interval: 30 * time.Second,
		Passes: 1, PassesSet: true, Fails: 1, FailsSet: true,
	}}
	for _, w := range words(rest) {
		k, v, ok := splitParam(w)
		if !ok {
			return d.errorf("invalid parameter %q: parameters must be in the form key=value", w)
		}
		res := p.setHCParam(&t.HealthCheck, k, v)
		if res.err != "" {
			return d.errorf("%s: %s", quoteParam(k, v), res.err)
		}
		if res.warn != "" {
			p.warn(d.pos, d.name, "%s", res.warn)
		}
	}
	ln := strings.ToLower(name)
	if old := p.templates[ln]; old != nil {
		p.warn(d.pos, d.name, "template %s is already defined at line %d; hctemplate= uses that one", name, old.Pos.Line)
	} else {
		p.templates[ln] = t
	}
	p.file.HCTemplates = append(p.file.HCTemplates, t)
	return nil
}

func (p *parser) flagDirective(d *dctx) error {
	a, err := oneArg(d)
	if err != nil {
		return err
	}
	f, ok := onOff(a)
	if !ok {
		return d.errorf("%q: must be On or Off", a)
	}
	switch d.name {
	case "BalancerPersist":
		p.file.Persist, p.file.PersistPos = f, d.pos
	case "BalancerInherit":
		p.file.BalancerInherit = f
		p.warn(d.pos, d.name, "recorded only: balancers are one name space here, every <VirtualHost> sees them all")
	default:
		p.file.ProxyPassInherit = f
		p.warn(d.pos, d.name, "recorded only: it affects ProxyRemote only (httpd inherits the main server's ProxyPass lines either way)")
	}
	return nil
}

func (p *parser) balancerGrowth(d *dctx) error {
	a, err := oneArg(d)
	if err != nil {
		return err
	}
	n, exact := atoi(a)
	if n < 0 || n > 1000 {
		return d.errorf("%q: BalancerGrowth must be between 0 and 1000", a)
	}
	if !exact {
		p.warn(d.pos, d.name, "%q read as %d (atoi)", a, n)
	}
	p.file.BalancerGrowth, p.file.BalancerGrowthSet = n, true
	return nil
}

func (p *parser) proxyTimeout(d *dctx) error {
	a, err := oneArg(d)
	if err != nil {
		return err
	}
	n, exact := atoi(a)
	if n < 1 {
		return d.errorf("%q: Proxy Timeout must be at least 1 second", a)
	}
	if !exact {
		p.warn(d.pos, d.name, "%q read as %d s (Apache reads whole seconds with atoi)", a, n)
	}
	p.file.ProxyTimeout = time.Duration(n) * time.Second
	return nil
}

func (p *parser) setHandler(d *dctx) error {
	a, err := oneArg(d)
	if err != nil {
		return err
	}
	if !strings.EqualFold(a, "balancer-manager") {
		p.warn(d.pos, d.name, "handler %q skipped: outside the balancing subset", a)
		return nil
	}
	switch {
	case d.sc.inLocation:
		p.file.ManagerPaths = append(p.file.ManagerPaths, d.sc.location)
		d.sc.section.Manager = true
	case d.sc.balancer != nil:
		p.warn(d.pos, d.name, "balancer-manager inside <Proxy> skipped")
	default:
		p.warn(d.pos, d.name, "balancer-manager outside <Location> serves every URL; recorded as path /")
		p.file.ManagerPaths = append(p.file.ManagerPaths, "/")
	}
	return nil
}

func (p *parser) includeDirective(d *dctx) error {
	a, err := oneArg(d)
	if err != nil {
		return err
	}
	return p.include(d.sc, d.pos, d.name, a, d.name == "IncludeOptional", d.incDepth)
}

func (p *parser) serverRoot(d *dctx) error {
	a, err := oneArg(d)
	if err != nil {
		return err
	}
	p.file.ServerRoot = a
	return nil
}

func (p *parser) define(d *dctx) error {
	ws := words(d.args)
	if len(ws) < 1 || len(ws) > 2 || ws[0] == "" {
		return d.errorf("takes one or two arguments")
	}
	if strings.Contains(ws[0], ":") {
		return d.errorf("%q: variable name must not contain ':'", ws[0])
	}
	p.params[ws[0]] = true
	if len(ws) == 2 {
		p.vars[ws[0]] = ws[1]
	}
	return nil
}

func (p *parser) undefine(d *dctx) error {
	a, err := oneArg(d)
	if err != nil {
		return err
	}
	delete(p.params, a)
	delete(p.vars, a)
	return nil
}

// apacheVersion is the version <IfVersion> is evaluated against: the one
// the behaviour reference describes.
var apacheVersion = [3]int{2, 4, 71}

// ifVersion evaluates <IfVersion [[!]op] version> for Apache 2.4.71. The
// operators are = == > >= < <= and ~ (regular expression, also written
// /regex/ as the version); missing minor or patch numbers count as 0. It
// returns a message for malformed arguments.
func ifVersion(args []string) (bool, string) {
	var op, ver string
	switch len(args) {
	case 1:
		op, ver = "=", args[0]
	case 2:
		op, ver = args[0], args[1]
	default:
		return false, "<IfVersion> takes an optional operator and a version"
	}
	neg := false
	if strings.HasPrefix(op, "!") {
		neg, op = true, op[1:]
		if op == "" {
			op = "="
		}
	}
	const cur = "2.4.71"
	if op == "~" || (len(ver) >= 2 && ver[0] == '/' && ver[len(ver)-1] == '/') {
		if op != "~" && op != "=" && op != "==" {
			return false, "a regular expression version needs = or ~"
		}
		src := strings.TrimSuffix(strings.TrimPrefix(ver, "/"), "/")
		re, err := regexp.Compile(src)
		if err != nil {
			return false, "bad regular expression: " + err.Error()
		}
		return re.MatchString(cur) != neg, ""
	}
	var v [3]int
	parts := strings.Split(ver, ".")
	if len(parts) > 3 {
		return false, "version must be major[.minor[.patch]]"
	}
	for i, s := range parts {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return false, "version must be major[.minor[.patch]]"
		}
		v[i] = n
	}
	c := 0
	for i := range v {
		if apacheVersion[i] != v[i] {
			if apacheVersion[i] < v[i] {
				c = -1
			} else {
				c = 1
			}
			break
		}
	}
	var r bool
	switch op {
	case "=", "==":
		r = c == 0
	case ">":
		r = c > 0
	case ">=":
		r = c >= 0
	case "<":
		r = c < 0
	case "<=":
		r = c <= 0
	default:
		return false, "unknown operator " + op
	}
	return r != neg, ""
}

// authMerging accepts httpd's default (Off) and refuses the others, which
// combine sections' Require trees in ways not implemented here.
func (p *parser) authMerging(d *dctx) error {
	a, err := oneArg(d)
	if err != nil {
		return err
	}
	if !strings.EqualFold(a, "off") {
		return d.errorf("AuthMerging %s cannot be enforced here: only Off (a section's Require lines replace the enclosing ones')", a)
	}
	return nil
}
