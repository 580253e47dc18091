package pathmatch

import (
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		give, want string
		ok         bool
	}{
		{"/", "/", true},
		{"/x", "/x", true},
		{"/a/b/../../x;jsessionid=a.r2", "/x;jsessionid=a.r2", true},
		{"/jsessionid=a.r9/../x;jsessionid=a.r2", "/x;jsessionid=a.r2", true},
		{"/x;jsessionid=a.r2/../y", "/y", true},
		{"/x;jsessionid=a.r2//", "/x;jsessionid=a.r2/", true},
		{"/x;jsessionid=a.r2/.", "/x;jsessionid=a.r2/", true},
		{"/x;jsessionid=a.r1/%2e%2e/", "/", true},
		{"/x;jsessionid=a.r1/.%2E/", "/", true},
		{"///x;jsessionid=a.r2//y", "/x;jsessionid=a.r2/y", true},
		{"/x/..;jsessionid=a.r2", "/x/..;jsessionid=a.r2", true}, // not a dot segment
		{"/x/..", "/", true},
		{"/a/./b", "/a/b", true},
		{"/a/%7Euser/%41", "/a/~user/A", true}, // unreserved escapes are decoded
		{"/a%2Fb/../c", "/c", true},            // %2F is no separator: "a%2Fb" is one segment
		{"/a%2fb", "/a%2fb", true},             // unchanged
		{"/a%20b/./c", "/a%20b/c", true},       // reserved escapes stay
		{"/../x", "/x", false},                 // above the root: Apache answers 400
		{"/.hidden/x", "/.hidden/x", true},     // not a dot segment
		{"/a/...", "/a/...", true},
		{"/%%370", "/%70", true}, // one pass, as Apache
	}
	for _, tt := range tests {
		got, ok := Normalize(tt.give)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Normalize(%q) = %q, %v; want %q, %v", tt.give, got, ok, tt.want, tt.ok)
		}
	}
}

func TestNormalizeNoAlloc(t *testing.T) {
	s := strings.Repeat("/segment", 8) + ";jsessionid=a.r2"
	if n := testing.AllocsPerRun(100, func() { Normalize(s) }); n != 0 {
		t.Errorf("%v allocations for a clean path", n)
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"/a/../b", "//x/./y/", "/%2e%2E/", "/a%2Fb/..", "/.", "/..", "%41"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, _ := Normalize(s)
		if len(got) > len(s) {
			t.Errorf("Normalize(%q) = %q grew", s, got)
		}
		// Apache's normaliser is one pass, like this one: "/%%370" becomes
		// "/%70", not "/p", so it is not idempotent. It keeps the root.
		if strings.HasPrefix(s, "/") && !strings.HasPrefix(got, "/") {
			t.Errorf("Normalize(%q) = %q lost the leading slash", s, got)
		}
		if strings.Contains(got, "//") {
			t.Errorf("Normalize(%q) = %q has a double slash", s, got)
		}
	})
}
