package httpdconf

import (
	"net/http"
	"strings"
)

// ReverseRule is a ProxyPassReverse with an absolute URL that no
// ProxyPass of the same path and target takes ("ProxyPassReverse /
// http://app1.example.com/" beside "ProxyPass / balancer://app/"): as in
// httpd, every proxied response of its server (the main server's rules
// apply in every virtual host) has its Location, Content-Location, URI
// and Destination headers rewritten by the first rule whose URL starts
// them (compared case-insensitively): the URL is replaced by Path, and
// the result made absolute with the request's scheme and Host.
type ReverseRule struct {
	Pos       Pos
	Path, URL string
	VHost     int
}

type reverseKey struct{}

// reverseScope is what a request's context carries for reverseMap: the
// rules of its server and its front end's scheme://host.
type reverseScope struct {
	rules []*ReverseRule
	front string
}

// reverseHeaders are the response headers httpd's ProxyPassReverse
// rewrites.
var reverseHeaders = []string{"Location", "Content-Location", "URI", "Destination"}

// reverseMap rewrites a member's response by the request's rules, then
// calls next (the configuration's own ModifyResponse).
func reverseMap(next func(*http.Response) error) func(*http.Response) error {
	return func(res *http.Response) error {
		if res.Request != nil {
			if sc, _ := res.Request.Context().Value(reverseKey{}).(*reverseScope); sc != nil {
				for _, h := range reverseHeaders {
					if v := res.Header.Get(h); v != "" {
						if u, ok := sc.mapBack(v); ok {
							res.Header.Set(h, u)
						}
					}
				}
			}
		}
		if next != nil {
			return next(res)
		}
		return nil
	}
}

// mapBack applies the first rule that matches url.
func (sc *reverseScope) mapBack(url string) (string, bool) {
	for _, r := range sc.rules {
		if len(url) < len(r.URL) || !strings.EqualFold(url[:len(r.URL)], r.URL) {
			continue
		}
		u := r.Path + url[len(r.URL):]
		if strings.Contains(u, "://") {
			return u, true
		}
		return sc.front + u, true // ap_construct_url
	}
	return "", false
}
