package sticky

import "strings"

// FromURL returns the value of the sticky URL parameter name the way Apache's
// get_path_param finds it (spec §2.2, §12 items 1 and 5), searching the string
// path + "?" + rawQuery (the "?" part only when rawQuery is not empty). path is
// what Apache places after balancer://name: the request path after ProxyPass
// mapping, %-decoded as r.URL.Path is (with nocanon, the raw path instead).
// rawQuery is the query as sent, not decoded (r.URL.RawQuery).
//
// The search, step by step as spec §2.2 states it:
//  1. every occurrence of name, by case-sensitive substring search with no
//     word boundary ("?xjsessionid=a.r2" matches "jsessionid", and so does the
//     path segment "/jsessionid=a.r2/foo");
//  2. an occurrence not followed by '=' is skipped;
//  3. an occurrence whose '=' ends the string is skipped;
//  4. otherwise the result is the first apr_strtok token of the rest, with
//     delimiters "?&" (";?&" when scolon is true): leading delimiters are
//     skipped ("?jsessionid=&foo=bar.r2" gives "foo=bar.r2"), and the token
//     runs to the next delimiter, so '/', '#', ',' and spaces are part of it.
//     The search ends here: spec §2.2 step 4 says get_path_param "return[s]
//     its first token", and when the rest holds only delimiters that token is
//     NULL ("?jsessionid=&" returns nothing and the cookie is consulted), so
//     FromURL then reports ok == false. Going on to later occurrences could
//     not change that: a rest made only of delimiters holds no '=', so no
//     later occurrence could pass step 2.
//
// A value found is never empty. An empty name never matches. FromURL does not
// allocate unless name contains '?' and rawQuery is not empty (such names are
// refused by [CheckParamName]): for any other name an occurrence cannot span
// the '?' joining path and query, and since '?' is a delimiter no token spans
// it either, so path and query are searched in place. It is safe for
// concurrent use.
func FromURL(path, rawQuery, name string, scolon bool) (value string, ok bool) {
	if name == "" {
		return "", false
	}
	if rawQuery != "" && strings.IndexByte(name, '?') >= 0 {
		return pathParam(path+"?"+rawQuery, "", name, scolon)
	}
	return pathParam(path, rawQuery, name, scolon)
}

// pathParam runs get_path_param over s + "?" + q (s alone when q is empty).
// When q is not empty, name must not contain '?'.
func pathParam(s, q, name string, scolon bool) (string, bool) {
	if v, ok, done := pathParamIn(s, q, name, scolon); done {
		return v, ok
	}
	if q == "" {
		return "", false
	}
	// The '?' itself cannot start an occurrence of a name without '?'.
	v, ok, _ := pathParamIn(q, "", name, scolon)
	return v, ok
}

// pathParamIn searches s, which the string searched continues with "?" + next
// when next is not empty. done reports that an occurrence was accepted (steps
// 2 and 3 passed), so the search is over whether or not a token was found.
//
// After an occurrence is rejected the search goes on where Apache's does:
// get_path_param advances its pointer past the name and then searches from
// the byte after that (strstr(path + 1, name)), so "jsessionidjsessionid=a.r2"
// has no value: the second occurrence starts at the skipped byte.
func pathParamIn(s, next, name string, scolon bool) (value string, ok, done bool) {
	for i := 0; i <= len(s); {
		k := strings.Index(s[i:], name)
		if k < 0 {
			return "", false, false
		}
		i += k
		eq := i + len(name)
		// At eq == len(s) the next character is '?' or the end: not '='.
		if eq >= len(s) || s[eq] != '=' {
			i = eq + 1
			continue
		}
		if eq+1 == len(s) && next == "" {
			return "", false, false // '=' ends the string (step 3); nothing can follow
		}
		// The rest is s[eq+1:] + "?" + next; '?' is a delimiter, so the
		// token lies in s[eq+1:] or, if that holds only delimiters, in next.
		if v, ok := firstToken(s[eq+1:], scolon); ok {
			return v, true, true
		}
		v, ok := firstToken(next, scolon)
		return v, ok, true
	}
	return "", false, false
}

