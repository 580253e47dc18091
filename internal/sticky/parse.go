package sticky

import (
	"fmt"
	"strings"
)

// MaxNameLen is the longest cookie or URL parameter name accepted, in bytes.
// Apache stores each name in a 64-byte field and silently truncates longer
// names (spec §2.1); we reject them instead, because a truncated name would
// match cookies the administrator never named.
const MaxNameLen = 63

// ParseStickySession parses the value of Apache's stickysession balancer
// parameter (spec §2.1) into the cookie name and the URL parameter name.
//
//   - "" means no stickiness: both names are empty and err is nil.
//   - "NAME" gives cookie == param == NAME.
//   - "COOKIE|PARAM" splits at the first '|': "A|B|C" gives cookie "A" and
//     param "B|C", as Apache does.
//
// Unlike Apache, which accepts them, these are errors naming the value:
// an empty half ("A|", "|B", "|"; Apache's scan of an empty parameter name can
// read past the end of the URL), a name longer than [MaxNameLen] bytes
// (Apache truncates it silently), and a name containing a byte that no
// well-formed cookie or parameter name contains (see [CheckCookieName] and
// [CheckParamName]). The value "-", which the balancer-manager's b_ss uses to
// clear both names, is not special here: it is the name "-".
func ParseStickySession(s string) (cookie, param string, err error) {
	if s == "" {
		return "", "", nil
	}
	cookie, param = s, s
	if i := strings.IndexByte(s, '|'); i >= 0 {
		cookie, param = s[:i], s[i+1:]
	}
	if err := CheckCookieName(cookie); err != nil {
		return "", "", fmt.Errorf("sticky: stickysession %q: %w", s, err)
	}
	if err := CheckParamName(param); err != nil {
		return "", "", fmt.Errorf("sticky: stickysession %q: %w", s, err)
	}
	return cookie, param, nil
}

// CheckCookieName returns an error unless name is acceptable as a sticky
// cookie name: non-empty, at most [MaxNameLen] bytes, and free of whitespace, control
// bytes, '=', ';' and ','. Apache would accept such names, and its substring
// search may even match them across two cookies ("a;b" matches the header
// "a;b=x"), but a real cookie name never contains them: '=' ends a name, ';'
// and ',' separate cookies, and whitespace after a name is skipped. The error
// does not carry the "sticky:" prefix; callers wrap it with the field.
func CheckCookieName(name string) error {
	return checkName("cookie name", name, "=;,")
}

// CheckParamName returns an error unless name is acceptable as a sticky URL
// parameter name: the rules of [CheckCookieName], plus no '?' or '&', which delimit
// query parameters and so can only match across two of them. '|' is allowed,
// since "A|B|C" yields the parameter "B|C" (spec §2.1). The error does not
// carry the "sticky:" prefix; callers wrap it with the field.
func CheckParamName(name string) error {
	return checkName("URL parameter name", name, "=;,?&")
}

func checkName(what, name, forbidden string) error {
	if name == "" {
		return fmt.Errorf("empty %s", what)
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("%s %q is %d bytes long: at most %d", what, name, len(name), MaxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c == 0x7f || strings.IndexByte(forbidden, c) >= 0 {
			return fmt.Errorf("%s %q contains %q: a name cannot contain whitespace, control characters or any of %s",
				what, name, c, forbidden)
		}
	}
	return nil
}

// ParseSeparator parses the value of Apache's stickysessionsep balancer
// parameter (spec §2.5): "" gives the default '.', any single byte other than
// NUL gives itself, and "Off" in any letter case (Apache compares with
// strcasecmp) gives 0, meaning no separator: the whole session value is the
// route. Anything else is an error naming the value; "\x00" is refused
// because it would silently mean Off.
func ParseSeparator(s string) (sep byte, err error) {
	switch {
	case s == "":
		return '.', nil
	case isOff(s):
		return 0, nil
	case len(s) == 1 && s[0] != 0:
		return s[0], nil
	}
	return 0, fmt.Errorf("sticky: stickysessionsep %q: must be a single byte other than NUL, or Off", s)
}

// isOff reports whether s is "Off" compared as ASCII strcasecmp does
// (strings.EqualFold would also apply Unicode folding).
func isOff(s string) bool {
	return len(s) == 3 && s[0]|0x20 == 'o' && s[1]|0x20 == 'f' && s[2]|0x20 == 'f'
}
