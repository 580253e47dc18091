package sticky_test

import (
	"testing"

	"github.com/proxybalancer/balancer/internal/sticky"
)

func TestFromURL(t *testing.T) {
	tests := []struct {
		name   string
		path   string
		query  string
		param  string
		scolon bool
		want   string
		wantOK bool
	}{
		{name: "empty name never matches", path: "/=a.r2", query: "=b.r3", param: ""},
		{name: "path only", path: "/x;s=a.r2", param: "s", want: "a.r2", wantOK: true},
		{name: "query only", path: "/x", query: "s=a.r2", param: "s", want: "a.r2", wantOK: true},
		{name: "value ends at '&'", query: "s=a.r2&t=1", param: "s", want: "a.r2", wantOK: true},
		{name: "value ends at a second '?'", query: "s=a.r2?t=1", param: "s", want: "a.r2", wantOK: true},
		{name: "';' ends the value only with scolon", path: "/;s=a.r2;x", param: "s", want: "a.r2;x", wantOK: true},
		{name: "';' ends the value with scolon", path: "/;s=a.r2;x", param: "s", scolon: true, want: "a.r2", wantOK: true},
		{name: "leading ';' skipped only with scolon", path: "/;s=;a.r2", param: "s", want: ";a.r2", wantOK: true},
		{name: "path value ends where the query starts", path: "/;s=a.r2", query: "t=1", param: "s", want: "a.r2", wantOK: true},
		{name: "'=' ending the path: first query token", path: "/;s=", query: "&&a.r2&b", param: "s", want: "a.r2", wantOK: true},
		{name: "'=' ending the path, query only delimiters", path: "/;s=", query: "&&", param: "s"},
		{name: "'=' ending the path, no query", path: "/;s=", param: "s"},
		{name: "'=' ending the query", query: "t=1&s=", param: "s"},
		{name: "name ending the path is followed by '?'", path: "/s", query: "=a.r2", param: "s"},
		// get_path_param resumes its search one byte past the end of a rejected
		// occurrence (strstr(path + 1, name) after path += strlen(name)), so an
		// occurrence starting right there or overlapping is never seen.
		{name: "overlapping occurrence is skipped", query: "aaa=v", param: "aa", want: "", wantOK: false},
		{name: "adjacent occurrence is skipped", query: "abab=v", param: "ab", want: "", wantOK: false},
		{name: "occurrence one byte later is found", query: "abxab=v", param: "ab", want: "v", wantOK: true},
		{name: "jsessionid twice in a row", path: "/x;jsessionidjsessionid=a.r2", param: "jsessionid", want: "", wantOK: false},
		{name: "name with '|'", query: "B|C=v", param: "B|C", want: "v", wantOK: true},
		{name: "name with '?' may span path and query (allocating fallback)", path: "/a", query: "b=x.r2", param: "a?b", want: "x.r2", wantOK: true},
		{name: "name with '?' inside the query", path: "/", query: "a?b=v", param: "a?b", want: "v", wantOK: true},
		{name: "name with '?', no query", path: "/a?b=v", param: "a?b", want: "v", wantOK: true},
		{name: "name of delimiters only", query: "&=&&", param: "&"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := sticky.FromURL(tt.path, tt.query, tt.param, tt.scolon)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("FromURL(%q, %q, %q, %v) = (%q, %v), want (%q, %v)",
					tt.path, tt.query, tt.param, tt.scolon, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestFromCookie(t *testing.T) {
	tests := []struct {
		name    string
		headers []string
		cookie  string
		want    string
		wantOK  bool
	}{
		{name: "empty name never matches", headers: []string{"=a.r2"}, cookie: ""},
		{name: "no headers", cookie: "s"},
		{name: "nil-like empty header", headers: []string{""}, cookie: "s"},
		{name: "single", headers: []string{"s=a.r2"}, cookie: "s", want: "a.r2", wantOK: true},
		{name: "value to ';'", headers: []string{"s=a.r2; t=1"}, cookie: "s", want: "a.r2", wantOK: true},
		{name: "value to ','", headers: []string{"s=a.r2, t=1"}, cookie: "s", want: "a.r2", wantOK: true},
		{name: "value to the earlier of ',' and ';'", headers: []string{"s=a,b;c"}, cookie: "s", want: "a", wantOK: true},
		{name: "empty value before ';' is returned", headers: []string{"s=;t=1"}, cookie: "s", want: "", wantOK: true},
		{name: "empty value at a header end, not last, is returned", headers: []string{"s=", "t=1"}, cookie: "s", want: "", wantOK: true},
		{name: "'=' at the end of the last header is skipped", headers: []string{"t=1", "s="}, cookie: "s"},
		{name: "whitespace to the end of a header, then ','", headers: []string{"s  ", "=v"}, cookie: "s"},
		{name: "\\v and \\f are isspace", headers: []string{"t=1;\vs\f=v"}, cookie: "s", want: "v", wantOK: true},
		{name: "0x85 and 0xA0 are not isspace in the C locale", headers: []string{"t=1\x85s=v; u\xa0s=w"}, cookie: "s"},
		{name: "second header's start counts as after ' '", headers: []string{"t=1", "s=v"}, cookie: "s", want: "v", wantOK: true},
		{name: "empty headers in between", headers: []string{"", "", "s=v"}, cookie: "s", want: "v", wantOK: true},
		{name: "name with ',' spanning two headers (allocating fallback)", headers: []string{"x=1; a", "b=v"}, cookie: "a, b", want: "v", wantOK: true},
		{name: "name with ' ' spanning two headers (allocating fallback)", headers: []string{"0", "b=0"}, cookie: " b", want: "0", wantOK: true},
		{name: "name with ',' in one header", headers: []string{"a,b=v"}, cookie: "a,b", want: "v", wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := sticky.FromCookie(tt.headers, tt.cookie)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("FromCookie(%q, %q) = (%q, %v), want (%q, %v)", tt.headers, tt.cookie, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestRoute(t *testing.T) {
	tests := []struct {
		value  string
		sep    byte
		want   string
		wantOK bool
	}{
		{value: "a.r2", sep: '.', want: "r2", wantOK: true},
		{value: "a.b.r2", sep: '.', want: "b.r2", wantOK: true},
		{value: ".r2", sep: '.', want: "r2", wantOK: true},
		{value: "abc.", sep: '.', want: "", wantOK: true},
		{value: "abc", sep: '.', want: "", wantOK: false},
		{value: "", sep: '.', want: "", wantOK: false},
		{value: "a.r2", sep: '-', want: "", wantOK: false},
		{value: "a-r2", sep: '-', want: "r2", wantOK: true},
		{value: "a.r2", sep: 0, want: "a.r2", wantOK: true},
		{value: "", sep: 0, want: "", wantOK: true},
		{value: "a\xffr2", sep: 0xff, want: "r2", wantOK: true},
	}
	for _, tt := range tests {
		got, ok := sticky.Route(tt.value, tt.sep)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("Route(%q, %q) = (%q, %v), want (%q, %v)", tt.value, tt.sep, got, ok, tt.want, tt.wantOK)
		}
	}
}

// TestFindAllocs guards the documented "no allocation" contract of the hot
// path (the benchmarks report the same figure).
func TestFindAllocs(t *testing.T) {
	e := mustExtractor(t, "JSESSIONID|jsessionid", "", false, nil)
	cookies := []string{"_ga=GA1.2.3; theme=dark; JSESSIONID=8F2C4A1B9D.r2; lang=en"}
	two := []string{"_ga=GA1.2.3", "JSESSIONID=8F2C4A1B9D.r2"}
	cases := map[string]func(){
		"cookie":      func() { e.Find("/app/cart", "item=42", cookies) },
		"two cookies": func() { e.Find("/app/cart", "item=42", two) },
		"path":        func() { e.Find("/app/cart;jsessionid=8F2C4A1B9D.r2", "item=42", cookies) },
		"query":       func() { e.Find("/app/cart", "item=42&jsessionid=8F2C4A1B9D.r2", nil) },
		"miss":        func() { e.Find("/app/cart", "item=42", []string{"_ga=GA1.2.3"}) },
	}
	for name, f := range cases {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("Find (%s): %v allocations per call, want 0", name, n)
		}
	}
}
