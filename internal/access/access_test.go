package access

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func peer(s string) *Client { return &Client{Peer: netip.MustParseAddr(s)} }

func nets(t *testing.T, ws ...string) IP {
	var r IP
	for _, w := range ws {
		n, err := ParseNetwork(w)
		require.NoError(t, err, w)
		r.Nets = append(r.Nets, n)
	}
	return r
}

func TestParseNetwork(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"10.8.2.", "10.8.2.0/24"},
		{"10.8.2", "10.8.2.0/24"},
		{"10", "10.0.0.0/8"},
		{"10.1.2.3", "10.1.2.3/32"},
		{"10.1.0.0/16", "10.1.0.0/16"},
		{"10.1.2.3/255.255.0.0", "10.1.0.0/16"},
		{"2001:db8::/32", "2001:db8::/32"},
		{"::1", "::1/128"},
		{"::ffff:10.0.0.1", "10.0.0.1/32"},
	} {
		n, err := ParseNetwork(c.in)
		if assert.NoError(t, err, c.in) {
			assert.Equal(t, c.want, n.String(), c.in)
		}
	}
	for _, bad := range []string{"10.1.2.256", "10..1", "1.2.3.4.5", "10.1.0.0/33", "10.1.0.0/255.0.255.0", "x/8", "10.1.0.0/-1", ""} {
		_, err := ParseNetwork(bad)
		assert.Error(t, err, bad)
	}
	f, err := ParseFrom("example.org")
	require.NoError(t, err)
	assert.Equal(t, "example.org", f.Domain)
	_, err = ParseFrom("10.1.2.300")
	assert.Error(t, err, "looks like an address: refused, not taken as a domain")
}

// The section logic of mod_authz_core: neutral results do not count.
func TestRequireTree(t *testing.T) {
	n := nets(t, "10.0.0.0/8")
	not9 := Not{Rule: nets(t, "10.0.0.9")}
	for _, c := range []struct {
		name string
		rule Rule
		peer string
		want Result
	}{
		{"ip in", n, "10.1.1.1", Granted},
		{"ip out", n, "192.0.2.1", Denied},
		{"v4-mapped peer", n, "::ffff:10.1.1.1", Granted},
		{"not: match denies", not9, "10.0.0.9", Denied},
		{"not: no match is neutral", not9, "10.0.0.8", Neutral},
		{"all with a neutral grants", AllOf{All{Granted: true}, not9}, "10.0.0.8", Granted},
		{"all with a denial", AllOf{All{Granted: true}, not9}, "10.0.0.9", Denied},
		{"all: any denial", AllOf{n, nets(t, "10.1.0.0/16")}, "10.2.0.1", Denied},
		{"any: one grant", AnyOf{nets(t, "192.0.2.0/24"), n}, "10.2.0.1", Granted},
		{"any: all denied", AnyOf{nets(t, "192.0.2.0/24")}, "10.2.0.1", Denied},
		{"none: a grant denies", NoneOf{n}, "10.2.0.1", Denied},
		{"none: no grant is neutral", NoneOf{n}, "192.0.2.1", Neutral},
		{"local: loopback", Local{}, "127.3.4.5", Granted},
		{"local: ::1", Local{}, "::1", Granted},
		{"local: other", Local{}, "10.0.0.1", Denied},
		{"all denied", All{}, "127.0.0.1", Denied},
	} {
		assert.Equal(t, c.want, c.rule.Eval(peer(c.peer)), c.name)
	}
	c := peer("10.0.0.5")
	c.Local = netip.MustParseAddr("10.0.0.5")
	assert.Equal(t, Granted, Local{}.Eval(c), "a peer on the server's own address is local")
}

