package sticky

import (
	"fmt"
	"regexp"
)

// Extractor finds the sticky route of a request with the precedence of
// Apache's find_session_route (spec §2.4). Build it once per balancer with
// [NewExtractor]; it is immutable and safe for concurrent use by multiple
// goroutines. The zero value and a nil *Extractor mean no stickiness: Find
// never finds a route.
type Extractor struct {
	cookie  string         // cookie name; "" = cookie not consulted
	param   string         // URL parameter name; "" = URL not consulted
	sep     byte           // 0 = Off: the whole value is the route
	scolon  bool           // scolonpathdelim: ';' also ends a URL value
	pattern *regexp.Regexp // nil = separator rule
}

// NewExtractor returns an Extractor for the given names (usually from
// [ParseStickySession]), separator (from [ParseSeparator]; 0 means Off, the
// whole value is the route, and is not the default '.'), Apache's
// scolonpathdelim flag, and an optional route pattern.
//
// An empty cookie name means the Cookie header is never consulted, an empty
// param name that the URL never is; both empty means no stickiness. A
// non-empty name must pass [CheckCookieName] or [CheckParamName].
//
// pattern, when not nil, replaces the separator rule (an extension, off by
// default): it is matched against the session value, and its first capturing
// group is the route. A value that does not match, or matches without that
// group taking part, has no route. pattern must have at least one capturing
// group. Matching allocates, unlike the separator rule.
func NewExtractor(cookie, param string, sep byte, scolon bool, pattern *regexp.Regexp) (*Extractor, error) {
	if cookie != "" {
		if err := CheckCookieName(cookie); err != nil {
			return nil, fmt.Errorf("sticky: %w", err)
		}
	}
	if param != "" {
		if err := CheckParamName(param); err != nil {
			return nil, fmt.Errorf("sticky: %w", err)
		}
	}
	if pattern != nil && pattern.NumSubexp() < 1 {
		return nil, fmt.Errorf("sticky: route pattern %q: needs a capturing group for the route", pattern.String())
	}
	return &Extractor{cookie: cookie, param: param, sep: sep, scolon: scolon, pattern: pattern}, nil
}

// Enabled reports whether stickysession is configured, that is, whether e
// looks at the URL or at the Cookie header at all. Apache sets
// BALANCER_ROUTE_CHANGED on scheduler-chosen requests only then (spec §4).
func (e *Extractor) Enabled() bool {
	return e != nil && (e.cookie != "" || e.param != "")
}

// Find returns the sticky route of a request (spec §2.4, §12 item 2). path is
// the %-decoded balancer-relative path and rawQuery the raw query (see
// [FromURL]); cookieHeaders are the request's Cookie header values (see
// [FromCookie]).
//
// The URL parameter is tried first. If it yields any value, the cookie is not
// consulted, even when that value carries no route (then found is false).
// Otherwise the cookie is tried. found reports that a route string was
// extracted; the route may be empty ("abc." gives ""), and it is returned even
// if no member has it. stickyName is the name used, the URL parameter's or
// the cookie's: the value of BALANCER_SESSION_STICKY. When found is false,
// route and stickyName are empty. The route is always a substring of path,
// rawQuery or one of cookieHeaders. Find does not allocate unless a route
// pattern is set.
func (e *Extractor) Find(path, rawQuery string, cookieHeaders []string) (route, stickyName string, found bool) {
	if e == nil {
		return "", "", false
	}
	if e.param != "" {
		if v, ok := FromURL(path, rawQuery, e.param, e.scolon); ok {
			if r, ok := e.route(v); ok {
				return r, e.param, true
			}
			return "", "", false
		}
	}
	if e.cookie != "" {
		if v, ok := FromCookie(cookieHeaders, e.cookie); ok {
			if r, ok := e.route(v); ok {
				return r, e.cookie, true
			}
		}
	}
	return "", "", false
}

// route applies the route pattern, or else the separator rule, to a session
// value.
func (e *Extractor) route(value string) (string, bool) {
	if e.pattern == nil {
		return Route(value, e.sep)
	}
	m := e.pattern.FindStringSubmatchIndex(value)
	if m == nil || m[2] < 0 {
		return "", false
	}
	return value[m[2]:m[3]], true
}
