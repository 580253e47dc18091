package balancer

import (
	"net/http"
	"strings"
)

// reverseHeaders are the response headers ProxyPassReverse rewrites.
var reverseHeaders = [...]string{"Location", "Content-Location", "Uri", "Destination"}

// reverseMap rewrites a member's response headers back to the front end,
// as Apache's ProxyPassReverse, ProxyPassReverseCookieDomain and
// ProxyPassReverseCookiePath do for the mount p.
func (st *requestState) reverseMap(res *http.Response, in *http.Request, p *ProxyPass) {
	if p.Reverse {
		for _, h := range reverseHeaders {
			vs := res.Header[h]
			for i, v := range vs {
				if nv, ok := st.reverseURL(v, in, p); ok {
					vs[i] = nv
				}
			}
		}
	}
	if len(p.CookieDomains) == 0 && len(p.CookiePaths) == 0 {
		return
	}
	vs := res.Header["Set-Cookie"]
	for i, v := range vs {
		vs[i] = rewriteCookie(v, p.CookieDomains, p.CookiePaths)
	}
}

// reverseURL maps a URL naming any member of the balancer (not only the one
// that answered) and the mount's balancer path to the front end: the
// member's URL (compared case-insensitively, one trailing slash ignored
// when there is a balancer path) followed by the balancer path (compared
// exactly) becomes p.Path, made absolute with the request's scheme and
// host. No double slash is produced where the two meet.
func (st *requestState) reverseURL(v string, in *http.Request, p *ProxyPass) (string, bool) {
	for _, m := range st.snap.members {
		base := m.name
		if p.BalancerPath != "" {
			base = strings.TrimSuffix(base, "/")
		}
		if len(v) < len(base) || !strings.EqualFold(v[:len(base)], base) {
			continue
		}
		rest := v[len(base):]
		if !strings.HasPrefix(rest, p.BalancerPath) {
			continue
		}
		rest = rest[len(p.BalancerPath):]
		front := p.Path
		if strings.HasSuffix(front, "/") && strings.HasPrefix(rest, "/") {
			rest = rest[1:]
		}
		scheme := "http"
		if in.TLS != nil {
			scheme = "https"
		}
		return scheme + "://" + in.Host + front + rest, true
	}
	return "", false
}

// rewriteCookie rewrites the domain and path attributes of one Set-Cookie
// value: the first rule whose From starts the value replaces the whole
// value with its To. Everything else is kept byte for byte.
func rewriteCookie(v string, domains, paths []CookieRewrite) string {
	var b strings.Builder
	changed := false
	rest := v
	for first := true; ; first = false {
		part, next, more := strings.Cut(rest, ";")
		if !first {
			name, val, ok := strings.Cut(part, "=")
			key := strings.ToLower(strings.TrimSpace(name))
			if ok && (key == "domain" || key == "path") {
				lead := val[:len(val)-len(strings.TrimLeft(val, " \t"))]
				trail := val[len(strings.TrimRight(val, " \t")):]
				cur := strings.TrimSpace(val)
				rules, fold := paths, false
				if key == "domain" {
					rules, fold = domains, true
				}
				for _, r := range rules {
					if hasPrefix(cur, r.From, fold) {
						part = name + "=" + lead + r.To + trail
						changed = true
						break
					}
				}
			}
		}
		if !first {
			b.WriteByte(';')
		}
		b.WriteString(part)
		if !more {
			break
		}
		rest = next
	}
	if !changed {
		return v
	}
	return b.String()
}

func hasPrefix(s, prefix string, fold bool) bool {
	if len(s) < len(prefix) {
		return false
	}
	if fold {
		return strings.EqualFold(s[:len(prefix)], prefix)
	}
	return s[:len(prefix)] == prefix
}
