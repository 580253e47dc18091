package access

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Order is mod_access_compat's Order.
type Order int8

// Orders. The zero value is httpd's default, Deny,Allow.
const (
	DenyAllow Order = iota
	AllowDeny
	MutualFailure
)

// ParseOrder reads an Order argument as httpd does (case-insensitive, no
// spaces).
func ParseOrder(s string) (Order, bool) {
	switch strings.ToLower(s) {
	case "deny,allow":
		return DenyAllow, true
	case "allow,deny":
		return AllowDeny, true
	case "mutual-failure":
		return MutualFailure, true
	}
	return 0, false
}

// From is one "Allow from" or "Deny from" argument: all clients, a
// network, or a domain matched on the double-reverse checked host name.
type From struct {
	All    bool
	Net    netip.Prefix
	Domain string
}

// match reports whether the client is taken by f.
func (f From) match(c *Client) bool {
	switch {
	case f.All:
		return true
	case f.Domain != "":
		h := c.Host()
		return h != "" && InDomain(f.Domain, h)
	}
	return f.Net.Contains(c.Peer.Unmap())
}

// Compat is the Order, Allow from and Deny from of one section
// (mod_access_compat).
type Compat struct {
	Order       Order
	Allow, Deny []From
}

// Allowed evaluates the rules as mod_access_compat's check_dir_access.
func (a *Compat) Allowed(c *Client) bool {
	in := func(fs []From) bool {
		for _, f := range fs {
			if f.match(c) {
				return true
			}
		}
		return false
	}
	switch a.Order {
	case AllowDeny:
		return in(a.Allow) && !in(a.Deny)
	case MutualFailure:
		return in(a.Allow) && !in(a.Deny)
	}
	return in(a.Allow) || !in(a.Deny)
}

// ParseFrom reads one Allow from / Deny from argument: "all", an address
// in httpd's syntax (see [ParseNetwork]), or else a domain name. A word
// that looks like an address but is not one is an error.
func ParseFrom(w string) (From, error) {
	if strings.EqualFold(w, "all") {
		return From{All: true}, nil
	}
	if looksLikeIP(w) || strings.Contains(w, "/") {
		n, err := ParseNetwork(w)
		if err != nil {
			return From{}, err
		}
		return From{Net: n}, nil
	}
	return From{Domain: w}, nil
}

// looksLikeIP reports whether w is made of digits and dots only, or has a
// colon (an IPv6 address).
func looksLikeIP(w string) bool {
	if strings.Contains(w, ":") {
		return true
	}
	for i := 0; i < len(w); i++ {
		if (w[i] < '0' || w[i] > '9') && w[i] != '.' {
			return false
		}
	}
	return w != ""
}

// ParseNetwork reads an address as httpd's apr_ipsubnet_create does: a
// full IPv4 or IPv6 address, a partial IPv4 address ("10.8.2." or "10.8.2"
// is 10.8.2.0/24), an address with a netmask ("10.1.0.0/255.255.0.0") or
// with a prefix length ("10.1.0.0/16", "2001:db8::/32").
func ParseNetwork(w string) (netip.Prefix, error) {
	addr, mask, hasMask := strings.Cut(w, "/")
	if !hasMask {
		if a, err := netip.ParseAddr(addr); err == nil && a.Zone() == "" {
			a = a.Unmap()
			return netip.PrefixFrom(a, a.BitLen()), nil
		}
		return partialIPv4(w)
	}
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q: an IP address was expected before '/'", w)
	}
	a = a.Unmap()
	bits, err := strconv.Atoi(mask)
	if err != nil {
		m, err2 := netip.ParseAddr(mask)
		if err2 != nil || !m.Is4() || !a.Is4() {
			return netip.Prefix{}, fmt.Errorf("%q: the mask must be a prefix length or an IPv4 netmask", w)
		}
		if bits = maskBits(m.As4()); bits < 0 {
			return netip.Prefix{}, fmt.Errorf("%q: netmask %s is not contiguous", w, mask)
		}
	}
	if bits < 0 || bits > a.BitLen() || mask == "" || mask[0] == '+' || mask[0] == '-' {
		return netip.Prefix{}, fmt.Errorf("%q: prefix length %s out of range", w, mask)
	}
	return netip.PrefixFrom(a, bits).Masked(), nil
}

// partialIPv4 reads httpd's legacy network syntax: one to four decimal
// octets separated by dots, with an optional trailing dot.
func partialIPv4(w string) (netip.Prefix, error) {
	s := strings.TrimSuffix(w, ".")
	parts := strings.Split(s, ".")
	if s == "" || len(parts) > 4 {
		return netip.Prefix{}, fmt.Errorf("%q: not an IP address or network", w)
	}
	var b [4]byte
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || p[0] == '+' || p[0] == '-' || n > 255 {
			return netip.Prefix{}, fmt.Errorf("%q: not an IP address or network", w)
		}
		b[i] = byte(n)
	}
	return netip.PrefixFrom(netip.AddrFrom4(b), 8*len(parts)), nil
}

// maskBits returns the prefix length of a contiguous netmask, or -1.
func maskBits(m [4]byte) int {
	v := uint32(m[0])<<24 | uint32(m[1])<<16 | uint32(m[2])<<8 | uint32(m[3])
	n := 0
	for v&0x80000000 != 0 {
		n++
		v <<= 1
	}
	if v != 0 {
		return -1
	}
	return n
}

// Policy is what applies to one request after the sections that match it
// were merged: the Require tree, the Order/Allow/Deny rules and Satisfy.
// The zero Policy grants every client.
type Policy struct {
	// Require is the Require tree; nil when no Require applies.
	Require Rule
	// Compat is the Order/Allow/Deny rules; nil when none apply.
	Compat *Compat
	// SatisfyAny is "Satisfy Any": the Order/Allow/Deny rules alone may
	// grant access.
	SatisfyAny bool
}

// Allow reports whether httpd serves the client, combining the two
// modules as its request processing does for a request without
// authentication: with Satisfy All both must let the client in; with
// Satisfy Any the Order/Allow/Deny rules letting it in suffice (no such
// rules let every client in, as mod_access_compat does). No Require lets
// every client in; a neutral Require tree does not.
func (p *Policy) Allow(c *Client) bool {
	compat := p.Compat == nil || p.Compat.Allowed(c)
	if p.SatisfyAny && compat {
		return true
	}
	if !p.SatisfyAny && !compat {
		return false
	}
	return p.Require == nil || p.Require.Eval(c) == Granted
}
