package balancer

import (
	"crypto/tls"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The X-Forwarded-* headers under both policies: Apache's (append to
// whatever the client sent; X-Forwarded-Proto and Forwarded pass) and the
// trusted-proxy policy (believe only listed networks, replace otherwise).
// out starts as ReverseProxy leaves it: without X-Forwarded-For, -Host,
// -Proto, Forwarded and hop-by-hop headers.
func TestForwardedHeaders(t *testing.T) {
	cases := []struct {
		name    string
		trusted []string // nil: Apache's policy
		remote  string
		tls     bool
		in      http.Header
		want    http.Header
	}{
		{name: "apache, nothing prior", remote: "192.0.2.7:51000",
			want: http.Header{"X-Forwarded-For": {"192.0.2.7"}, "X-Forwarded-Host": {"front.example"}, "X-Forwarded-Server": {"gw"}}},
		{name: "apache, ipv6", remote: "[2001:db8::1]:443",
			want: http.Header{"X-Forwarded-For": {"2001:db8::1"}, "X-Forwarded-Host": {"front.example"}, "X-Forwarded-Server": {"gw"}}},
		{name: "apache, remote without port", remote: "192.0.2.7",
			want: http.Header{"X-Forwarded-Host": {"front.example"}, "X-Forwarded-Server": {"gw"}}},
		{name: "apache, appended", remote: "127.0.0.1:1",
			in: http.Header{"X-Forwarded-For": {"1.2.3.4", "5.6.7.8"}, "X-Forwarded-Host": {"orig"}, "X-Forwarded-Server": {"edge"},
				"X-Forwarded-Proto": {"https"}, "Forwarded": {"for=1.2.3.4"}},
			want: http.Header{"X-Forwarded-For": {"1.2.3.4, 5.6.7.8, 127.0.0.1"}, "X-Forwarded-Host": {"orig, front.example"},
				"X-Forwarded-Server": {"edge, gw"}, "X-Forwarded-Proto": {"https"}, "Forwarded": {"for=1.2.3.4"}}},
		{name: "apache, hop-by-hop prior dropped", remote: "127.0.0.1:1",
			in:   http.Header{"X-Forwarded-For": {"1.2.3.4"}, "Connection": {"keep-alive, x-forwarded-for"}},
			want: http.Header{"X-Forwarded-For": {"127.0.0.1"}, "X-Forwarded-Host": {"front.example"}, "X-Forwarded-Server": {"gw"}}},
		{name: "apache, proxy-authorization kept", remote: "127.0.0.1:1",
			in: http.Header{"Proxy-Authorization": {"Basic YTpi"}},
			want: http.Header{"X-Forwarded-For": {"127.0.0.1"}, "X-Forwarded-Host": {"front.example"}, "X-Forwarded-Server": {"gw"},
				"Proxy-Authorization": {"Basic YTpi"}}},
		{name: "policy, trusted peer appended", trusted: []string{"10.0.0.0/8"}, remote: "10.1.2.3:1",
			in: http.Header{"X-Forwarded-For": {"1.2.3.4"}, "X-Forwarded-Proto": {"https"}},
			want: http.Header{"X-Forwarded-For": {"1.2.3.4, 10.1.2.3"}, "X-Forwarded-Host": {"front.example"},
				"X-Forwarded-Server": {"gw"}, "X-Forwarded-Proto": {"https"}}},
		{name: "policy, trusted single address, proto set", trusted: []string{"10.1.2.3"}, remote: "10.1.2.3:1",
			want: http.Header{"X-Forwarded-For": {"10.1.2.3"}, "X-Forwarded-Host": {"front.example"},
				"X-Forwarded-Server": {"gw"}, "X-Forwarded-Proto": {"http"}}},
		{name: "policy, untrusted peer replaced", trusted: []string{"10.0.0.0/8"}, remote: "192.0.2.9:1", tls: true,
			in: http.Header{"X-Forwarded-For": {"1.2.3.4"}, "X-Forwarded-Host": {"evil"}, "X-Forwarded-Server": {"evil"},
				"X-Forwarded-Proto": {"http"}, "Forwarded": {"for=1.2.3.4"}},
			want: http.Header{"X-Forwarded-For": {"192.0.2.9"}, "X-Forwarded-Host": {"front.example"},
				"X-Forwarded-Server": {"gw"}, "X-Forwarded-Proto": {"https"}}},
		{name: "policy, empty list trusts nobody", trusted: []string{}, remote: "127.0.0.1:1",
			in: http.Header{"X-Forwarded-For": {"1.2.3.4"}},
			want: http.Header{"X-Forwarded-For": {"127.0.0.1"}, "X-Forwarded-Host": {"front.example"},
				"X-Forwarded-Server": {"gw"}, "X-Forwarded-Proto": {"http"}}},
		{name: "policy, ipv4-mapped peer", trusted: []string{"127.0.0.0/8"}, remote: "[::ffff:127.0.0.1]:1",
			in: http.Header{"X-Forwarded-For": {"1.2.3.4"}},
			want: http.Header{"X-Forwarded-For": {"1.2.3.4, ::ffff:127.0.0.1"}, "X-Forwarded-Host": {"front.example"},
				"X-Forwarded-Server": {"gw"}, "X-Forwarded-Proto": {"http"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := newForwarding(&Config{ServerName: "gw", TrustedProxies: c.trusted}, nil)
			require.NoError(t, err)
			in := &http.Request{RemoteAddr: c.remote, Host: "front.example", Header: c.in}
			if c.tls {
				in.TLS = &tls.ConnectionState{}
			}
			out := http.Header{}
			f.set(out, in)
			assert.Empty(t, cmp.Diff(c.want, out), "-want +got")
		})
	}
}

func TestForwardingConfigErrors(t *testing.T) {
	_, err := newForwarding(&Config{ServerName: "gw", TrustedProxies: []string{"10.0.0.0/33"}}, nil)
	assert.ErrorContains(t, err, `trustedproxies "10.0.0.0/33"`)
	_, err = newForwarding(&Config{ServerName: "a, b"}, nil)
	assert.ErrorContains(t, err, `servername "a, b"`)
	f, err := newForwarding(&Config{}, func() (string, error) { return "host.example", nil })
	require.NoError(t, err)
	assert.Equal(t, "host.example", f.serverName)
}
