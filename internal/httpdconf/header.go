package httpdconf

import (
	"net/http"
	"strconv"
	"strings"
)

// routePlaceholder is mod_headers' format for the BALANCER_WORKER_ROUTE
// environment variable.
const routePlaceholder = "%{BALANCER_WORKER_ROUTE}e"

// header recognises Apache's documented route-cookie recipe:
//
//	Header [always|onsuccess] add|set|append|merge|setifempty Set-Cookie "NAME=<prefix>%{BALANCER_WORKER_ROUTE}e<suffix>[; attr...]" [env=BALANCER_ROUTE_CHANGED]
//
// Any other Header line is skipped with a warning.
func (p *parser) header(d *dctx) error {
	ws := words(d.args)
	rc := RouteCookie{Pos: d.pos, VirtualHost: d.sc.vhost, VHost: d.sc.vhostIdx}
	if d.sc.balancer != nil {
		rc.Balancer = d.sc.balancer.Name
	}
	if len(ws) > 0 && (strings.EqualFold(ws[0], "always") || strings.EqualFold(ws[0], "onsuccess")) {
		rc.Always = strings.EqualFold(ws[0], "always")
		ws = ws[1:]
	}
	skip := func(why string) error {
		p.warn(d.pos, d.name, "skipped: %s", why)
		return nil
	}
	if len(ws) < 3 || !strings.EqualFold(ws[1], "Set-Cookie") || !strings.Contains(ws[2], routePlaceholder) {
		return p.headerEdit(d, false)
	}
	switch strings.ToLower(ws[0]) {
	case "add", "set", "append", "merge", "setifempty":
	default:
		return skip("action " + ws[0] + " is not part of the route cookie recipe")
	}
	value := ws[2]
	if !strings.Contains(value, routePlaceholder) {
		return skip("Set-Cookie value without " + routePlaceholder + " is not the route cookie recipe")
	}
	for _, c := range ws[3:] {
		if k, v, ok := splitParam(c); ok && strings.EqualFold(k, "env") && strings.EqualFold(v, "BALANCER_ROUTE_CHANGED") && !rc.OnlyWhenChanged {
			rc.OnlyWhenChanged = true
			continue
		}
		return skip("condition " + strconv.Quote(c) + " is not part of the route cookie recipe (only env=BALANCER_ROUTE_CHANGED)")
	}
	if why := parseRouteCookie(&rc, value); why != "" {
		return skip(why)
	}
	p.file.RouteCookies = append(p.file.RouteCookies, rc)
	return nil
}

// parseRouteCookie fills rc from a Set-Cookie value template. It returns
// why the value is not understood, or "".
func parseRouteCookie(rc *RouteCookie, value string) string {
	rc.Value = value
	parts := strings.Split(value, ";")
	nv := trimSpace(parts[0])
	eq := strings.IndexByte(nv, '=')
	if eq <= 0 {
		return "Set-Cookie value has no cookie name"
	}
	rc.Name = trimSpace(nv[:eq])
	v := nv[eq+1:]
	i := strings.Index(v, routePlaceholder)
	if i < 0 {
		return routePlaceholder + " must be in the cookie value"
	}
	rc.Prefix, rc.Suffix = v[:i], v[i+len(routePlaceholder):]
	if strings.Contains(rc.Name+rc.Prefix+rc.Suffix, "%") {
		return "format specifiers other than " + routePlaceholder + " are not supported"
	}
	for _, a := range parts[1:] {
		a = trimSpace(a)
		if a == "" {
			continue
		}
		if strings.Contains(a, "%") {
			return "format specifiers in cookie attributes are not supported"
		}
		k, v, _ := strings.Cut(a, "=")
		k, v = trimSpace(k), trimSpace(v)
		switch strings.ToLower(k) {
		case "path":
			rc.Path = v
		case "domain":
			rc.Domain = v
		case "max-age":
			n, err := strconv.Atoi(v)
			if err != nil {
				rc.Extra = append(rc.Extra, a)
				continue
			}
			rc.MaxAge, rc.HasMaxAge = n, true
		case "expires":
			rc.Expires = v
		case "secure":
			rc.Secure = true
		case "httponly":
			rc.HTTPOnly = true
		case "samesite":
			switch strings.ToLower(v) {
			case "strict":
				rc.SameSite = http.SameSiteStrictMode
			case "lax":
				rc.SameSite = http.SameSiteLaxMode
			case "none":
				rc.SameSite = http.SameSiteNoneMode
			default:
				rc.Extra = append(rc.Extra, a)
			}
		default:
			rc.Extra = append(rc.Extra, a)
		}
	}
	return ""
}

