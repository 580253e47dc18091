package httpdconf

import (
	"context"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/internal/pathmatch"
)

// site is the handler of a loaded configuration: it picks the server
// (main or <VirtualHost>) a request goes to, finds its mount, evaluates
// the access rules, and serves the request through the mount's balancer,
// the balancer-manager, or next.
type site struct {
	vhosts  []VirtualHost
	port    int       // Options.VirtualHostPort
	servers []*server // [0] the main server, [i] VirtualHosts[i-1]
	secs    []Section
	manager http.Handler // nil without a manager <Location>

	managed    bool // a <Location> has SetHandler balancer-manager
	managerPos Pos

	limits  balancer.RequestLimits // Config.Limits
	headers []HeaderEdit           // Config.Headers
	reverse []ReverseRule          // Config.Reverse

	// Requests in flight through this site, so that a reload closes the
	// balancers it removed only once they have finished.
	refs      atomic.Int64
	retired   atomic.Bool
	drained   chan struct{} // closed when retired and refs is 0
	drainOnce sync.Once
}

// acquire returns the current site with a reference taken: a site a
// reload retired after it was loaded is let go and the next one taken.
func (lv *live) acquire() *site {
	for {
		st := lv.site.Load()
		st.refs.Add(1)
		if lv.site.Load() == st {
			return st
		}
		st.release()
	}
}

// release drops a reference.
func (st *site) release() {
	if st.refs.Add(-1) == 0 && st.retired.Load() {
		st.drainOnce.Do(func() { close(st.drained) })
	}
}

// retire marks st replaced (the new site is stored already); drained is
// closed once its last request has finished.
func (st *site) retire() {
	st.retired.Store(true)
	if st.refs.Load() == 0 {
		st.drainOnce.Do(func() { close(st.drained) })
	}
}

// server is the mounts one server checks, in order.
type server struct {
	index  int
	mounts []siteMount
}

// siteMount is a mount ready to serve.
type siteMount struct {
	m       *Mount
	mux     *balancer.Mux // nil for an exclusion
	name    string        // the balancer's lower-case name
	exclude bool
}

// newServer lists server i's mounts in httpd's order: the <Location>
// mappings (the main server's, then the host's), then the others (the
// main server's, then the host's).
func newServer(i int, mounts []Mount, byName map[string]*balancer.Balancer) (*server, error) {
	s := &server{index: i}
	for _, inLoc := range []bool{true, false} {
		for _, v := range []int{0, i} {
			for j := range mounts {
				m := &mounts[j]
				if m.InLocation != inLoc || m.VHost != v {
					continue
				}
				sm := siteMount{m: m, exclude: m.Balancer == ""}
				if !sm.exclude {
					sm.name = strings.ToLower(m.Balancer)
					p := balancer.ProxyPass{
						Path: m.Path, Balancer: byName[sm.name], BalancerPath: m.BalancerPath, Reverse: m.Reverse,
						CookieDomains: m.CookieDomains, CookiePaths: m.CookiePaths,
					}
					if m.Regex != "" {
						// The path is substituted before the mux sees it.
						p.Path, p.BalancerPath, p.Reverse = "/", "/", false
					}
					mux, err := balancer.NewMux(p)
					if err != nil {
						return nil, &Error{Pos: m.Pos, Directive: "ProxyPass", Msg: err.Error(), Err: err}
					}
					sm.mux = mux
				}
				s.mounts = append(s.mounts, sm)
			}
			if i == 0 {
				break
			}
		}
	}
	return s, nil
}

// match returns the first mount taking path and, for a ProxyPassMatch,
// the path to proxy.
func (s *server) match(path string) (*siteMount, string) {
	for k := range s.mounts {
		sm := &s.mounts[k]
		if sm.m.re == nil {
			if pathmatch.Alias(path, sm.m.Path) >= 0 {
				return sm, ""
			}
			continue
		}
		idx := sm.m.re.FindStringSubmatchIndex(path)
		if idx == nil {
			continue
		}
		if sm.exclude {
			return sm, ""
		}
		to := substitute(sm.m.BalancerPath, path, idx)
		if to == sm.m.BalancerPath {
			to += path // no substitution: the path is appended, as in httpd
		}
		if !strings.HasPrefix(to, "/") {
			to = "/" + to
		}
		return sm, to
	}
	return nil, ""
}

