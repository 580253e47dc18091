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
	if len(ws) < 3 || !strings.EqualFold(ws[1], "Set-Cookie") {
		return skip("only the route cookie recipe (Header add Set-Cookie \"NAME=." + routePlaceholder + "...\") is part of the balancing subset")
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
