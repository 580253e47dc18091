package balancer

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// What the member receives, as Apache's mod_proxy_http sends it: the path
// encoded again from its decoded form, the query as the client sent it,
// and the X-Forwarded-* headers appended to.

// pathKeep marks the bytes Apache leaves as they are when it encodes a
// decoded request path for the member: letters, digits, '/' and
// ~$-_.+!*'(),;:@&=. Every other byte is written %XX, in upper case.
var pathKeep = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "/~$-_.+!*'(),;:@&=" {
		t[c] = true
	}
	return t
}()

// goEscapes marks the bytes Apache keeps that net/url would escape in a
// path (url.URL.EscapedPath without RawPath): only for a path holding one
// of them must the outbound URL carry a RawPath.
var goEscapes = [256]bool{'!': true, '*': true, '\'': true, '(': true, ')': true}

// appendEscapedPath appends p, a decoded path, encoded as Apache encodes
// it for the member.
func appendEscapedPath(b []byte, p string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(p); i++ {
		c := p[i]
		if pathKeep[c] {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hex[c>>4], hex[c&15])
	}
	return b
}

// needsRawPath reports whether p holds a byte that Apache sends as it is
// and net/url would escape.
func needsRawPath(p string) bool {
	for i := 0; i < len(p); i++ {
		if goEscapes[p[i]] {
			return true
		}
	}
	return false
}

// rejectPath returns the status Apache's core answers a request path with
// before any module sees it, or 0: 404 for an encoded slash ("%2F",
// AllowEncodedSlashes Off) or an encoded NUL byte.
func rejectPath(escaped, decoded string) int {
	if strings.IndexByte(decoded, 0) >= 0 {
		return http.StatusNotFound
	}
	for i := strings.IndexByte(escaped, '%'); i >= 0 && i+2 < len(escaped); {
		if escaped[i+1] == '2' && (escaped[i+2] == 'F' || escaped[i+2] == 'f') {
			return http.StatusNotFound
		}
		j := strings.IndexByte(escaped[i+1:], '%')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return 0
}

// forwarding is the validated X-Forwarded-* policy of a balancer.
type forwarding struct {
	serverName string
	// trusted is nil for Apache's policy (every peer's headers are
	// appended to); otherwise only peers in it are believed.
	trusted []netip.Prefix
	policy  bool // TrustedProxies was set
	// preserveHost sends the client's Host (ProxyPreserveHost On).
	preserveHost bool
}

func newForwarding(cfg *Config, hostname func() (string, error)) (forwarding, error) {
	f := forwarding{serverName: cfg.ServerName, preserveHost: cfg.PreserveHost}
	if f.serverName == "" {
		// Apache's default ServerName: the system's host name.
		if h, err := hostname(); err == nil && h != "" {
			f.serverName = h
		} else {
			f.serverName = "localhost"
		}
	}
	if strings.ContainsAny(f.serverName, " \t\r\n,") {
		return f, fmt.Errorf("balancer: servername %q: must be a host name", cfg.ServerName)
	}
	if cfg.TrustedProxies != nil {
		f.policy = true
		for _, s := range cfg.TrustedProxies {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				a, aerr := netip.ParseAddr(s)
				if aerr != nil {
					return f, fmt.Errorf("balancer: trustedproxies %q: not a CIDR prefix or an IP address", s)
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			f.trusted = append(f.trusted, p.Masked())
		}
	}
	return f, nil
}

// trusts reports whether the client at remoteAddr ("ip:port") is a proxy
// whose X-Forwarded-* headers are believed.
func (f *forwarding) trusts(remoteAddr string) bool {
	if !f.policy {
		return true
	}
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap()
	for _, p := range f.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// hopByHop reports whether the client's Connection header names the
// header key (a hop-by-hop header, not forwarded).
func hopByHop(in http.Header, key string) bool {
	for _, v := range in["Connection"] {
		for v != "" {
			var tok string
			tok, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(strings.TrimSpace(tok), key) {
				return true
			}
		}
	}
	return false
}

// setForwarded sets the outbound X-Forwarded-For, -Host and -Server: by
// default as Apache does, the client's address, Host and the server name
// each appended (", ") to what the client sent; under the trusted-proxy
// policy a client outside the trusted networks has its X-Forwarded-*
// and Forwarded headers replaced, and X-Forwarded-Proto is set.
// ReverseProxy has removed X-Forwarded-For, -Host, -Proto and Forwarded
// from out before; the client's values are read from in. Headers the
// client names in Connection are hop-by-hop: never its values, always
// ours.
func (f *forwarding) set(out http.Header, in *http.Request) {
	clientIP, _, err := net.SplitHostPort(in.RemoteAddr)
	if err != nil {
		clientIP = ""
	}
	trusted := f.trusts(in.RemoteAddr)
	_, hasConn := in.Header["Connection"]
	kept := func(key string) []string {
		vs := in.Header[key]
		if len(vs) == 0 || hasConn && hopByHop(in.Header, key) {
			return nil
		}
		return vs
	}
	prior := func(key string) []string {
		if !trusted {
			return nil
		}
		return kept(key)
	}
	// One allocation for the three values in the common case.
	v := make([]string, 3)
	v[0] = appendValue(prior("X-Forwarded-For"), clientIP)
	v[1] = appendValue(prior("X-Forwarded-Host"), in.Host)
	v[2] = appendValue(prior("X-Forwarded-Server"), f.serverName)
	if clientIP != "" {
		out["X-Forwarded-For"] = v[0:1:1]
	}
	out["X-Forwarded-Host"] = v[1:2:2]
	out["X-Forwarded-Server"] = v[2:3:3]
	if p := prior("X-Forwarded-Proto"); p != nil {
		out["X-Forwarded-Proto"] = p
	} else if f.policy {
		proto := "http"
		if in.TLS != nil {
			proto = "https"
		}
		out["X-Forwarded-Proto"] = []string{proto}
	}
	if p := prior("Forwarded"); p != nil {
		out["Forwarded"] = p
	}
	if p := kept("Proxy-Authorization"); p != nil {
		// net/http takes it for hop-by-hop; Apache forwards it.
		out["Proxy-Authorization"] = p
	}
}

// appendValue is Apache's header merge: the values joined by ", ", then v.
func appendValue(prior []string, v string) string {
	if len(prior) == 0 {
		return v
	}
	return strings.Join(prior, ", ") + ", " + v
}

// isH2CUpgrade reports whether h asks for an upgrade to h2c, which is never
// forwarded: a member speaking h2c would take the connection for requests
// the balancer never routed (request smuggling).
func isH2CUpgrade(h http.Header) bool {
	for _, v := range h["Upgrade"] {
		for v != "" {
			var tok string
			tok, v, _ = strings.Cut(v, ",")
			tok = strings.TrimSpace(tok)
			if len(tok) >= 3 && strings.EqualFold(tok[:3], "h2c") && (len(tok) == 3 || tok[3] == '/') {
				return true
			}
		}
	}
	return false
}