// substitute is httpd's substitution of ProxyPassMatch targets: $0..$9
// are the groups of the match ($0 the whole match), a backslash before $
// or & makes it literal; & itself is literal (2.4.71, verified).
func substitute(tmpl, s string, idx []int) string {
	var b strings.Builder
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		n := -1
		switch {
		case c == '\\' && i+1 < len(tmpl) && (tmpl[i+1] == '$' || tmpl[i+1] == '&'):
			i++
			b.WriteByte(tmpl[i])
			continue
		case c == '$' && i+1 < len(tmpl) && tmpl[i+1] >= '0' && tmpl[i+1] <= '9':
			i++
			n = int(tmpl[i] - '0')
		}
		if n < 0 {
			b.WriteByte(c)
			continue
		}
		if 2*n+1 < len(idx) && idx[2*n] >= 0 {
			b.WriteString(s[idx[2*n]:idx[2*n+1]])
		}
	}
	return b.String()
}

// front is Loaded.Handler (and Wrap's handler): it serves through the
// site the latest Reload stored.
type front struct {
	live *live
	next http.Handler // excluded and unmatched requests; nil: 404
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st := f.live.acquire()
	defer st.release()
	if code, _ := st.limits.Check(r); code != 0 {
		// As balancer.RequestLimits.Wrap answers.
		w.Header().Set("Connection", "close")
		http.Error(w, http.StatusText(code), code)
		return
	}
	st.serve(w, r, f.next)
}

// serve routes r; next takes what is neither proxied nor the manager.
func (st *site) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	path, ok := normPath(r)
	if !ok {
		http.Error(w, "invalid URL path", http.StatusBadRequest)
		return
	}
	srv := st.servers[pickHost(st.vhosts, r, st.port)]
	sm, to := srv.match(path)
	proxied := sm != nil && !sm.exclude
	name := ""
	if proxied {
		name = sm.name
	}
	if len(st.headers) > 0 {
		if es := edits(st.headers, srv.index, path, name); len(es) > 0 {
			w, r = withEdits(w, r, es)
		}
	}
	pol, manager := policy(st.secs, srv.index, path, name, proxied)
	if !pol.Allow(client(r)) {
		forbidden(w)
		return
	}
	if proxied && len(st.reverse) > 0 {
		var rules []*ReverseRule
		for i := range st.reverse {
			if v := st.reverse[i].VHost; v == 0 || v == srv.index {
				rules = append(rules, &st.reverse[i])
			}
		}
		if len(rules) > 0 {
			scheme := "http://"
			if r.TLS != nil {
				scheme = "https://"
			}
			r = r.WithContext(context.WithValue(r.Context(), reverseKey{}, &reverseScope{rules: rules, front: scheme + r.Host}))
		}
	}
	if proxied && srv.index > 0 {
		if ph := st.vhosts[srv.index-1].PreserveHost; ph != nil {
			r = r.WithContext(context.WithValue(r.Context(), preserveKey{}, *ph))
		}
	}
	switch {
	case proxied && sm.m.re != nil:
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		u.Path, u.RawPath = to, ""
		r2.URL = &u
		sm.mux.ServeHTTP(w, r2)
	case proxied:
		sm.mux.ServeHTTP(w, r)
	case manager && st.manager != nil:
		st.manager.ServeHTTP(w, r)
	case next != nil:
		next.ServeHTTP(w, r)
	default:
		http.NotFound(w, r)
	}
}

// normPath returns r's path as httpd matches it: dot segments removed,
// slashes merged, decoded. ok is false for a path above the root.
func normPath(r *http.Request) (string, bool) {
	n, ok := pathmatch.Normalize(r.URL.EscapedPath())
	if !ok {
		return "", false
	}
	p, err := url.PathUnescape(n)
	if err != nil {
		return r.URL.Path, true
	}
	return p, true
}

type preserveKey struct{}

// preserveHost applies a virtual host's ProxyPreserveHost to the outbound
// request (the balancer applied the main server's), then calls next (the
// configuration's own Rewrite).
func preserveHost(next func(*httputil.ProxyRequest)) func(*httputil.ProxyRequest) {
	return func(pr *httputil.ProxyRequest) {
		if on, ok := pr.In.Context().Value(preserveKey{}).(bool); ok {
			if on {
				pr.Out.Host = pr.In.Host
			} else {
				pr.Out.Host = ""
			}
		}
		if next != nil {
			next(pr)
		}
	}
}
