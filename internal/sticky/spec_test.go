package sticky_test

import (
	"regexp"
	"testing"

	"github.com/proxybalancer/balancer/internal/sticky"
)

// findCase is one request run through an Extractor built from Apache-style
// parameter strings. Row names quote the spec (apache-behaviour.md).
type findCase struct {
	name       string
	ss         string // stickysession
	sep        string // stickysessionsep ("" = default '.')
	scolon     bool   // scolonpathdelim
	path       string // %-decoded balancer-relative path
	query      string // raw query
	cookies    []string
	wantRoute  string
	wantSticky string
	wantFound  bool
}

func runFind(t *testing.T, tests []findCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustExtractor(t, tt.ss, tt.sep, tt.scolon, nil)
			route, name, found := e.Find(tt.path, tt.query, tt.cookies)
			if route != tt.wantRoute || name != tt.wantSticky || found != tt.wantFound {
				t.Errorf("Find(%q, %q, %q) = (%q, %q, %v), want (%q, %q, %v)",
					tt.path, tt.query, tt.cookies, route, name, found,
					tt.wantRoute, tt.wantSticky, tt.wantFound)
			}
		})
	}
}

// TestFindSpecURL covers every [verified] example of spec §2.2.
func TestFindSpecURL(t *testing.T) {
	const ss = "JSESSIONID|jsessionid"
	runFind(t, []findCase{
		{
			name: `§2.2 ";jsessionid=a.r%32" in the path matches route "r2" (path arrives decoded)`,
			ss:   ss, path: "/app;jsessionid=a.r2",
			wantRoute: "r2", wantSticky: "jsessionid", wantFound: true,
		},
		{
			name: `§2.2 "?jsessionid=a.r%32" does not match (the query is raw: route "r%32")`,
			ss:   ss, path: "/app", query: "jsessionid=a.r%32",
			wantRoute: "r%32", wantSticky: "jsessionid", wantFound: true,
		},
		{
			name: `§2.2 on 2.4.71 query parameters work again`,
			ss:   ss, path: "/app", query: "jsessionid=a.r2",
			wantRoute: "r2", wantSticky: "jsessionid", wantFound: true,
		},
		{
			name: `§2.2 "?xjsessionid=a.r2" matches parameter "jsessionid"`,
			ss:   ss, path: "/app", query: "xjsessionid=a.r2",
			wantRoute: "r2", wantSticky: "jsessionid", wantFound: true,
		},
		{
			name: `§2.2 a path segment such as "/jsessionid=a.r2/foo" also matches, and gives route "r2/foo"`,
			ss:   ss, path: "/jsessionid=a.r2/foo",
			wantRoute: "r2/foo", wantSticky: "jsessionid", wantFound: true,
		},
		{
			name: `§2.2 "?jsessionid=&foo=bar.r2" returns "foo=bar.r2", which gives route "r2"`,
			ss:   ss, path: "/app", query: "jsessionid=&foo=bar.r2",
			wantRoute: "r2", wantSticky: "jsessionid", wantFound: true,
		},
		{
			name: `§2.2 "?jsessionid=&" returns nothing (NULL), and then the cookie is consulted`,
			ss:   ss, path: "/app", query: "jsessionid=&", cookies: []string{"JSESSIONID=a.r3"},
			wantRoute: "r3", wantSticky: "JSESSIONID", wantFound: true,
		},
		{
			name: `§2.2 "?jsessionid=&" with no cookie gives no route`,
			ss:   ss, path: "/app", query: "jsessionid=&",
		},
		{
			name: `§2.2 with scolon on, ";jsessionid=;a.r2" gives "a.r2"`,
			ss:   ss, scolon: true, path: "/x;jsessionid=;a.r2",
			wantRoute: "r2", wantSticky: "jsessionid", wantFound: true,
		},
		{
			name: `§2.2 With it Off: "/x;jsessionid=a.r2;foo=1" gives route "r2;foo=1"`,
			ss:   ss, path: "/x;jsessionid=a.r2;foo=1",
			wantRoute: "r2;foo=1", wantSticky: "jsessionid", wantFound: true,
		},
		{
			name: `§2.2 With it On: the same URL gives "r2"`,
			ss:   ss, scolon: true, path: "/x;jsessionid=a.r2;foo=1",
			wantRoute: "r2", wantSticky: "jsessionid", wantFound: true,
		},
	})
}