// check evaluates check_dir_access's three orders.
func TestCompat(t *testing.T) {
	all := From{All: true}
	net := func(s string) From { f, _ := ParseFrom(s); return f }
	for _, c := range []struct {
		name string
		c    Compat
		peer string
		want bool
	}{
		{"deny,allow default allows", Compat{}, "10.0.0.1", true},
		{"deny all, allow net: in", Compat{Deny: []From{all}, Allow: []From{net("10.8.2.")}}, "10.8.2.7", true},
		{"deny all, allow net: out", Compat{Deny: []From{all}, Allow: []From{net("10.8.2.")}}, "10.8.3.7", false},
		{"allow,deny default denies", Compat{Order: AllowDeny}, "10.0.0.1", false},
		{"allow,deny: deny wins", Compat{Order: AllowDeny, Allow: []From{all}, Deny: []From{net("10.0.0.1")}}, "10.0.0.1", false},
		{"allow,deny: allowed", Compat{Order: AllowDeny, Allow: []From{all}, Deny: []From{net("10.0.0.1")}}, "10.0.0.2", true},
		{"mutual-failure", Compat{Order: MutualFailure, Allow: []From{net("10")}, Deny: []From{net("10.1")}}, "10.1.0.1", false},
	} {
		assert.Equal(t, c.want, c.c.Allowed(peer(c.peer)), c.name)
	}
}

// Satisfy combines the two modules as httpd's request processing does.
func TestPolicy(t *testing.T) {
	deny := &Compat{Order: AllowDeny}
	allow := &Compat{}
	granted, denied := AnyOf{All{Granted: true}}, AnyOf{All{}}
	for _, c := range []struct {
		name string
		p    Policy
		want bool
	}{
		{"nothing", Policy{}, true},
		{"all: compat denies", Policy{Compat: deny, Require: granted}, false},
		{"all: require denies", Policy{Compat: allow, Require: denied}, false},
		{"any: compat allows", Policy{Compat: allow, Require: denied, SatisfyAny: true}, true},
		{"any: require grants", Policy{Compat: deny, Require: granted, SatisfyAny: true}, true},
		{"any: no Require lets everyone in", Policy{Compat: deny, SatisfyAny: true}, true},
		{"any: both deny", Policy{Compat: deny, Require: denied, SatisfyAny: true}, false},
		{"neutral tree denies", Policy{Require: AnyOf{NoneOf{All{}}}}, false},
	} {
		assert.Equal(t, c.want, c.p.Allow(peer("10.0.0.1")), c.name)
	}
}

type fakeDNS struct {
	names map[string][]string
	addrs map[string][]netip.Addr
}

func (f fakeDNS) LookupAddr(_ context.Context, a string) ([]string, error) {
	if n, ok := f.names[a]; ok {
		return n, nil
	}
	return nil, errors.New("no name")
}

func (f fakeDNS) LookupNetIP(_ context.Context, _, h string) ([]netip.Addr, error) {
	if a, ok := f.addrs[h]; ok {
		return a, nil
	}
	return nil, errors.New("no address")
}

// Host rules need the double-reverse lookup to confirm the name.
func TestHost(t *testing.T) {
	dns := fakeDNS{
		names: map[string][]string{"10.0.0.1": {"web.good.com."}, "10.0.0.2": {"spoof.good.com."}, "10.0.0.3": {"a.nogood.com."}},
		addrs: map[string][]netip.Addr{"web.good.com": {netip.MustParseAddr("10.0.0.1")}, "spoof.good.com": {netip.MustParseAddr("10.9.9.9")}, "a.nogood.com": {netip.MustParseAddr("10.0.0.3")}},
	}
	r := Host{Domains: []string{"good.com"}}
	for peerIP, want := range map[string]Result{"10.0.0.1": Granted, "10.0.0.2": Denied, "10.0.0.3": Denied, "10.0.0.4": Denied} {
		c := peer(peerIP)
		c.Resolver = dns
		assert.Equal(t, want, r.Eval(c), peerIP)
	}
	assert.True(t, InDomain(".com", "a.good.com"))
	assert.True(t, InDomain("GOOD.com", "good.COM"))
	assert.False(t, InDomain("good.com", "nogood.com"))
}
