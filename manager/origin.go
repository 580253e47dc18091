package manager

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// hostList is Config.Hosts, checked: lower-case names, "*.suffix"
// patterns as ".suffix", and whether any host goes.
type hostList struct {
	any      bool
	names    map[string]bool
	suffixes []string // ".example.com"
	loopback bool     // the default: loopback addresses and localhost
}

func parseHosts(hosts []string) (hostList, error) {
	hl := hostList{names: map[string]bool{}}
	if len(hosts) == 0 {
		hl.loopback = true
		return hl, nil
	}
	for _, h := range hosts {
		n := strings.ToLower(strings.TrimSpace(h))
		switch {
		case n == "*":
			hl.any = true
		case strings.HasPrefix(n, "*."):
			suffix := strings.TrimSuffix(n[1:], ".")
			if len(suffix) < 2 || strings.ContainsAny(suffix, "*:/ ") {
				return hl, fmt.Errorf("balancer: manager: hosts %q: want a host name, an address, *.domain or *", h)
			}
			hl.suffixes = append(hl.suffixes, suffix)
		default:
			n = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSuffix(n, "."), "["), "]")
			if n == "" || strings.ContainsAny(n, "*/ ") || (strings.Contains(n, ":") && !isIP(n)) {
				return hl, fmt.Errorf("balancer: manager: hosts %q: want a host name or address without a port, *.domain or *", h)
			}
			hl.names[n] = true
		}
	}
	return hl, nil
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// hostOf returns a Host header's host, lower-case, without port, brackets
// or a final dot.
func hostOf(hostport string) string {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// allows reports whether the manager answers for the request's Host.
func (hl hostList) allows(hostport string) bool {
	if hl.any {
		return true
	}
	h := hostOf(hostport)
	if h == "" {
		return false
	}
	if hl.loopback {
		if h == "localhost" {
			return true
		}
		a, err := netip.ParseAddr(h)
		return err == nil && a.Unmap().IsLoopback()
	}
	if hl.names[h] {
		return true
	}
	for _, s := range hl.suffixes {
		if strings.HasSuffix(h, s) {
			return true
		}
	}
	return false
}

// checkHost refuses a request for a host the manager does not answer for.
func (mg *Manager) checkHost(r *http.Request) error {
	if mg.hosts.allows(r.Host) {
		return nil
	}
	want := "loopback addresses and localhost"
	if !mg.hosts.loopback {
		want = "the names of its Hosts setting"
	}
	return fmt.Errorf("balancer: manager: Host %q: this manager answers only for %s", r.Host, want)
}

// mgrOrigin returns an origin as "scheme://host[:port]", lower-case,
// without a default port.
func mgrOrigin(o string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(o))
	if err != nil {
		return "", err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("scheme %q: want http or https", u.Scheme)
	}
	if u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("want scheme://host[:port] and nothing else")
	}
	return strings.ToLower(u.Scheme) + "://" + mgrHost(u.Scheme, u.Host), nil
}

func mgrHost(scheme, host string) string {
	host = strings.ToLower(host)
	switch {
	case scheme == "http" && strings.HasSuffix(host, ":80"):
		return strings.TrimSuffix(host, ":80")
	case scheme == "https" && strings.HasSuffix(host, ":443"):
		return strings.TrimSuffix(host, ":443")
	}
	return host
}

// ownOrigin is the request's own origin: its scheme (https when it came
// over TLS) and its Host.
func ownOrigin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + mgrHost(scheme, r.Host)
}

// sameOrigin checks that a change comes from a page of this manager. A
// browser sends Sec-Fetch-Site (recent ones), Origin (on every POST) or at
// least Referer; the first present decides. A request with none of them
// does not come from a browser, so cross-site request forgery does not
// apply to it (the nonce is still required). A page of another site that
// DNS rebinding made "same-origin" names its own host, which checkHost
// refuses before this check.
func (mg *Manager) sameOrigin(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		if site == "same-origin" || site == "none" {
			return nil
		}
		if n, err := mgrOrigin(origin); err == nil && mg.trusted[n] {
			return nil
		}
		return fmt.Errorf("balancer: manager: Sec-Fetch-Site %q: changes must come from the manager's own page", site)
	}
	if origin != "" {
		if mg.originMatches(origin, r) {
			return nil
		}
		return fmt.Errorf("balancer: manager: Origin %q: not this origin (%q) nor a trusted origin", origin, ownOrigin(r))
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		if mg.originMatches(ref, r) {
			return nil
		}
		return fmt.Errorf("balancer: manager: Referer %q: not this origin (%q) nor a trusted origin", ref, ownOrigin(r))
	}
	return nil
}

// originMatches reports whether the URL (an Origin or a Referer) has the
// request's own origin, scheme included, or a trusted one.
func (mg *Manager) originMatches(raw string, r *http.Request) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	o := u.Scheme + "://" + mgrHost(u.Scheme, u.Host)
	return mg.trusted[o] || o == ownOrigin(r)
}