// TestFindSpecCookie covers every [verified] example of spec §2.3.
func TestFindSpecCookie(t *testing.T) {
	const ss = "JSESSIONID"
	runFind(t, []findCase{
		{
			name: `§2.3 Two "Cookie:" headers work`,
			ss:   ss, path: "/", cookies: []string{"x=1", "JSESSIONID=a.r3"},
			wantRoute: "r3", wantSticky: "JSESSIONID", wantFound: true,
		},
		{
			name: `§2.3 Two "Cookie:" headers work, and the first occurrence wins`,
			ss:   ss, path: "/", cookies: []string{"JSESSIONID=a.r2", "JSESSIONID=a.r3"},
			wantRoute: "r2", wantSticky: "JSESSIONID", wantFound: true,
		},
		{
			name: `§2.3 isspace, so tab works too`,
			ss:   ss, path: "/", cookies: []string{"x=1;\tJSESSIONID=a.r2"},
			wantRoute: "r2", wantSticky: "JSESSIONID", wantFound: true,
		},
		{
			name: `§2.3 "XJSESSIONID=" does not match "JSESSIONID"`,
			ss:   ss, path: "/", cookies: []string{"XJSESSIONID=a.r2"},
		},
		{
			name: `§2.3 "JSESSIONIDX=a.r3; JSESSIONID=a.r2" gives "r2"`,
			ss:   ss, path: "/", cookies: []string{"JSESSIONIDX=a.r3; JSESSIONID=a.r2"},
			wantRoute: "r2", wantSticky: "JSESSIONID", wantFound: true,
		},
		{
			name: `§2.3 Spaces around "=" are tolerated: "JSESSIONID = a.r2" gives "r2"`,
			ss:   ss, path: "/", cookies: []string{"JSESSIONID = a.r2"},
			wantRoute: "r2", wantSticky: "JSESSIONID", wantFound: true,
		},
		{
			name: `§2.3 The space after "=" ends up in the session-id part, harmless unless stickysessionsep=Off`,
			ss:   ss, sep: "Off", path: "/", cookies: []string{"JSESSIONID = r2"},
			wantRoute: " r2", wantSticky: "JSESSIONID", wantFound: true,
		},
		{
			name: `§2.3 The value is not trimmed: "JSESSIONID=a.r2 ; x=1" gives route "r2 "`,
			ss:   ss, path: "/", cookies: []string{"JSESSIONID=a.r2 ; x=1"},
			wantRoute: "r2 ", wantSticky: "JSESSIONID", wantFound: true,
		},
		{
			name: `§2.3 Quotes are not removed: JSESSIONID="a.r2" gives route r2"`,
			ss:   ss, path: "/", cookies: []string{`JSESSIONID="a.r2"`},
			wantRoute: `r2"`, wantSticky: "JSESSIONID", wantFound: true,
		},
		{
			name: `§2.3 An empty value stops the search: "JSESSIONID=; JSESSIONID=a.r2" gives no route`,
			ss:   ss, path: "/", cookies: []string{"JSESSIONID=; JSESSIONID=a.r2"},
		},
		{
			name: `§2.3 A first value without a separator also stops the search: "JSESSIONID=abc; JSESSIONID=a.r2"`,
			ss:   ss, path: "/", cookies: []string{"JSESSIONID=abc; JSESSIONID=a.r2"},
		},
		{
			name: `§2.3 "$Version=1; JSESSIONID=a.r2; $Path=/" works`,
			ss:   ss, path: "/", cookies: []string{"$Version=1; JSESSIONID=a.r2; $Path=/"},
			wantRoute: "r2", wantSticky: "JSESSIONID", wantFound: true,
		},
		{
			name: `§2.3 Names are case-sensitive: "jsessionid=a.r2" does not match stickysession=JSESSIONID`,
			ss:   ss, path: "/", cookies: []string{"jsessionid=a.r2"},
		},
		{
			name: `§2.3 A "," inside a cookie value truncates the value`,
			ss:   ss, path: "/", cookies: []string{"JSESSIONID=a.r2,x.r3"},
			wantRoute: "r2", wantSticky: "JSESSIONID", wantFound: true,
		},
	})
}

