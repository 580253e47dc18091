package balancer

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/proxybalancer/balancer/internal/sticky"
)

// RouteCookie is the Apache documentation's ROUTEID recipe as an option:
// when a request's route changed (it had none, or its member was unusable),
// the member's response carries a cookie naming the new member's route, so
// that the client's next requests stick to it:
//
//	Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/" env=BALANCER_ROUTE_CHANGED
//
// is RouteCookie{Name: "ROUTEID", Path: "/"} with StickySession "ROUTEID".
// The value is the separator and the route (".node1"): a cookie never
// carries a backend address. Responses the balancer makes itself (502, 503)
// carry no cookie, as with Apache's "Header add".
//
// A route the cookie cannot carry (see New) is refused when the route
// cookie is on.
type RouteCookie struct {
	// Name is the cookie's name; required. It is normally the cookie name
	// of Config.StickySession.
	Name string
	// Path, Domain, MaxAge, Secure, HttpOnly and SameSite are the cookie's
	// attributes, as in http.Cookie; zero values leave them out.
	Path     string
	Domain   string
	MaxAge   int
	Secure   bool
	HttpOnly bool
	SameSite http.SameSite

	// Raw, if set, is the whole Set-Cookie value written as in Apache's
	// recipe, with %{BALANCER_WORKER_ROUTE}e where the route goes:
	// "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/". It is sent exactly so,
	// attribute names' case included, with the route in place of each
	// %{BALANCER_WORKER_ROUTE}e; the attribute fields above are then not
	// used. It must start with Name and '=' and hold no control bytes.
	// Package httpdconf sets it from the recipe it loads.
	Raw string
}

// RoutePlaceholder is where the route goes in RouteCookie.Raw: the
// mod_headers format of Apache's recipe.
const RoutePlaceholder = "%{BALANCER_WORKER_ROUTE}e"

// stickyConfig is the validated sticky-session configuration.
type stickyConfig struct {
	ex     *sticky.Extractor
	cookie *http.Cookie // the route cookie template, or nil
	sep    byte
	raw    string // RouteCookie.Raw
	// cookies are the route cookie's Set-Cookie values by the members'
	// routes, made once.
	cookies map[string]string
}

func newStickyConfig(cfg *Config) (*stickyConfig, error) {
	if cfg.StickySession == "" {
		if cfg.RouteCookie != nil {
			return nil, fmt.Errorf("balancer: routecookie %q: needs stickysession", cfg.RouteCookie.Name)
		}
		if cfg.RoutePattern != "" {
			return nil, fmt.Errorf("balancer: routepattern %q: needs stickysession", cfg.RoutePattern)
		}
		return nil, nil
	}
	cookie, param, err := sticky.ParseStickySession(cfg.StickySession)
	if err != nil {
		return nil, fmt.Errorf("balancer: stickysession %q: %v", cfg.StickySession, err)
	}
	sep, err := sticky.ParseSeparator(cfg.StickySessionSep)
	if err != nil {
		return nil, fmt.Errorf("balancer: stickysessionsep %q: %v", cfg.StickySessionSep, err)
	}
	var re *regexp.Regexp
	if cfg.RoutePattern != "" {
		re, err = regexp.Compile(cfg.RoutePattern)
		if err != nil {
			return nil, fmt.Errorf("balancer: routepattern %q: %v", cfg.RoutePattern, err)
		}
		if re.NumSubexp() < 1 {
			return nil, fmt.Errorf("balancer: routepattern %q: needs a group for the route", cfg.RoutePattern)
		}
	}
	ex, err := sticky.NewExtractor(cookie, param, sep, cfg.ScolonPathDelim, re)
	if err != nil {
		return nil, fmt.Errorf("balancer: stickysession %q: %v", cfg.StickySession, err)
	}
	sc := &stickyConfig{ex: ex, sep: sep}
	if rc := cfg.RouteCookie; rc != nil {
		c := &http.Cookie{
			Name: rc.Name, Value: "x", Path: rc.Path, Domain: rc.Domain, MaxAge: rc.MaxAge,
			Secure: rc.Secure, HttpOnly: rc.HttpOnly, SameSite: rc.SameSite,
		}
		if err := c.Valid(); err != nil || rc.Name == "" {
			return nil, fmt.Errorf("balancer: routecookie %q: invalid cookie: %v", rc.Name, err)
		}
		if rc.Raw != "" {
			if !strings.HasPrefix(rc.Raw, rc.Name+"=") {
				return nil, fmt.Errorf("balancer: routecookie %q: raw %q: must start with %s=", rc.Name, rc.Raw, rc.Name)
			}
			if i := strings.IndexFunc(rc.Raw, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }); i >= 0 {
				return nil, fmt.Errorf("balancer: routecookie %q: raw %q: control byte at %d", rc.Name, rc.Raw, i)
			}
		}
		sc.cookie, sc.raw = c, rc.Raw
		sc.cookies = map[string]string{}
		for i := range cfg.Members {
			m := &cfg.Members[i]
			if _, done := sc.cookies[m.Route]; done {
				continue
			}
			value := m.Route
			if sep != 0 {
				value = string(sep) + m.Route
			}
			if i := invalidCookieByte(value); i >= 0 {
				return nil, fmt.Errorf("balancer: member %q: route %q: cannot be written in the route cookie %s: byte %q is not allowed in a cookie value (letters, digits and !#$%%&'()*+-./:<=>?@[]^_`{|}~ are)",
					m.URL, m.Route, rc.Name, value[i])
			}
			sc.cookies[m.Route] = sc.render(m.Route)
		}
	}
	return sc, nil
}

// render returns the route cookie's Set-Cookie value for route.
func (sc *stickyConfig) render(route string) string {
	if sc.raw != "" {
		return strings.ReplaceAll(sc.raw, RoutePlaceholder, route)
	}
	c := *sc.cookie
	c.Value = route
	if sc.sep != 0 {
		c.Value = string(sc.sep) + route
	}
	return c.String()
}

// invalidCookieByte returns the index of the first byte of v that a cookie
// value cannot hold (RFC 6265 cookie-octet: no control byte, space, '"',
// ',', ';', '\' or non-ASCII byte), or -1.
func invalidCookieByte(v string) int {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\' {
			return i
		}
	}
	return -1
}

// find extracts the request's route as Apache does: the URL parameter
// first, then the cookie.
func (sc *stickyConfig) find(path, rawQuery string, h http.Header) (route, name string, ok bool) {
	return sc.ex.Find(path, rawQuery, h["Cookie"])
}

// setRouteCookie adds the route cookie to a member's response when the
// route changed.
func (st *requestState) setRouteCookie(res *http.Response) {
	sc := st.snap.sticky
	if sc == nil || sc.cookie == nil || !st.routeChanged {
		return
	}
	v, ok := sc.cookies[st.mcfg.route]
	if !ok {
		v = sc.render(st.mcfg.route) // a route set after the snapshot was made
	}
	res.Header["Set-Cookie"] = append(res.Header["Set-Cookie"], v)
}