// HeaderEdit is a Header or RequestHeader directive with a static value:
// set, add, append or unset, optionally conditioned on an environment
// variable (env=VAR or env=!VAR).
type HeaderEdit struct {
	Pos Pos
	// Request is true for RequestHeader.
	Request bool
	// Always is "Header always": the edit applies to every response,
	// errors httpd makes itself included; otherwise only to the responses
	// of a member (onsuccess).
	Always bool
	// Action is "set", "add", "append" or "unset".
	Action string
	Name   string
	Value  string
	// Env is the env= variable ("" for none); EnvNot is env=!VAR.
	Env    string
	EnvNot bool
	// VHost is the 1-based index of the <VirtualHost> (0: main server).
	VHost int
	// Section is the <Location> or <Proxy> section the directive was
	// written in, nil at server level.
	Section *Section
}

// headerEdit reads a Header (request false) or RequestHeader with a static
// value; the forms it does not understand are skipped with a warning.
func (p *parser) headerEdit(d *dctx, request bool) error {
	ws := words(d.args)
	skip := func(why string) error {
		p.warn(d.pos, d.name, "skipped: %s", why)
		return nil
	}
	e := HeaderEdit{Pos: d.pos, Request: request, VHost: d.sc.vhostIdx, Section: d.sc.section}
	if !request && len(ws) > 0 && (strings.EqualFold(ws[0], "always") || strings.EqualFold(ws[0], "onsuccess")) {
		e.Always = strings.EqualFold(ws[0], "always")
		ws = ws[1:]
	}
	if request && len(ws) > 0 && strings.EqualFold(ws[len(ws)-1], "early") {
		ws = ws[:len(ws)-1]
	}
	if len(ws) < 2 {
		return d.errorf("needs an action and a header name")
	}
	e.Action, e.Name = strings.ToLower(ws[0]), ws[1]
	rest := ws[2:]
	switch e.Action {
	case "set", "add", "append":
		if len(rest) == 0 {
			return d.errorf("%s %s needs a value", e.Action, e.Name)
		}
		e.Value, rest = rest[0], rest[1:]
	case "unset":
	default:
		return skip("action " + ws[0] + " is not supported (set, add, append and unset are)")
	}
	if strings.Contains(e.Value, "%") {
		return skip("format specifiers in the value (" + strconv.Quote(e.Value) + ") are not supported: only static values")
	}
	if len(rest) > 1 {
		return d.errorf("too many arguments")
	}
	if len(rest) == 1 {
		k, v, ok := splitParam(rest[0])
		if !ok || !strings.EqualFold(k, "env") {
			return skip("condition " + strconv.Quote(rest[0]) + " is not supported (only env=)")
		}
		e.EnvNot = strings.HasPrefix(v, "!")
		e.Env = strings.TrimPrefix(v, "!")
		if !strings.HasPrefix(e.Env, "BALANCER_") {
			return skip("condition " + strconv.Quote(rest[0]) + ": only the BALANCER_* variables are known here (nothing else sets environment variables)")
		}
	}
	p.file.Headers = append(p.file.Headers, e)
	return nil
}

// requestHeader handles RequestHeader.
func (p *parser) requestHeader(d *dctx) error { return p.headerEdit(d, true) }
