package balancer

import (
	"fmt"
	"net/http"
	"regexp"

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
}

// stickyConfig is the validated sticky-session configuration.
type stickyConfig struct {
	ex     *sticky.Extractor
	cookie *http.Cookie // the route cookie template, or nil
	sep    byte
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
		sc.cookie = c
	}
	return sc, nil
}

// find extracts the request's route as Apache does: the URL parameter
// first, then the cookie.
func (sc *stickyConfig) find(path, rawQuery string, h http.Header) (route, name string, ok bool) {
	return sc.ex.Find(path, rawQuery, h["Cookie"])
}

// routeCookie returns the Set-Cookie value naming route.
func (sc *stickyConfig) routeCookie(route string) string {
	c := *sc.cookie
	if sc.sep != 0 {
		c.Value = string(sc.sep) + route
	} else {
		c.Value = route
	}
	return c.String()
}

// setRouteCookie adds the route cookie to a member's response when the
// route changed.
func (st *requestState) setRouteCookie(res *http.Response) {
	sc := st.snap.sticky
	if sc == nil || sc.cookie == nil || !st.routeChanged {
		return
	}
	res.Header.Add("Set-Cookie", sc.routeCookie(st.mcfg.route))
}