// TestFindSpecPrecedence covers every [verified] example of spec §2.4.
func TestFindSpecPrecedence(t *testing.T) {
	runFind(t, []findCase{
		{
			name: `§2.4 If no stickysession is configured, there is no sticky handling at all`,
			ss:   "", path: "/;jsessionid=a.r2", query: "JSESSIONID=a.r2", cookies: []string{"JSESSIONID=a.r2"},
		},
		{
			name: `§2.4 If get_path_param returns any value, the cookie is not consulted, even if that value has no separator`,
			ss:   "JSESSIONID|jsessionid", path: "/", query: "jsessionid=abc", cookies: []string{"JSESSIONID=a.r2"},
		},
		{
			name: `§2.4 With both present, the URL wins: cookie r2 + query r3 gives r3`,
			ss:   "JSESSIONID|jsessionid", path: "/", query: "jsessionid=a.r3", cookies: []string{"JSESSIONID=a.r2"},
			wantRoute: "r3", wantSticky: "jsessionid", wantFound: true,
		},
		{
			name: `§2.4 "?JSESSIONID=..." is ignored when the configuration is "JSESSIONID|jsessionid"`,
			ss:   "JSESSIONID|jsessionid", path: "/", query: "JSESSIONID=a.r3",
		},
		{
			name: `§2.4 "?JSESSIONID=..." is ignored when the configuration is "JSESSIONID|jsessionid" (cookie used)`,
			ss:   "JSESSIONID|jsessionid", path: "/", query: "JSESSIONID=a.r3", cookies: []string{"JSESSIONID=a.r2"},
			wantRoute: "r2", wantSticky: "JSESSIONID", wantFound: true,
		},
		{
			name: `§2.4 the cookie search uses only the cookie name`,
			ss:   "JSESSIONID|jsessionid", path: "/", cookies: []string{"jsessionid=a.r2"},
		},
	})
}

// TestFindSpecSeparator covers every [verified] example of spec §2.5.
func TestFindSpecSeparator(t *testing.T) {
	runFind(t, []findCase{
		{
			name: `§2.5 "a.b.r2" gives route "b.r2"`,
			ss:   "SID", path: "/", cookies: []string{"SID=a.b.r2"},
			wantRoute: "b.r2", wantSticky: "SID", wantFound: true,
		},
		{
			name: `§2.5 "a.r2.b" gives "r2.b"`,
			ss:   "SID", path: "/", cookies: []string{"SID=a.r2.b"},
			wantRoute: "r2.b", wantSticky: "SID", wantFound: true,
		},
		{
			name: `§2.5 If the value contains no separator, there is no route`,
			ss:   "SID", path: "/", cookies: []string{"SID=abc"},
		},
		{
			name: `§2.5 If the value is empty after the separator ("abc."), BALANCER_SESSION_ROUTE is set to the empty string`,
			ss:   "SID", path: "/", cookies: []string{"SID=abc."},
			wantRoute: "", wantSticky: "SID", wantFound: true,
		},
		{
			name: `§2.5 The same happens with stickysessionsep=Off and an empty cookie value followed by ";" ("SID=; x=1")`,
			ss:   "SID", sep: "Off", path: "/", cookies: []string{"SID=; x=1"},
			wantRoute: "", wantSticky: "SID", wantFound: true,
		},
		{
			name: `§2.5 With stickysessionsep=Off the whole value is the route. "SID=r2" gives "r2"`,
			ss:   "SID", sep: "Off", path: "/", cookies: []string{"SID=r2"},
			wantRoute: "r2", wantSticky: "SID", wantFound: true,
		},
		{
			name: `§2.5 With stickysessionsep=Off "SID=a.r2" gives "a.r2"`,
			ss:   "SID", sep: "Off", path: "/", cookies: []string{"SID=a.r2"},
			wantRoute: "a.r2", wantSticky: "SID", wantFound: true,
		},
		{
			name: `§2.5 With a custom separator (for example "-"), a value containing only "." has no route`,
			ss:   "SID", sep: "-", path: "/", cookies: []string{"SID=a.r2"},
		},
		{
			name: `§2.5 The separator applies to both URL and cookie values (URL, "-")`,
			ss:   "SID", sep: "-", path: "/", query: "SID=a-r2",
			wantRoute: "r2", wantSticky: "SID", wantFound: true,
		},
		{
			name: `§2.5 The separator applies to both URL and cookie values (cookie, "-")`,
			ss:   "SID", sep: "-", path: "/", cookies: []string{"SID=a-r2"},
			wantRoute: "r2", wantSticky: "SID", wantFound: true,
		},
		{
			name: `§2.5 Route comparison is case-sensitive: "R2" is kept as "R2"`,
			ss:   "SID", path: "/", cookies: []string{"SID=a.R2"},
			wantRoute: "R2", wantSticky: "SID", wantFound: true,
		},
	})
}