// firstToken is apr_strtok's first token of s with the delimiters "?&", plus
// ';' when scolon is true.
func firstToken(s string, scolon bool) (string, bool) {
	start := 0
	for start < len(s) && isPathDelim(s[start], scolon) {
		start++
	}
	if start == len(s) {
		return "", false
	}
	end := start + 1
	for end < len(s) && !isPathDelim(s[end], scolon) {
		end++
	}
	return s[start:end], true
}

func isPathDelim(c byte, scolon bool) bool {
	return c == '?' || c == '&' || (scolon && c == ';')
}

// FromCookie returns the value of the sticky cookie name the way Apache's
// get_cookie_param finds it (spec §2.3, §12 item 3). headers are the request's
// Cookie header values (r.Header["Cookie"]); Apache's HTTP/1.1 parser merges
// repeated headers into one joined by ", ", and FromCookie searches that
// joined string:
//  1. every occurrence of name, by case-sensitive substring search;
//  2. accepted only at the start of the string or after ';', ',' or an
//     isspace byte (space, \t, \n, \v, \f, \r): "XJSESSIONID=" does not
//     match "JSESSIONID";
//  3. whitespace after the name is skipped; the next byte must be '=';
//  4. an '=' that ends the string is skipped; otherwise the value is
//     everything after '=' up to the first ';', cut at the first ',', and it
//     is returned at once: the first accepted occurrence wins even when its
//     value is empty ("JSESSIONID=; JSESSIONID=a.r2" gives "") or has no
//     separator. The value is not trimmed and quotes are kept.
//
// An empty name never matches. FromCookie does not allocate unless there are
// several headers and name contains ',' or ' ' (refused by [CheckCookieName]):
// an occurrence overlapping the ", " that joins two headers contains one of
// them, so for any other name each header is searched in place, its start
// counting as preceded by ' ' and its end, except the last header's, as
// followed by ','. It is safe for concurrent use.
func FromCookie(headers []string, name string) (value string, ok bool) {
	if name == "" || len(headers) == 0 {
		return "", false
	}
	if len(headers) > 1 && strings.ContainsAny(name, ", ") {
		return cookieParam(strings.Join(headers, ", "), name, true)
	}
	for n, h := range headers {
		if v, ok := cookieParam(h, name, n == len(headers)-1); ok {
			return v, true
		}
	}
	return "", false
}

// cookieParam searches one header. last reports that h ends the joined
// string; otherwise h is followed by ", " and the next header.
//
// The search goes on where Apache's does: after an occurrence without a
// boundary before it, from the next byte; after one that fails at the '='
// test, from two bytes past the byte tested (get_cookie_param advances past
// the name, the spaces and the tested byte, then searches from the byte after
// that), so "JSESSIONID;JSESSIONID=a.r2" has no value.
func cookieParam(h, name string, last bool) (string, bool) {
	for i := 0; i <= len(h); {
		k := strings.Index(h[i:], name)
		if k < 0 {
			return "", false
		}
		i += k
		if i > 0 && !isCookieBoundary(h[i-1]) {
			i++
			continue
		}
		eq := i + len(name)
		for eq < len(h) && isSpace(h[eq]) {
			eq++
		}
		// At eq == len(h) the next byte is ',' or the end: not '='.
		if eq >= len(h) || h[eq] != '=' {
			i = eq + 2
			continue
		}
		v := h[eq+1:]
		if v == "" && last {
			return "", false // '=' ends the string (step 4); nothing can follow
		}
		if end := strings.IndexAny(v, ";,"); end >= 0 {
			v = v[:end]
		}
		return v, true
	}
	return "", false
}

func isCookieBoundary(c byte) bool {
	return c == ';' || c == ',' || isSpace(c)
}

// isSpace is C's isspace in the "C" locale, which Apache's parsers use.
func isSpace(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r')
}

// Route returns the route carried by a session value (spec §2.5, §12 item 4):
// the text after the first sep ("a.b.r2" gives "b.r2"). A value without sep
// has no route (ok == false); a value ending in sep has the empty route with
// ok == true, as Apache then still sets BALANCER_SESSION_ROUTE to "". sep 0
// ("stickysessionsep=Off") makes the whole value the route. The route is a
// substring of value; comparing it with member routes is exact and
// case-sensitive, and is the caller's job.
func Route(value string, sep byte) (route string, ok bool) {
	if sep == 0 {
		return value, true
	}
	i := strings.IndexByte(value, sep)
	if i < 0 {
		return "", false
	}
	return value[i+1:], true
}
