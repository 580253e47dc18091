package balancer

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/proxybalancer/balancer/internal/pathmatch"
)

// ProxyPass maps requests under a URL path to a balancer, as Apache's
//
//	ProxyPass /app balancer://mycluster/back
//	ProxyPassReverse /app balancer://mycluster/back
//
// does: the request path's prefix Path is replaced by BalancerPath, and the
// result is appended to the member's URL. A ProxyPass with a nil Balancer is
// an exclusion ("ProxyPass /app/static !").
type ProxyPass struct {
	// Path is the front-end path prefix, matched as Apache matches it: by
	// whole path components, any run of slashes matching any other run.
	// "/app" matches "/app" and "/app/x" but not "/apple"; "/" matches
	// every path. Required; it must start with '/'.
	Path string
	// Balancer serves the requests matched; nil excludes them, so the next
	// handler gets them.
	Balancer *Balancer
	// BalancerPath is the path of the balancer URL ("/back" for
	// balancer://mycluster/back), put in place of Path.
	BalancerPath string
	// Reverse rewrites Location, Content-Location, URI and Destination
	// response headers that point at any member's URL and BalancerPath
	// back to the front end, as ProxyPassReverse with the same two
	// arguments does.
	Reverse bool
	// CookieDomains and CookiePaths rewrite Set-Cookie domain and path
	// attributes (ProxyPassReverseCookieDomain and ProxyPassReverseCookiePath):
	// the first rule whose From starts the attribute's value replaces the
	// whole value with To.
	CookieDomains, CookiePaths []CookieRewrite
}

// CookieRewrite is one ProxyPassReverseCookieDomain or
// ProxyPassReverseCookiePath rule: a Set-Cookie domain or path attribute
// starting with From is replaced by To. Domains compare case-insensitively,
// paths case-sensitively, as in Apache. (Config.Rewrite is another thing:
// a hook on the outbound request.)
type CookieRewrite struct {
	From, To string
}

// Mux routes requests to balancers by path prefix, like a list of ProxyPass
// lines: the first match wins, an exclusion or no match goes to the next
// handler. It is safe for concurrent use.
type Mux struct {
	passes []ProxyPass
}

// NewMux validates passes and returns a Mux over them, in order.
func NewMux(passes ...ProxyPass) (*Mux, error) {
	for i, p := range passes {
		if !strings.HasPrefix(p.Path, "/") {
			return nil, fmt.Errorf("balancer: proxypass %d path %q: must start with '/'", i, p.Path)
		}
		if p.BalancerPath != "" && !strings.HasPrefix(p.BalancerPath, "/") {
			return nil, fmt.Errorf("balancer: proxypass %q balancer path %q: must start with '/'", p.Path, p.BalancerPath)
		}
		if p.Balancer == nil && (p.BalancerPath != "" || p.Reverse) {
			return nil, fmt.Errorf("balancer: proxypass %q: an exclusion takes no balancer path or reverse mapping", p.Path)
		}
		for _, r := range append(append([]CookieRewrite(nil), p.CookieDomains...), p.CookiePaths...) {
			if r.From == "" {
				return nil, fmt.Errorf("balancer: proxypass %q: cookie rewrite with an empty from (to %q)", p.Path, r.To)
			}
		}
	}
	return &Mux{passes: append([]ProxyPass(nil), passes...)}, nil
}

// ServeHTTP serves a matched request through its balancer and answers 404
// to the rest.
func (mx *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	mx.serve(w, r, nil)
}

// Wrap is the Mux as middleware: matched requests go to their balancer,
// excluded and unmatched ones to next (a router, a file server).
func (mx *Mux) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { mx.serve(w, r, next) })
}

func (mx *Mux) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	reqPath, code := requestPath(r)
	if code != 0 {
		http.Error(w, http.StatusText(code), code)
		return
	}
	for i := range mx.passes {
		p := &mx.passes[i]
		n := pathmatch.Alias(reqPath, p.Path)
		if n < 0 {
			continue
		}
		if p.Balancer == nil {
			break
		}
		p.Balancer.serve(w, r, p.BalancerPath+reqPath[n:], p)
		return
	}
	if next == nil {
		http.NotFound(w, r)
		return
	}
	next.ServeHTTP(w, r)
}

// requestPath returns r's URL path, decoded, normalised as Apache's core
// normalises every request before routing it: dot segments removed,
// slashes merged, escaped unreserved characters decoded (see
// pathmatch.Normalize). Apache both looks for sticky parameters in, and
// forwards, the normalised path (encoded again: see setURL). code is what
// Apache answers a path it refuses, before any routing, or 0: 400 when the
// path climbs above the root, 404 for an encoded slash or NUL byte (see
// rejectPath).
func requestPath(r *http.Request) (path string, code int) {
	esc := r.URL.EscapedPath()
	n, ok := pathmatch.Normalize(esc)
	if !ok {
		return r.URL.Path, http.StatusBadRequest
	}
	path = r.URL.Path
	if n != esc {
		if p, err := url.PathUnescape(n); err == nil {
			path = p
		}
	}
	return path, rejectPath(n, path)
}