// TestFindSpecPitfalls covers spec §12 items 1–5.
func TestFindSpecPitfalls(t *testing.T) {
	const ss = "JSESSIONID|jsessionid"
	runFind(t, []findCase{
		{
			name: `§12.1 The sticky URL parameter is found by substring search (no boundary): "xjsessionid="`,
			ss:   ss, path: "/", query: "a=1&xjsessionid=a.r2",
			wantRoute: "r2", wantSticky: "jsessionid", wantFound: true,
		},
		{
			name: `§12.1 path segments containing "name=" also match; "/" is not a terminator`,
			ss:   ss, path: "/shop/jsessionid=a.r2/cart",
			wantRoute: "r2/cart", wantSticky: "jsessionid", wantFound: true,
		},
		{
			name: `§12.1 "name=&x=y.r2" gives route "r2"`,
			ss:   ss, path: "/", query: "jsessionid=&x=y.r2",
			wantRoute: "r2", wantSticky: "jsessionid", wantFound: true,
		},
		{
			name: `§12.2 A URL value wins even without a route`,
			ss:   ss, path: "/;jsessionid=abc", cookies: []string{"JSESSIONID=a.r2"},
		},
		{
			name: `§12.3 The first cookie occurrence wins`,
			ss:   ss, path: "/", cookies: []string{"JSESSIONID=a.r1; JSESSIONID=a.r2"},
			wantRoute: "r1", wantSticky: "JSESSIONID", wantFound: true,
		},
		{
			name: `§12.3 An empty first value suppresses later ones`,
			ss:   ss, path: "/", cookies: []string{"JSESSIONID=; JSESSIONID=a.r2"},
		},
		{
			name: `§12.3 A separator-less first value suppresses later ones`,
			ss:   ss, path: "/", cookies: []string{"JSESSIONID=abc", "JSESSIONID=a.r2"},
		},
		{
			name: `§12.3 Values are not trimmed`,
			ss:   ss, path: "/", cookies: []string{"JSESSIONID=a.r2  "},
			wantRoute: "r2  ", wantSticky: "JSESSIONID", wantFound: true,
		},
		{
			name: `§12.3 Values are not unquoted`,
			ss:   ss, path: "/", cookies: []string{`JSESSIONID="a.r2"; x=1`},
			wantRoute: `r2"`, wantSticky: "JSESSIONID", wantFound: true,
		},
		{
			name: `§12.3 "," ends a value`,
			ss:   ss, path: "/", cookies: []string{"JSESSIONID=a.r2,b.r3"},
			wantRoute: "r2", wantSticky: "JSESSIONID", wantFound: true,
		},
		{
			name: `§12.3 ";" ends a value`,
			ss:   ss, path: "/", cookies: []string{"JSESSIONID=a.r2;b.r3"},
			wantRoute: "r2", wantSticky: "JSESSIONID", wantFound: true,
		},
		{
			name: `§12.4 The route is the text after the first separator, not the last`,
			ss:   ss, path: "/", cookies: []string{"JSESSIONID=a.b.r2"},
			wantRoute: "b.r2", wantSticky: "JSESSIONID", wantFound: true,
		},
		{
			name: `§12.4 Route comparison is case-sensitive (the route keeps its case)`,
			ss:   ss, path: "/", query: "jsessionid=A.R2",
			wantRoute: "R2", wantSticky: "jsessionid", wantFound: true,
		},
		{
			name: `§12.5 A path route is %-decoded (the caller passes the decoded path)`,
			ss:   ss, path: "/x;jsessionid=a.r2",
			wantRoute: "r2", wantSticky: "jsessionid", wantFound: true,
		},
		{
			name: `§12.5 a query route is not %-decoded`,
			ss:   ss, path: "/x", query: "jsessionid=a.r%32",
			wantRoute: "r%32", wantSticky: "jsessionid", wantFound: true,
		},
	})
}

