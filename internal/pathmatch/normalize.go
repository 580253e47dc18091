package pathmatch

// Normalize normalises an escaped URL path as Apache's core does before any
// module sees it (ap_normalize_path with the flags httpd 2.4 uses for
// requests: decode unreserved %-escapes, merge slashes, not above root):
// %-escapes of unreserved characters (letters, digits, '-', '.', '_', '~')
// are decoded, runs of '/' become one, "." segments are removed and ".."
// segments remove the segment before them. A trailing slash is kept ("/x/."
// is "/x/"). ok is false when ".." would go above the root, which Apache
// answers with 400. Other escapes, "%2F" among them, stay as they are, so
// an encoded slash is no separator. A path that needs no change is returned
// as it is, without allocating.
func Normalize(escaped string) (string, bool) {
	if !needsNormalizing(escaped) {
		return escaped, true
	}
	p := []byte(escaped)
	w, l := 0, 0
	ok := true
	for l < len(p) {
		// Decode an escaped unreserved character in place: the last byte of
		// the escape becomes the character, read from there on.
		if p[l] == '%' && l+2 < len(p) && isHex(p[l+1]) && isHex(p[l+2]) {
			if c := unhex(p[l+1])<<4 | unhex(p[l+2]); isUnreserved(c) {
				l += 2
				p[l] = c
			}
		}
		if w == 0 || p[w-1] == '/' {
			if p[l] == '/' && w > 0 {
				for l < len(p) && p[l] == '/' {
					l++
				}
				continue
			}
			if p[l] == '.' {
				if l+1 == len(p) || p[l+1] == '/' {
					// "/./" or a final "/.".
					l++
					if l < len(p) {
						l++
					}
					continue
				}
				n := l + 1
				dotdot := p[n] == '.'
				if !dotdot && p[n] == '%' && n+2 < len(p) && p[n+1] == '2' && (p[n+2] == 'e' || p[n+2] == 'E') {
					n += 2
					dotdot = true
				}
				if dotdot && (n+1 == len(p) || p[n+1] == '/') {
					if w > 1 {
						for w--; w > 0 && p[w-1] != '/'; w-- {
						}
					} else {
						ok = false
					}
					l = n + 1
					if l < len(p) {
						l++
					}
					continue
				}
			}
		}
		p[w] = p[l]
		w, l = w+1, l+1
	}
	return string(p[:w]), ok
}

// needsNormalizing reports whether Normalize could change s: it has a "//",
// a "/." or an escape of an unreserved character.
func needsNormalizing(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '/':
			if i+1 < len(s) && (s[i+1] == '/' || s[i+1] == '.') {
				return true
			}
		case '%':
			if i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) && isUnreserved(unhex(s[i+1])<<4|unhex(s[i+2])) {
				return true
			}
		}
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// isUnreserved reports RFC 3986's unreserved characters.
func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
