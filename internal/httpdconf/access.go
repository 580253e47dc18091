package httpdconf

import (
	"strings"

	"github.com/proxybalancer/balancer/internal/access"
)

// Section is a <Location> or <Proxy> section that holds access rules or
// a balancer-manager handler: what applies to the requests it matches.
type Section struct {
	Pos Pos
	// Proxy is true for a <Proxy> section (matched against the proxied
	// URL: Path is "balancer://name" or "*"), false for <Location>
	// (matched against the request path).
	Proxy bool
	// Path is the <Location> path or the <Proxy> URL as written.
	Path string
	// VirtualHost is the enclosing <VirtualHost> addresses, "" for the
	// main server.
	VirtualHost string
	VHost       int

	// Require is the section's Require tree (its Require lines and
	// <RequireAll|Any|None> sections, under an implicit <RequireAny>); nil
	// when the section has none, so it inherits the enclosing one's.
	Require    access.Rule
	RequirePos Pos
	// Compat holds Order, Allow from and Deny from; nil when the section
	// has none. Since mod_access_compat does not merge sections, a
	// section with any of them replaces the rules of the sections before.
	Compat    *access.Compat
	CompatPos Pos
	// Satisfy is Satisfy (On = Any, Off = All, unset = inherited).
	Satisfy Flag

	// Manager is set by "SetHandler balancer-manager" in a <Location>.
	Manager bool
}

// HasAccess reports whether the section has access rules of its own.
func (s *Section) HasAccess() bool {
	return s.Require != nil || s.Compat != nil || s.Satisfy != FlagUnset
}

// reqGroup is an open <RequireAll|Any|None> section.
type reqGroup struct {
	kind  string // "RequireAll", "RequireAny", "RequireNone"
	pos   Pos
	rules []access.Rule
	neg   []bool // whether each rule is negative
}

// accessTarget returns the section access directives of d apply to, or an
// error where httpd allows none (the server level, <VirtualHost>).
func (p *parser) accessTarget(d *dctx) (*Section, error) {
	if d.sc.section == nil {
		return nil, d.errorf("not allowed here: access rules go in <Location> or <Proxy> (httpd refuses them at server or <VirtualHost> level)")
	}
	return d.sc.section, nil
}

// require handles Require [not] provider args...
func (p *parser) require(d *dctx) error {
	s, err := p.accessTarget(d)
	if err != nil {
		return err
	}
	ws := words(d.args)
	neg := false
	if len(ws) > 0 && strings.EqualFold(ws[0], "not") {
		neg, ws = true, ws[1:]
	}
	if len(ws) == 0 {
		return d.errorf("needs a provider (all, ip, host, local)")
	}
	var r access.Rule
	prov, args := strings.ToLower(ws[0]), ws[1:]
	switch prov {
	case "all":
		if len(args) != 1 || !strings.EqualFold(args[0], "granted") && !strings.EqualFold(args[0], "denied") {
			return d.errorf("\"Require all\" takes granted or denied")
		}
		r = access.All{Granted: strings.EqualFold(args[0], "granted")}
	case "local":
		if len(args) != 0 {
			return d.errorf("\"Require local\" takes no arguments")
		}
		r = access.Local{}
	case "ip":
		if len(args) == 0 {
			return d.errorf("\"Require ip\" needs at least one address")
		}
		var ip access.IP
		for _, a := range args {
			n, err := access.ParseNetwork(a)
			if err != nil {
				return d.errorf("Require ip %s: %v", a, err)
			}
			ip.Nets = append(ip.Nets, n)
		}
		r = ip
	case "host":
		if len(args) == 0 {
			return d.errorf("\"Require host\" needs at least one host or domain name")
		}
		r = access.Host{Domains: append([]string(nil), args...)}
	default:
		return d.errorf("Require %s: cannot be enforced here (only all, ip, host and local are; the request would be served where httpd refuses it)", ws[0])
	}
	if neg {
		if !d.sc.inReqAll {
			where := "<RequireAny>"
			if d.sc.group != nil {
				where = "<" + d.sc.group.kind + ">"
			}
			return d.errorf("negative Require directive has no effect in %s directive", where)
		}
		r = access.Not{Rule: r}
	}
	if g := d.sc.group; g != nil {
		g.rules = append(g.rules, r)
		g.neg = append(g.neg, neg)
		return nil
	}
	s.addRequire(r, d.pos)
	return nil
}

// addRequire adds one rule to the section's implicit <RequireAny>.
func (s *Section) addRequire(r access.Rule, pos Pos) {
	if s.Require == nil {
		s.Require, s.RequirePos = access.AnyOf{r}, pos
		return
	}
	s.Require = append(s.Require.(access.AnyOf), r)
}