// TestFindEdges covers cases the spec implies but does not list.
func TestFindEdges(t *testing.T) {
	runFind(t, []findCase{
		{
			name: "URL value at the very end of the query",
			ss:   "SID", path: "/", query: "x=1&SID=a.r2",
			wantRoute: "r2", wantSticky: "SID", wantFound: true,
		},
		{
			name: "URL '=' at the very end: no value, cookie consulted",
			ss:   "SID", path: "/", query: "x=1&SID=", cookies: []string{"SID=a.r3"},
			wantRoute: "r3", wantSticky: "SID", wantFound: true,
		},
		{
			name: "URL name at the very end without '='",
			ss:   "SID", path: "/", query: "SID", cookies: []string{"SID=a.r3"},
			wantRoute: "r3", wantSticky: "SID", wantFound: true,
		},
		{
			name: "URL occurrence without '=' is skipped for a later one",
			ss:   "SID", path: "/SID/x", query: "SIDX&SID=a.r2",
			wantRoute: "r2", wantSticky: "SID", wantFound: true,
		},
		{
			name: "URL path occurrence wins over query occurrence",
			ss:   "SID", path: "/x;SID=a.r1", query: "SID=a.r2",
			wantRoute: "r1", wantSticky: "SID", wantFound: true,
		},
		{
			name: "URL path '=' at the end of the path takes the first query token",
			ss:   "SID", path: "/x;SID=", query: "a.r2&b=1",
			wantRoute: "r2", wantSticky: "SID", wantFound: true,
		},
		{
			name: "URL path rest only delimiters continues into the query",
			ss:   "SID", path: "/x;SID=&&", query: "&a.r2",
			wantRoute: "r2", wantSticky: "SID", wantFound: true,
		},
		{
			name: "URL only delimiters after '=': no value, cookie consulted",
			ss:   "SID", sep: "Off", path: "/", query: "SID=&&", cookies: []string{"SID=r3"},
			wantRoute: "r3", wantSticky: "SID", wantFound: true,
		},
		{
			name: "URL '#' and spaces belong to the value",
			ss:   "SID", path: "/x;SID=a.r2 #frag",
			wantRoute: "r2 #frag", wantSticky: "SID", wantFound: true,
		},
		{
			name: "URL value with empty route after the separator",
			ss:   "SID", path: "/", query: "SID=abc.",
			wantRoute: "", wantSticky: "SID", wantFound: true,
		},
		{
			name: "A|B|C: cookie A, URL parameter B|C",
			ss:   "A|B|C", path: "/", query: "B|C=x.r2", cookies: []string{"A=x.r3"},
			wantRoute: "r2", wantSticky: "B|C", wantFound: true,
		},
		{
			name: "A|B|C: cookie A used when the URL has no B|C",
			ss:   "A|B|C", path: "/", query: "B=x.r2", cookies: []string{"A=x.r3"},
			wantRoute: "r3", wantSticky: "A", wantFound: true,
		},
		{
			name: "cookie '=' at the very end of the only header",
			ss:   "SID", sep: "Off", path: "/", cookies: []string{"x=1; SID="},
		},
		{
			name: "cookie '=' at the end of a non-last header is an empty value (joined by \", \")",
			ss:   "SID", sep: "Off", path: "/", cookies: []string{"SID=", "SID=r3"},
			wantRoute: "", wantSticky: "SID", wantFound: true,
		},
		{
			name: "cookie '=' at the end of the last header",
			ss:   "SID", sep: "Off", path: "/", cookies: []string{"x=1", "SID="},
		},
		{
			name: "cookie name ending a header is followed by ',' not '='",
			ss:   "SID", path: "/", cookies: []string{"x=1; SID", "=a.r2"},
		},
		{
			name: "cookie name at the start of a second header is preceded by ' '",
			ss:   "SID", path: "/", cookies: []string{"xSID=a.r1", "SID=a.r2"},
			wantRoute: "r2", wantSticky: "SID", wantFound: true,
		},
		{
			name: "cookie after a comma boundary",
			ss:   "SID", path: "/", cookies: []string{"x=1,SID=a.r2"},
			wantRoute: "r2", wantSticky: "SID", wantFound: true,
		},
		{
			name: "cookie whitespace (tab, newline) between name and '='",
			ss:   "SID", path: "/", cookies: []string{"SID\t\n=a.r2"},
			wantRoute: "r2", wantSticky: "SID", wantFound: true,
		},
		{
			name: "cookie occurrence inside another value is preceded by '=' and skipped",
			ss:   "SID", path: "/", cookies: []string{"x=SID=a.r1; SID=a.r2"},
			wantRoute: "r2", wantSticky: "SID", wantFound: true,
		},
		{
			// get_cookie_param moves past the byte it tested for '=' and searches
			// from the byte after it, so "SID" starting right after ';' is skipped.
			name: "cookie occurrence right after a rejected one is skipped (Apache's pointer arithmetic)",
			ss:   "SID", path: "/", cookies: []string{"SID;SID=a.r2"},
		},
		{
			name: "cookie occurrence two bytes after a rejected one is found",
			ss:   "SID", path: "/", cookies: []string{"SID; SID=a.r2"},
			wantRoute: "r2", wantSticky: "SID", wantFound: true,
		},
		{
			name: "cookie occurrence without boundary: search resumes at the next byte",
			ss:   "SID", path: "/", cookies: []string{"XSID=1;SID=a.r2"},
			wantRoute: "r2", wantSticky: "SID", wantFound: true,
		},
		{
			name: "no Cookie header",
			ss:   "SID", path: "/",
		},
		{
			name: "empty Cookie header",
			ss:   "SID", path: "/", cookies: []string{""},
		},
		{
			name: "custom separator '-' takes the first '-'",
			ss:   "SID", sep: "-", path: "/", cookies: []string{"SID=a.b-r2-x"},
			wantRoute: "r2-x", wantSticky: "SID", wantFound: true,
		},
		{
			name: "Off separator with the URL value",
			ss:   "SID", sep: "off", path: "/", query: "SID=r2",
			wantRoute: "r2", wantSticky: "SID", wantFound: true,
		},
	})
}

