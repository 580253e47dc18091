package lbmethod

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/textproto"
	"strings"

	"github.com/proxybalancer/balancer/internal/sticky"
)

// KeySource says which part of a request a hashing method's key comes from.
type KeySource uint8

// The sources of a request key.
const (
	// KeyClientIP is the client's IP address, from http.Request.RemoteAddr
	// (behind another proxy that is the proxy's address: use KeyHeader
	// with the header that proxy sets). The zero KeySource.
	KeyClientIP KeySource = iota
	// KeyHeader is the first value of the request header Name.
	KeyHeader
	// KeyCookie is the value of the cookie Name, found as sticky sessions
	// find their cookie (the first occurrence wins, quotes are kept).
	KeyCookie
	// KeyQuery is the raw (still %-encoded) value of the first query
	// parameter Name.
	KeyQuery
	// KeyPath is the request's path (http.Request.URL.Path, decoded).
	KeyPath
)

// String returns the source's name as [ParseKeySource] takes it.
func (s KeySource) String() string {
	switch s {
	case KeyClientIP:
		return "client"
	case KeyHeader:
		return "header"
	case KeyCookie:
		return "cookie"
	case KeyQuery:
		return "query"
	case KeyPath:
		return "path"
	}
	return fmt.Sprintf("KeySource(%d)", uint8(s))
}

// ParseKeySource returns the KeySource named s: "client", "header",
// "cookie", "query" or "path" (case-insensitive).
func ParseKeySource(s string) (KeySource, error) {
	for k := KeyClientIP; k <= KeyPath; k++ {
		if strings.EqualFold(s, k.String()) {
			return k, nil
		}
	}
	return 0, fmt.Errorf("lbmethod: hash key source %q: not client, header, cookie, query or path", s)
}

// HashKey says where a request's hashing key comes from. The zero value
// hashes the client's IP address.
//
// A request without the key (no such header, cookie or parameter, an
// empty value, a RemoteAddr that is not an address) has no key: the
// hashing method schedules it as byrequests does.
type HashKey struct {
	// Source is the part of the request the key comes from.
	Source KeySource
	// Name is the header, cookie or query parameter name; it must be
	// empty for KeyClientIP and KeyPath.
	Name string
}

// String returns "client", "path" or "<source>:<name>" (e.g.
// "header:X-User"), as [ParseHashKey] takes it.
func (k HashKey) String() string {
	if k.Name == "" {
		return k.Source.String()
	}
	return k.Source.String() + ":" + k.Name
}

// ParseHashKey parses "client", "path", "header:<name>", "cookie:<name>" or
// "query:<name>".
func ParseHashKey(s string) (HashKey, error) {
	src, name, _ := strings.Cut(s, ":")
	source, err := ParseKeySource(src)
	if err != nil {
		return HashKey{}, err
	}
	k := HashKey{Source: source, Name: name}
	if err := k.check(); err != nil {
		return HashKey{}, err
	}
	return k, nil
}

// check validates k and returns it with a canonical header name.
func (k *HashKey) check() error {
	switch k.Source {
	case KeyClientIP, KeyPath:
		if k.Name != "" {
			return fmt.Errorf("lbmethod: hash key %s: name %q given, but a %s key has no name", k.Source, k.Name, k.Source)
		}
	case KeyHeader, KeyCookie, KeyQuery:
		if k.Name == "" {
			return fmt.Errorf("lbmethod: hash key %s: empty name", k.Source)
		}
		if strings.ContainsAny(k.Name, " \t\r\n;,=&") {
			return fmt.Errorf("lbmethod: hash key %s name %q: contains a space or one of ;,=&", k.Source, k.Name)
		}
		if k.Source == KeyHeader {
			k.Name = textproto.CanonicalMIMEHeaderKey(k.Name)
		}
	default:
		return fmt.Errorf("lbmethod: hash key source %d: unknown", uint8(k.Source))
	}
	return nil
}

// Hash returns the 64-bit hash of r's key and true, or false when r has
// no key. It does not allocate, and two processes given the same key
// compute the same hash, so a fleet of balancers with the same members
// sends a key to the same member. A KeyHeader name should be in canonical
// form (as [ParseHashKey] and [NewHash] leave it); a header map built
// without canonical keys is not searched further.
func (k HashKey) Hash(r *http.Request) (uint64, bool) {
	var v string
	switch k.Source {
	case KeyClientIP:
		ap, err := netip.ParseAddrPort(r.RemoteAddr)
		var a netip.Addr
		if err == nil {
			a = ap.Addr()
		} else if a, err = netip.ParseAddr(r.RemoteAddr); err != nil {
			return 0, false
		}
		b := a.Unmap().As16()
		return hashBytes(b[:]), true
	case KeyHeader:
		vs := r.Header[k.Name]
		if len(vs) == 0 {
			return 0, false
		}
		v = vs[0]
	case KeyCookie:
		v, _ = sticky.FromCookie(r.Header["Cookie"], k.Name)
	case KeyQuery:
		if r.URL != nil {
			v = queryValue(r.URL.RawQuery, k.Name)
		}
	case KeyPath:
		if r.URL != nil {
			v = r.URL.Path
		}
	}
	if v == "" {
		return 0, false
	}
	return hashString(v), true
}

// queryValue returns the raw value of the first parameter name in q
// ("" when absent or empty).
func queryValue(q, name string) string {
	for q != "" {
		var p string
		p, q, _ = strings.Cut(q, "&")
		if v, ok := strings.CutPrefix(p, name); ok && strings.HasPrefix(v, "=") {
			return v[1:]
		}
	}
	return ""
}

// FNV-1a, 64 bits, followed by a finaliser so that keys differing in one
// byte land far apart on the ring.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashString(s string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return mix64(h)
}

func hashBytes(b []byte) uint64 {
	h := uint64(fnvOffset)
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return mix64(h)
}

// mix64 is the splitmix64 finaliser: a bijection on uint64 that spreads
// every input bit over the whole output.
func mix64(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}