// requireSection parses a <RequireAll|Any|None> body.
func (p *parser) requireSection(src *source, sc scope, pos Pos, kind string, args []string, incDepth int) error {
	dname := "<" + kind + ">"
	if sc.section == nil {
		return pos.Errorf(dname, "not allowed here: access rules go in <Location> or <Proxy>")
	}
	if len(args) != 0 {
		return pos.Errorf(dname, "takes no arguments")
	}
	// RequireNone is negative: like "Require not", it may only be
	// inside <RequireAll>.
	if kind == "RequireNone" && !sc.inReqAll {
		where := "<RequireAny>"
		if sc.group != nil {
			where = "<" + sc.group.kind + ">"
		}
		return pos.Errorf(dname, "negative Require directive has no effect in %s directive", where)
	}
	g := &reqGroup{kind: kind, pos: pos}
	inner := sc
	inner.depth++
	inner.group = g
	inner.inReqAll = kind == "RequireAll"
	if err := p.parseBody(src, inner, kind, pos, incDepth); err != nil {
		return err
	}
	if len(g.rules) == 0 {
		return pos.Errorf(dname, "directive contains no authorization directives")
	}
	allNeg := true
	for _, n := range g.neg {
		allNeg = allNeg && n
	}
	if allNeg && kind == "RequireAll" {
		return pos.Errorf(dname, "directive contains only negative authorization directives")
	}
	var r access.Rule
	switch kind {
	case "RequireAll":
		r = access.AllOf(g.rules)
	case "RequireAny":
		r = access.AnyOf(g.rules)
	default:
		r = access.NoneOf(g.rules)
	}
	neg := kind == "RequireNone"
	if sc.group != nil {
		sc.group.rules = append(sc.group.rules, r)
		sc.group.neg = append(sc.group.neg, neg)
		return nil
	}
	sc.section.addRequire(r, pos)
	return nil
}

// order handles Order.
func (p *parser) order(d *dctx) error {
	s, err := p.accessTarget(d)
	if err != nil {
		return err
	}
	a, err := oneArg(d)
	if err != nil {
		return err
	}
	o, ok := access.ParseOrder(a)
	if !ok {
		return d.errorf("%q: unknown order (Deny,Allow, Allow,Deny or Mutual-failure, without spaces)", a)
	}
	s.compat(d.pos).Order = o
	return nil
}

// allowDeny handles Allow from and Deny from.
func (p *parser) allowDeny(d *dctx) error {
	s, err := p.accessTarget(d)
	if err != nil {
		return err
	}
	ws := words(d.args)
	if len(ws) < 2 || !strings.EqualFold(ws[0], "from") {
		return d.errorf("must be followed by 'from' and at least one host or address")
	}
	c := s.compat(d.pos)
	for _, w := range ws[1:] {
		if strings.HasPrefix(strings.ToLower(w), "env=") {
			return d.errorf("%s: cannot be enforced here (environment variables are not set by this loader)", w)
		}
		f, err := access.ParseFrom(w)
		if err != nil {
			return d.errorf("%v", err)
		}
		if d.name == "Allow" {
			c.Allow = append(c.Allow, f)
		} else {
			c.Deny = append(c.Deny, f)
		}
	}
	return nil
}

// compat returns the section's Order/Allow/Deny rules, creating them.
func (s *Section) compat(pos Pos) *access.Compat {
	if s.Compat == nil {
		s.Compat, s.CompatPos = &access.Compat{}, pos
	}
	return s.Compat
}

// satisfy handles Satisfy.
func (p *parser) satisfy(d *dctx) error {
	s, err := p.accessTarget(d)
	if err != nil {
		return err
	}
	a, err := oneArg(d)
	if err != nil {
		return err
	}
	switch strings.ToLower(a) {
	case "any":
		s.Satisfy = FlagOn
	case "all":
		s.Satisfy = FlagOff
	default:
		return d.errorf("%q: Satisfy either 'any' or 'all'", a)
	}
	return nil
}

// refuseAccess is for directives that change who is served in ways this
// loader cannot enforce: refused, never skipped.
func (p *parser) refuseAccess(d *dctx) error {
	return d.errorf("cannot be enforced here: it changes which clients are served (or what address they are seen from), and skipping it would serve requests httpd refuses")
}

// accessDirectives are the directive names scanned for in skipped
// sections: a skipped section holding one of them is refused.
var accessDirectives = map[string]bool{
	"require": true, "order": true, "allow": true, "deny": true, "satisfy": true,
	"<requireall": true, "<requireany": true, "<requirenone": true,
	"authtype": true, "authname": true, "authuserfile": true,
}
