package balancer

import "testing"

func TestRewriteCookie(t *testing.T) {
	domains := []CookieRewrite{{From: "backend.internal.corp", To: "public.example"}}
	paths := []CookieRewrite{{From: "/back/sub", To: "/app"}}
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
