package httpdconf

import (
	"net/http"
	"net/netip"
	"strings"

	"github.com/proxybalancer/balancer/internal/access"
	apconf "github.com/proxybalancer/balancer/internal/httpdconf"
)

// Section is a <Location> or <Proxy> section with access rules (Require,
// Order, Allow, Deny, Satisfy) or a balancer-manager handler.
//
// Access rules are evaluated on the connection's peer address
// (http.Request.RemoteAddr) and, for Require local, its local address;
// no header (X-Forwarded-For, ...) is trusted, and RemoteIPHeader is
// refused. A program behind a trusted proxy that wants the client's
// address must put it in RemoteAddr before the handler.
//
// The sections that match a request are merged in httpd's order: the
// <Proxy> sections of the balancer it is proxied to (only for proxied
// requests), then the <Location> sections whose path is a prefix of the
// request path (whole components, or a path ending in '/'), each group
// the main server's first, then its virtual host's, in configuration
// order. A section with Require lines replaces the Require of the sections
// before it; one with any of Order, Allow and Deny replaces theirs (mod_access_compat
// does not merge), Satisfy likewise. The result is evaluated as httpd
// evaluates a request without authentication (see internal/access).
type Section struct {
	// Pos is where the section was opened.
	Pos Pos
	// Proxy is true for <Proxy> (Path is "balancer://name" or "*"),
	// false for <Location> (Path is the URL path).
	Proxy bool
	Path  string
	// VHost is the 1-based index of the section's <VirtualHost>, 0 for
	// the main server.
	VHost int
	// Manager is set by "SetHandler balancer-manager".
	Manager bool
	// Access reports whether the section has access rules.
	Access bool

	sec  *apconf.Section
	path string // Path with slash runs merged
}

// convertSections checks the sections and maps them.
func (cv *converter) sections() error {
	for _, s := range cv.f.Sections {
		sc := Section{Pos: pos(s.Pos), Proxy: s.Proxy, Path: s.Path, VHost: s.VHost, Manager: s.Manager, Access: s.HasAccess(), sec: s}
		name := "<Location>"
		if s.Proxy {
			name = "<Proxy>"
		}
		switch {
		case s.Proxy && s.Path != "*" && !strings.HasPrefix(s.Path, "balancer://"):
			return errAt(s.Pos, name, "%s: access rules of <Proxy> sections are enforced only for balancer:// and * sections (httpd would apply them to the requests proxied to that URL)", s.Path)
		case !s.Proxy && strings.ContainsAny(s.Path, "*?["):
			return errAt(s.Pos, name, "%s: wildcard <Location> paths are not supported, and the section has access rules or a handler that would not apply", s.Path)
		case !s.Proxy && !strings.HasPrefix(s.Path, "/"):
			return errAt(s.Pos, name, "%s: the path must start with '/' to match requests here", s.Path)
		}
		sc.path = mergeSlashes(s.Path)
		cv.c.Sections = append(cv.c.Sections, sc)
	}
	if len(cv.f.FileAccess) > 0 {
		for _, s := range cv.c.Sections {
			// A manager <Location> with both a Require and Order/Allow/Deny
			// of its own replaces whatever <Directory> says of both.
			if s.Manager && (s.sec.Require == nil || s.sec.Compat == nil) {
				return errAt(cv.f.FileAccess[0], "", "a <Directory> or <Files> section has access rules: httpd applies them to the balancer-manager at %s (line %d), which is not proxied, where its <Location> does not replace them; they cannot be evaluated here (give the manager's <Location> both a Require and Order/Allow/Deny, or move the rules there)", s.Path, s.Pos.Line)
			}
		}
	}
	return nil
}

// mergeSlashes replaces each run of '/' with one.
func mergeSlashes(p string) string {
	if !strings.Contains(p, "//") {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '/' && i > 0 && p[i-1] == '/' {
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// locationMatch is httpd's prefix match of a <Location> path: the path
// starts with loc, and loc ends in '/' or the match ends at a '/' or at
// the end of the path.
func locationMatch(loc, path string) bool {
	if !strings.HasPrefix(path, loc) {
		return false
	}
	n := len(loc)
	return n == 0 || loc[n-1] == '/' || len(path) == n || path[n] == '/'
}

// policy merges the sections that apply to a request of server vhost for
// path, proxied to balancer (lower-case name without "balancer://"; ""
// when not proxied, a worker's name when proxied to an ordinary URL).
// It also returns whether a balancer-manager <Location> matched.
func policy(secs []Section, vhost int, path, balancer string, proxied bool) (access.Policy, bool) {
	var p access.Policy
	manager := false
	apply := func(s *Section) {
		if s.sec.Require != nil {
			p.Require = s.sec.Require
		}
		if s.sec.Compat != nil {
			p.Compat = s.sec.Compat
		}
		switch s.sec.Satisfy {
		case apconf.FlagOn:
			p.SatisfyAny = true
		case apconf.FlagOff:
			p.SatisfyAny = false
		}
	}
	for _, proxy := range []bool{true, false} {
		if proxy && !proxied {
			continue
		}
		for _, v := range []int{0, vhost} {
			for i := range secs {
				s := &secs[i]
				if s.Proxy != proxy || s.VHost != v {
					continue
				}
				if proxy {
					if s.Path != "*" && !strings.EqualFold(strings.TrimPrefix(s.Path, "balancer://"), balancer) {
						continue
					}
				} else if !locationMatch(s.path, path) {
					continue
				}
				apply(s)
				if s.Manager {
					manager = true
				}
			}
			if vhost == 0 {
				break
			}
		}
	}
	return p, manager
}

// client returns the access rules' view of r's connection.
func client(r *http.Request) *access.Client {
	c := &access.Client{Ctx: r.Context()}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		c.Peer = ap.Addr().Unmap()
	}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(interface{ String() string }); ok {
		if ap, err := netip.ParseAddrPort(la.String()); err == nil {
			c.Local = ap.Addr().Unmap()
		}
	}
	return c
}

// forbidden answers 403 as httpd does.
func forbidden(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=iso-8859-1")
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write([]byte("<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>403 Forbidden</title>\n</head><body>\n<h1>Forbidden</h1>\n<p>You don't have permission to access this resource.</p>\n</body></html>\n"))
}