func TestFindRoutePattern(t *testing.T) {
	tests := []struct {
		name      string
		pattern   string
		query     string
		cookie    string
		wantRoute string
		wantFound bool
	}{
		{name: "cookie: first group is the route", pattern: `\.(r\d+)$`, cookie: "SID=a.b.r2", wantRoute: "r2", wantFound: true},
		{name: "URL: first group is the route", pattern: `\.(r\d+)$`, query: "SID=a.b.r7", wantRoute: "r7", wantFound: true},
		{name: "no match: no route", pattern: `\.(r\d+)$`, cookie: "SID=a.b.x", wantFound: false},
		{name: "separator rule replaced: a value without '.' can carry a route", pattern: `^node-(\w+)`, cookie: "SID=node-r2", wantRoute: "r2", wantFound: true},
		{name: "group that did not take part: no route", pattern: `^(?:x-(\w+)|y)$`, cookie: "SID=y", wantFound: false},
		{name: "empty group: empty route", pattern: `^a\.(\w*)$`, cookie: "SID=a.", wantRoute: "", wantFound: true},
		{name: "URL value without a match still hides the cookie", pattern: `\.(r\d+)$`, query: "SID=abc", cookie: "SID=a.r2", wantFound: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustExtractor(t, "SID", "", false, regexp.MustCompile(tt.pattern))
			var cookies []string
			if tt.cookie != "" {
				cookies = []string{tt.cookie}
			}
			route, name, found := e.Find("/", tt.query, cookies)
			wantName := ""
			if tt.wantFound {
				wantName = "SID"
			}
			if route != tt.wantRoute || name != wantName || found != tt.wantFound {
				t.Errorf("Find(%q, %q) = (%q, %q, %v), want (%q, %q, %v)",
					tt.query, cookies, route, name, found, tt.wantRoute, wantName, tt.wantFound)
			}
		})
	}
}

func TestExtractorNoStickiness(t *testing.T) {
	var nilE *sticky.Extractor
	for name, e := range map[string]*sticky.Extractor{"nil": nilE, "zero": {}} {
		if e.Enabled() {
			t.Errorf("%s Extractor: Enabled() = true, want false", name)
		}
		if r, n, ok := e.Find("/;SID=a.r2", "SID=a.r2", []string{"SID=a.r2"}); ok || r != "" || n != "" {
			t.Errorf("%s Extractor: Find = (%q, %q, %v), want nothing", name, r, n, ok)
		}
	}
	if e := mustExtractor(t, "SID", "", false, nil); !e.Enabled() {
		t.Error(`Extractor for "SID": Enabled() = false, want true`)
	}
}
