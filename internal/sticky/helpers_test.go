package sticky_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/proxybalancer/balancer/internal/sticky"
)

// This file holds a deliberately naive model of spec §2.2–§2.5: it builds the
// very strings Apache searches (path + "?" + query, Cookie headers joined by
// ", ") and walks them the way Apache's C loops move their pointer
// (get_path_param and get_cookie_param in mod_proxy_balancer.c: after a
// rejected occurrence the next strstr starts one byte past where the pointer
// was left). The fuzz tests check the in-place, allocation-free
// implementation against it.

// refPathParam is spec §2.2 steps 1–4 over the concatenated URL string.
func refPathParam(path, query, name string, scolon bool) (string, bool) {
	if name == "" {
		return "", false
	}
	s := path
	if query != "" {
		s += "?" + query
	}
	delims := "?&"
	if scolon {
		delims = ";?&"
	}
	for from := 0; from <= len(s); {
		k := strings.Index(s[from:], name)
		if k < 0 {
			return "", false
		}
		eq := from + k + len(name) // path += strlen(name)
		if eq == len(s) || s[eq] != '=' {
			from = eq + 1 // strstr(path + 1, name)
			continue
		}
		if eq+1 == len(s) {
			return "", false // the pointer is at the terminating NUL: nothing follows
		}
		rest := s[eq+1:]
		start := 0
		for start < len(rest) && strings.IndexByte(delims, rest[start]) >= 0 {
			start++
		}
		if start == len(rest) {
			return "", false // apr_strtok returned NULL: get_path_param returns it
		}
		end := start
		for end < len(rest) && strings.IndexByte(delims, rest[end]) < 0 {
			end++
		}
		return rest[start:end], true
	}
	return "", false
}

// refCookie is spec §2.3 steps 1–4 over the joined Cookie header.
func refCookie(headers []string, name string) (string, bool) {
	if name == "" || len(headers) == 0 {
		return "", false
	}
	h := strings.Join(headers, ", ")
	space := func(c byte) bool { return strings.IndexByte(" \t\n\v\f\r", c) >= 0 }
	for from := 0; from <= len(h); {
		k := strings.Index(h[from:], name)
		if k < 0 {
			return "", false
		}
		i := from + k
		if i > 0 && h[i-1] != ';' && h[i-1] != ',' && !space(h[i-1]) {
			from = i + 1
			continue
		}
		eq := i + len(name)
		for eq < len(h) && space(h[eq]) {
			eq++
		}
		if eq == len(h) || h[eq] != '=' {
			from = eq + 2 // *start_cookie++ then strstr(start_cookie + 1, name)
			continue
		}
		if eq+1 == len(h) {
			return "", false // at the terminating NUL: nothing follows
		}
		v := h[eq+1:]
		if k := strings.IndexByte(v, ';'); k >= 0 {
			v = v[:k]
		}
		if k := strings.IndexByte(v, ','); k >= 0 {
			v = v[:k]
		}
		return v, true
	}
	return "", false
}

// refRoute is spec §2.5, or the route pattern when re is not nil.
func refRoute(v string, sep byte, re *regexp.Regexp) (string, bool) {
	if re != nil {
		idx := re.FindStringSubmatchIndex(v)
		if idx == nil || idx[2] < 0 {
			return "", false
		}
		return v[idx[2]:idx[3]], true
	}
	if sep == 0 {
		return v, true
	}
	_, after, ok := strings.Cut(v, string([]byte{sep}))
	return after, ok
}

// refFind is spec §2.4 on top of the models above.
func refFind(cookie, param string, sep byte, scolon bool, re *regexp.Regexp, path, query string, headers []string) (string, string, bool) {
	if param != "" {
		if v, ok := refPathParam(path, query, param, scolon); ok {
			r, ok := refRoute(v, sep, re)
			if !ok {
				return "", "", false
			}
			return r, param, true
		}
	}
	if cookie != "" {
		if v, ok := refCookie(headers, cookie); ok {
			if r, ok := refRoute(v, sep, re); ok {
				return r, cookie, true
			}
		}
	}
	return "", "", false
}

// mustExtractor builds an Extractor from Apache-style parameter strings.
func mustExtractor(t testing.TB, stickysession, stickysessionsep string, scolon bool, re *regexp.Regexp) *sticky.Extractor {
	t.Helper()
	cookie, param, err := sticky.ParseStickySession(stickysession)
	if err != nil {
		t.Fatalf("ParseStickySession(%q): %v", stickysession, err)
	}
	sep, err := sticky.ParseSeparator(stickysessionsep)
	if err != nil {
		t.Fatalf("ParseSeparator(%q): %v", stickysessionsep, err)
	}
	e, err := sticky.NewExtractor(cookie, param, sep, scolon, re)
	if err != nil {
		t.Fatalf("NewExtractor(%q, %q): %v", cookie, param, err)
	}
	return e
}
