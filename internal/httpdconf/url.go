package httpdconf

import (
	"strconv"
	"strings"
)

// balancerName returns the canonical name of a balancer URL: "balancer://"
// plus the lower-cased authority, without any path; ok is false if s is not
// of the form balancer://name. The second result is what follows the name
// ("/sub", "/" or "").
func balancerNameAndPath(s string) (name, rest string, ok bool) {
	const prefix = "balancer://"
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return "", "", false
	}
	body := s[len(prefix):]
	i := strings.IndexByte(body, '/')
	if i < 0 {
		i = len(body)
	}
	if i == 0 {
		return "", "", false
	}
	return prefix + strings.ToLower(body[:i]), body[i:], true
}

func balancerName(s string) (string, bool) {
	n, _, ok := balancerNameAndPath(s)
	return n, ok
}

// isBalancerURL reports whether s names the balancer scheme (even if the
// name itself is malformed).
func isBalancerURL(s string) bool {
	return len(s) >= 9 && strings.EqualFold(s[:9], "balancer:")
}

// defaultPorts are the schemes' default ports that Apache drops from worker
// names (ap_proxy_port_of_scheme).
var defaultPorts = map[string]string{
	"http": "80", "https": "443", "ws": "80", "wss": "443", "h2c": "80", "h2": "443",
	"ajp": "8009", "fcgi": "8000", "scgi": "4000", "ftp": "21", "uwsgi": "3031",
}

// workerName normalises a worker URL as Apache names workers: scheme and
// host lower-cased, the scheme's default port dropped, everything else as
// written. It returns a message if the URL is not absolute or its port is
// not a number in 0..65535.
func workerName(raw string) (string, string) {
	i := strings.Index(raw, "://")
	if i <= 0 || !validScheme(raw[:i]) {
		return "", "URL must be absolute (scheme://host...)"
	}
	scheme := strings.ToLower(raw[:i])
	rest := raw[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	auth, tail := rest[:end], rest[end:]
	user := ""
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		user, auth = auth[:at+1], auth[at+1:]
	}
	host, port := auth, ""
	if strings.HasPrefix(auth, "[") {
		j := strings.IndexByte(auth, ']')
		if j < 0 {
			return "", "URL has an unterminated IPv6 address"
		}
		host, port = auth[:j+1], auth[j+1:]
		if port != "" && port[0] != ':' {
			return "", "URL has a malformed host"
		}
		port = strings.TrimPrefix(port, ":")
	} else if j := strings.LastIndexByte(auth, ':'); j >= 0 {
		host, port = auth[:j], auth[j+1:]
	}
	if host == "" {
		return "", "URL has no host"
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 0 || n > 65535 || port[0] == '+' || port[0] == '-' {
			return "", "URL has an invalid port"
		}
		if defaultPorts[scheme] == strconv.Itoa(n) {
			port = ""
		}
	}
	name := scheme + "://" + user + strings.ToLower(host)
	if port != "" {
		name += ":" + port
	}
	return name + tail, ""
}

func validScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isIdentStart(c) && c != '_':
		case i > 0 && (isDigit(c) || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// authorityKey is the scheme://host:port part of a normalised worker name:
// Apache shares a worker between two BalancerMember lines of one balancer
// that differ only after it.
func authorityKey(name string) string {
	i := strings.Index(name, "://")
	if i < 0 {
		return name
	}
	rest := name[i+3:]
	if j := strings.IndexAny(rest, "/?#"); j >= 0 {
		return name[:i+3+j]
	}
	return name
}
