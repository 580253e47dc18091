package httpdconf

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// VirtualHost is one <VirtualHost> section: the addresses and names its
// requests are matched by.
type VirtualHost struct {
	// Pos is where the section was opened.
	Pos Pos
	// Addrs are the section's addresses as written ("*:80",
	// "_default_:443", "10.0.0.1:8080", "[::1]"); an address without a
	// port takes any port.
	Addrs []string
	// ServerName is the section's ServerName without scheme or port (the
	// main server's when the section has none); Aliases are its
	// ServerAlias names, with * and ? wildcards.
	ServerName string
	Aliases    []string
	// PreserveHost is the section's ProxyPreserveHost: nil means the main
	// server's (the balancers' Config.PreserveHost).
	PreserveHost *bool

	addrs []vaddr
}

// vaddr is one parsed <VirtualHost> address.
type vaddr struct {
	ip   netip.Addr // invalid: any address (* or _default_)
	port int        // 0: any port
}

// parseVAddrs reads a section's addresses. Host names are refused: httpd
// resolves them once at startup, which this loader does not do.
func parseVAddrs(vh *VirtualHost) error {
	for _, a := range vh.Addrs {
		host, port := a, ""
		if strings.HasPrefix(a, "[") {
			i := strings.IndexByte(a, ']')
			if i < 0 {
				return fmt.Errorf("address %q: missing ']'", a)
			}
			host, port = a[1:i], strings.TrimPrefix(a[i+1:], ":")
		} else if i := strings.LastIndexByte(a, ':'); i >= 0 {
			host, port = a[:i], a[i+1:]
		}
		var v vaddr
		switch {
		case host == "*" || strings.EqualFold(host, "_default_"):
		default:
			ip, err := netip.ParseAddr(host)
			if err != nil {
				return fmt.Errorf("address %q: not an IP address, * or _default_ (httpd resolves host names once at startup; write the address)", a)
			}
			v.ip = ip.Unmap()
		}
		if port != "" && port != "*" {
			n, err := strconv.Atoi(port)
			if err != nil || n < 1 || n > 65535 {
				return fmt.Errorf("address %q: bad port %q", a, port)
			}
			v.port = n
		}
		vh.addrs = append(vh.addrs, v)
	}
	return nil
}

// matchAddr reports whether the section listens on ip:port, exactly by
// address (exact) or by a wildcard address (any).
func (vh *VirtualHost) matchAddr(ip netip.Addr, port int) (exact, any bool) {
	for _, a := range vh.addrs {
		if a.port != 0 && a.port != port {
			continue
		}
		if !a.ip.IsValid() {
			any = true
		} else if a.ip == ip {
			exact = true
		}
	}
	return exact, any
}

// matchName reports whether host (lower-case, without port) is the
// section's ServerName or one of its aliases.
func (vh *VirtualHost) matchName(host string) bool {
	if vh.ServerName != "" && strings.EqualFold(vh.ServerName, host) {
		return true
	}
	for _, a := range vh.Aliases {
		if wildMatch(strings.ToLower(a), host) {
			return true
		}
	}
	return false
}

// wildMatch matches s against a pattern where * is any run of bytes and
// ? any one byte.
func wildMatch(pat, s string) bool {
	star, mark := -1, 0
	i, j := 0, 0
	for j < len(s) {
		switch {
		case i < len(pat) && (pat[i] == '?' || pat[i] == s[j]):
			i, j = i+1, j+1
		case i < len(pat) && pat[i] == '*':
			star, mark = i, j
			i++
		case star >= 0:
			i, mark = star+1, mark+1
			j = mark
		default:
			return false
		}
	}
	for i < len(pat) && pat[i] == '*' {
		i++
	}
	return i == len(pat)
}

// pickHost returns the server a request goes to, as httpd picks it: the
// <VirtualHost> sections listening on the connection's local address and
// port (those naming the address exactly first, else those with a
// wildcard address), then among them the first whose ServerName or
// ServerAlias is the request's host, else the first of them. With none
// listening there, the main server (0). port, if not 0, replaces the
// connection's local port.
func pickHost(vhosts []VirtualHost, r *http.Request, port int) int {
	if len(vhosts) == 0 {
		return 0
	}
	var ip netip.Addr
	lport := 0
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ap, err := netip.ParseAddrPort(la.String()); err == nil {
			ip, lport = ap.Addr().Unmap(), int(ap.Port())
		}
	}
	if port != 0 {
		lport = port
	}
	var exact, wild []int
	for i := range vhosts {
		e, a := vhosts[i].matchAddr(ip, lport)
		if e {
			exact = append(exact, i)
		} else if a {
			wild = append(wild, i)
		}
	}
	set := exact
	if len(set) == 0 {
		set = wild
	}
	if len(set) == 0 {
		return 0
	}
	host := strings.ToLower(r.Host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(host, ".")
	for _, i := range set {
		if host != "" && vhosts[i].matchName(host) {
			return i + 1
		}
	}
	return set[0] + 1
}
