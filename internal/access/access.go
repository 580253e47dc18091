// Package access evaluates Apache httpd's host-based access rules on a
// client's address: mod_authz_core's Require trees (Require ip, host,
// local, all granted, all denied, their negations, <RequireAll>,
// <RequireAny> and <RequireNone>), mod_access_compat's Order, Allow from
// and Deny from, and the core's Satisfy, combined as httpd combines them
// for a request without authentication.
//
// The package knows nothing of configuration files: the loader builds
// the rules ([ParseNetworks] reads httpd's address syntax) and merges the
// sections that apply to a request into one [Policy]. It imports only the
// standard library.
package access

import (
	"context"
	"net"
	"net/netip"
	"strings"
)

// Result is a rule's outcome, as mod_authz_core's authz_status: a rule
// that does not apply to the client is Neutral.
type Result int8

// Results.
const (
	Neutral Result = iota
	Granted
	Denied
)

// String returns "neutral", "granted" or "denied".
func (r Result) String() string {
	switch r {
	case Granted:
		return "granted"
	case Denied:
		return "denied"
	}
	return "neutral"
}

// Resolver looks up the names of an address and the addresses of a name,
// for host rules (*net.Resolver satisfies it).
type Resolver interface {
	LookupAddr(ctx context.Context, addr string) ([]string, error)
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Client is the request's client as the rules see it. Create one per
// request; it caches the host name lookup and is not safe for concurrent
// use.
type Client struct {
	// Ctx bounds host name lookups; nil means context.Background().
	Ctx context.Context
	// Peer is the connection's peer address.
	Peer netip.Addr
	// Local is the connection's local address (Require local also grants
	// a peer connecting to the server's own address); may be zero.
	Local netip.Addr
	// Resolver resolves host rules; nil means net.DefaultResolver.
	Resolver Resolver

	host     string
	hostDone bool
}

// Host returns the peer's host name, double-reverse checked as httpd's
// REMOTE_DOUBLE_REV: the first name the address resolves to, kept only if
// that name resolves back to the address. It returns "" when there is no
// such name.
func (c *Client) Host() string {
	if c.hostDone {
		return c.host
	}
	c.hostDone = true
	ctx := c.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	var res Resolver = net.DefaultResolver
	if c.Resolver != nil {
		res = c.Resolver
	}
	peer := c.Peer.Unmap()
	names, err := res.LookupAddr(ctx, peer.String())
	if err != nil || len(names) == 0 {
		return ""
	}
	name := strings.TrimSuffix(names[0], ".")
	addrs, err := res.LookupNetIP(ctx, "ip", name)
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if a.Unmap() == peer {
			c.host = name
			return name
		}
	}
	return ""
}

// Rule is one node of a Require tree.
type Rule interface {
	// Eval returns the rule's outcome for the client.
	Eval(c *Client) Result
}

// All is "Require all granted" (Granted true) or "Require all denied".
type All struct{ Granted bool }

// Eval grants or denies every client.
func (a All) Eval(*Client) Result {
	if a.Granted {
		return Granted
	}
	return Denied
}

// IP is "Require ip ...": granted when the peer is in one of the
// networks, else denied.
type IP struct{ Nets []netip.Prefix }

// Eval matches the peer (an IPv4-mapped IPv6 peer as IPv4).
func (r IP) Eval(c *Client) Result {
	if inNets(r.Nets, c.Peer) {
		return Granted
	}
	return Denied
}

// Host is "Require host ...": granted when the peer's double-reverse
// checked name is one of the domains or inside one, else denied.
type Host struct{ Domains []string }

// Eval resolves the peer's name once per Client.
func (r Host) Eval(c *Client) Result {
	name := c.Host()
	if name == "" {
		return Denied
	}
	for _, d := range r.Domains {
		if InDomain(d, name) {
			return Granted
		}
	}
	return Denied
}

// Local is "Require local": granted for a loopback peer (127.0.0.0/8,
// ::1) or a peer connecting from the server's own address.
type Local struct{}

// Eval checks the peer.
func (Local) Eval(c *Client) Result {
	p := c.Peer.Unmap()
	if p.IsLoopback() || (c.Local.IsValid() && p == c.Local.Unmap()) {
		return Granted
	}
	return Denied
}

// Not is "Require not ...": a granting rule denies, anything else is
// neutral.
type Not struct{ Rule Rule }

// Eval negates as mod_authz_core does.
func (n Not) Eval(c *Client) Result {
	if n.Rule.Eval(c) == Granted {
		return Denied
	}
	return Neutral
}

// AllOf is <RequireAll>: denied if any rule denies, else granted if any
// grants; neutral rules do not count ("Require all granted" with "Require
// not ip X" grants everyone but X). All neutral is neutral.
type AllOf []Rule

// Eval stops at the first denial.
func (rs AllOf) Eval(c *Client) Result {
	return combine(rs, c, Denied)
}

// AnyOf is <RequireAny> (and the implicit section of several Require
// lines): granted if any rule grants, else denied if any denies; neutral
// rules do not count. All neutral is neutral.
type AnyOf []Rule

// Eval stops at the first grant.
func (rs AnyOf) Eval(c *Client) Result {
	return combine(rs, c, Granted)
}

// combine is mod_authz_core's section logic: the last result that is not
// neutral, stopping at the first that equals stop.
func combine(rs []Rule, c *Client, stop Result) Result {
	res := Neutral
	for _, r := range rs {
		if v := r.Eval(c); v != Neutral {
			res = v
			if v == stop {
				break
			}
		}
	}
	return res
}

// NoneOf is <RequireNone>: denied if any rule grants, else neutral.
type NoneOf []Rule

// Eval stops at the first grant.
func (rs NoneOf) Eval(c *Client) Result {
	for _, r := range rs {
		if r.Eval(c) == Granted {
			return Denied
		}
	}
	return Neutral
}

// InDomain reports whether host is domain or a name inside it, compared
// case-insensitively on whole labels ("good.com" does not take
// "nogood.com"; a domain starting with '.' takes any suffix match).
func InDomain(domain, host string) bool {
	if len(host) < len(domain) || domain == "" {
		return false
	}
	if !strings.EqualFold(host[len(host)-len(domain):], domain) {
		return false
	}
	return len(host) == len(domain) || domain[0] == '.' || host[len(host)-len(domain)-1] == '.'
}

func inNets(nets []netip.Prefix, a netip.Addr) bool {
	a = a.Unmap()
	for _, n := range nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}
