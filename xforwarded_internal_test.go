package balancer

import (
	"crypto/tls"
	"net/http"
	"net/http/httputil"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// setXForwarded is a faster ProxyRequest.SetXForwarded: for every shape of
// client request it must leave exactly the headers net/http's would.
func TestSetXForwardedMatchesNetHTTP(t *testing.T) {
	cases := []struct {
		name       string
		remoteAddr string
		host       string
		tls        bool
		out        http.Header // the outbound headers before the call
	}{
		{name: "ipv4", remoteAddr: "192.0.2.7:51000", host: "front.example"},
		{name: "ipv6", remoteAddr: "[2001:db8::1]:443", host: "front.example:8443", tls: true},
		{name: "no port", remoteAddr: "192.0.2.7", host: "front.example"},
		{name: "empty remote", remoteAddr: "", host: ""},
		{name: "tls", remoteAddr: "10.1.2.3:1", host: "h", tls: true},
		{name: "other headers kept", remoteAddr: "10.1.2.3:1", host: "h",
			out: http.Header{"Accept": {"*/*"}, "X-Forwarded-Host": {"old"}, "X-Forwarded-Proto": {"ftp"}}},
		{name: "prior forwarded-for", remoteAddr: "10.1.2.3:1", host: "h",
			out: http.Header{"X-Forwarded-For": {"198.51.100.1", "198.51.100.2"}}},
		{name: "prior forwarded-for, bad remote", remoteAddr: "nonsense", host: "h",
			out: http.Header{"X-Forwarded-For": {"198.51.100.1"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			build := func() *httputil.ProxyRequest {
				in, _ := http.NewRequest("GET", "http://front.example/x", nil)
				in.RemoteAddr, in.Host = c.remoteAddr, c.host
				if c.tls {
					in.TLS = &tls.ConnectionState{}
				}
				out := in.Clone(in.Context())
				out.Header = c.out.Clone()
				if out.Header == nil {
					out.Header = http.Header{}
				}
				return &httputil.ProxyRequest{In: in, Out: out}
			}
			want, got := build(), build()
			want.SetXForwarded()
			setXForwarded(got)
			if diff := cmp.Diff(want.Out.Header, got.Out.Header); diff != "" {
				t.Errorf("headers differ from SetXForwarded's (-net/http +ours):\n%s", diff)
			}
			// A later append to one value must not reach another.
			got.Out.Header["X-Forwarded-For"] = append(got.Out.Header["X-Forwarded-For"], "extra")
			if diff := cmp.Diff(want.Out.Header.Get("X-Forwarded-Host"), got.Out.Header.Get("X-Forwarded-Host")); diff != "" {
				t.Errorf("appending to X-Forwarded-For changed X-Forwarded-Host: %s", diff)
			}
		})
	}
}
