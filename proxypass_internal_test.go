package balancer

import "testing"

// Apache's alias_match (mod_proxy.c), case by case.
func TestAliasMatch(t *testing.T) {
	tests := []struct {
		path, alias string
		want        int
	}{
		{"/app", "/app", 4},
		{"/app/x", "/app", 4},
		{"/apple", "/app", -1}, // the last component must match all the way
		{"/app", "/app/", -1},  // the path ends before the alias
		{"/app/", "/app/", 5},
		{"/app//x", "/app/", 6}, // slash runs match slash runs
		{"//app/x", "/app", 5},
		{"/x", "/", 1},
		{"/", "/", 1},
		{"/", "/examples", -1},
		{"/App", "/app", -1}, // case-sensitive
		{"/app?x", "/app", -1},
	}
	for _, tt := range tests {
		if got := aliasMatch(tt.path, tt.alias); got != tt.want {
			t.Errorf("aliasMatch(%q, %q) = %d, want %d", tt.path, tt.alias, got, tt.want)
		}
	}
}

func TestRewriteCookie(t *testing.T) {
	domains := []Rewrite{{From: "backend.internal.corp", To: "public.example"}}
	paths := []Rewrite{{From: "/back/sub", To: "/app"}}
	tests := []struct{ give, want string }{
		// §11 verified: the whole path value is replaced, /deeper is lost.
		{"a=1; Path=/back/sub/deeper; HttpOnly", "a=1; Path=/app; HttpOnly"},
		{"a=1; path=/back/sub", "a=1; path=/app"},
		{"a=1; Path=/other", "a=1; Path=/other"},
		{"a=1; Domain=BACKEND.internal.corp; Secure", "a=1; Domain=public.example; Secure"},
		{"a=1; Path=/BACK/sub", "a=1; Path=/BACK/sub"}, // paths compare case-sensitively
		{"path=/back/sub", "path=/back/sub"},           // the cookie's own name=value is not an attribute
		{"a=1;Path=/back/sub;Domain=backend.internal.corp", "a=1;Path=/app;Domain=public.example"},
	}
	for _, tt := range tests {
		if got := rewriteCookie(tt.give, domains, paths); got != tt.want {
			t.Errorf("rewriteCookie(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}
