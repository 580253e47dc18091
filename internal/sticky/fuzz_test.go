package sticky_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/proxybalancer/balancer/internal/sticky"
)

// fuzzConfigs are the balancer configurations FuzzFind picks from.
var fuzzConfigs = []struct {
	ss, sep string
	scolon  bool
	pattern string // "" = separator rule
}{
	{ss: "JSESSIONID"},
	{ss: "JSESSIONID|jsessionid", scolon: true},
	{ss: "SID", sep: "Off"},
	{ss: "s", sep: "-"},
	{ss: "A|B|C", sep: "|"},
	{ss: "ROUTEID", pattern: `\.([a-z0-9]+)$`},
}

func cookieList(c1, c2 string, n uint8) []string {
	switch n % 3 {
	case 0:
		return nil
	case 1:
		return []string{c1}
	default:
		return []string{c1, c2}
	}
}

// FuzzFind checks, for arbitrary requests, that Find does not panic, is
// deterministic, returns a route that is a substring of what the client sent,
// and agrees with the naive model of spec §2.2–§2.5 in helpers_test.go.
func FuzzFind(f *testing.F) {
	seeds := []struct {
		path, query, c1, c2 string
		n, cfg              uint8
	}{
		{"/app;jsessionid=a.r2", "", "", "", 0, 1},
		{"/app", "jsessionid=&foo=bar.r2", "JSESSIONID=a.r3", "", 1, 1},
		{"/x;jsessionid=a.r2;foo=1", "", "", "", 0, 1},
		{"/", "", "$Version=1; JSESSIONID=a.r2; $Path=/", "", 1, 0},
		{"/", "", "JSESSIONID=; JSESSIONID=a.r2", "", 1, 0},
		{"/", "", "x=1;\tJSESSIONID = a.r2 ", "JSESSIONID=b.r3", 2, 0},
		{"/", "", "SID=", "SID=r3", 2, 2},
		{"/", "SID=&&", "SID=; x=1", "", 1, 2},
		{"/s=a-r2/x", "s=", "s=a.r2", "", 1, 3},
		{"/", "B|C=x|r2", "A=x|r3", "", 1, 4},
		{"/", "", "ROUTEID=.node1", "", 1, 5},
		{"/;jsessionid=", "&a.r2", "", "", 0, 1},
		{"", "", "JSESSIONID", "=a.r2", 2, 0},
	}
	for _, s := range seeds {
		f.Add(s.path, s.query, s.c1, s.c2, s.n, s.cfg)
	}
	extractors := make([]*sticky.Extractor, len(fuzzConfigs))
	for i, c := range fuzzConfigs {
		var re *regexp.Regexp
		if c.pattern != "" {
			re = regexp.MustCompile(c.pattern)
		}
		extractors[i] = mustExtractor(f, c.ss, c.sep, c.scolon, re)
	}
	f.Fuzz(func(t *testing.T, path, query, c1, c2 string, n, cfg uint8) {
		i := int(cfg) % len(fuzzConfigs)
		c, e := fuzzConfigs[i], extractors[i]
		cookies := cookieList(c1, c2, n)

		route, name, found := e.Find(path, query, cookies)
		route2, name2, found2 := e.Find(path, query, cookies)
		if route != route2 || name != name2 || found != found2 {
			t.Fatalf("not deterministic: (%q, %q, %v) then (%q, %q, %v)", route, name, found, route2, name2, found2)
		}

		cookie, param, _ := sticky.ParseStickySession(c.ss)
		if !found {
			if route != "" || name != "" {
				t.Fatalf("found = false with route %q, name %q", route, name)
			}
		} else {
			if name != cookie && name != param {
				t.Fatalf("sticky name %q is neither %q nor %q", name, cookie, param)
			}
			if !strings.Contains(path, route) && !strings.Contains(query, route) && !containsAny(cookies, route) {
				t.Fatalf("route %q is not a substring of the path, the query or a Cookie header", route)
			}
		}

		sep, _ := sticky.ParseSeparator(c.sep)
		var re *regexp.Regexp
		if c.pattern != "" {
			re = regexp.MustCompile(c.pattern)
		}
		wr, wn, wf := refFind(cookie, param, sep, c.scolon, re, path, query, cookies)
		if route != wr || name != wn || found != wf {
			t.Fatalf("config %+v: Find(%q, %q, %q) = (%q, %q, %v), model says (%q, %q, %v)",
				c, path, query, cookies, route, name, found, wr, wn, wf)
		}
	})
}

// FuzzFromURL checks FromURL against the concatenating model for any name,
// including the empty name and names refused by CheckParamName.
func FuzzFromURL(f *testing.F) {
	f.Add("/x;jsessionid=a.r2", "", "jsessionid", false)
	f.Add("/x", "jsessionid=&foo=bar.r2", "jsessionid", false)
	f.Add("/x;jsessionid=;a.r2", "", "jsessionid", true)
	f.Add("/a", "b=x.r2", "a?b", false)
	f.Add("/;s=", "&&a", "s", true)
	f.Add("", "aaa=v", "aa", false)
	f.Add("/", "x", "", false)
	f.Fuzz(func(t *testing.T, path, query, name string, scolon bool) {
		got, ok := sticky.FromURL(path, query, name, scolon)
		want, wantOK := refPathParam(path, query, name, scolon)
		if got != want || ok != wantOK {
			t.Fatalf("FromURL(%q, %q, %q, %v) = (%q, %v), model says (%q, %v)", path, query, name, scolon, got, ok, want, wantOK)
		}
		if ok && (got == "" || (!strings.Contains(path, got) && !strings.Contains(query, got))) {
			t.Fatalf("value %q is empty or not a substring of the path or the query", got)
		}
	})
}

// FuzzFromCookie checks FromCookie against the joining model for any name,
// including the empty name and names refused by CheckCookieName.
func FuzzFromCookie(f *testing.F) {
	f.Add("JSESSIONID=a.r2", "", "JSESSIONID", uint8(1))
	f.Add("x=1; a", "b=v", "a, b", uint8(2))
	f.Add("SID=", "SID=a.r2", "SID", uint8(2))
	f.Add("x=1", "SID=", "SID", uint8(2))
	f.Add("SID \t", "=v", "SID", uint8(2))
	f.Add("a;a=v", "", "a", uint8(1))
	f.Add("=v", "", "", uint8(1))
	f.Fuzz(func(t *testing.T, c1, c2, name string, n uint8) {
		cookies := cookieList(c1, c2, n)
		got, ok := sticky.FromCookie(cookies, name)
		want, wantOK := refCookie(cookies, name)
		if got != want || ok != wantOK {
			t.Fatalf("FromCookie(%q, %q) = (%q, %v), model says (%q, %v)", cookies, name, got, ok, want, wantOK)
		}
		if ok && !containsAny(cookies, got) {
			t.Fatalf("value %q is not a substring of a Cookie header", got)
		}
	})
}

func containsAny(list []string, s string) bool {
	for _, v := range list {
		if strings.Contains(v, s) {
			return true
		}
	}
	return false
}
