package balancer_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/proxybalancer/balancer"
)

// recorder is a backend that records the request URI it got and can answer
// with headers chosen by the test.
type recorder struct {
	srv    *httptest.Server
	mu     sync.Mutex
	uris   []string
	answer http.Header
}

func newRecorder(t *testing.T, name string) *recorder {
	rc := &recorder{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.mu.Lock()
		rc.uris = append(rc.uris, r.RequestURI)
		for k, v := range rc.answer {
			w.Header()[k] = v
		}
		rc.mu.Unlock()
		io.WriteString(w, name)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *recorder) last() string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.uris) == 0 {
		return ""
	}
	return rc.uris[len(rc.uris)-1]
}

// ProxyPass /app balancer://c/back with a member at /base: the prefix is
// replaced and the rest joined to the member's path; exclusions and other
// paths go to the next handler; the first match wins.
func TestMux(t *testing.T) {
	rc := newRecorder(t, "m1")
	b := mustNew(t, balancer.Config{Name: "c", Members: []balancer.Member{{URL: rc.srv.URL + "/base"}}})
	mux, err := balancer.NewMux(
		balancer.ProxyPass{Path: "/app/static"}, // ProxyPass /app/static !
		balancer.ProxyPass{Path: "/app", Balancer: b, BalancerPath: "/back"},
		balancer.ProxyPass{Path: "/", Balancer: b, BalancerPath: "/root"},
	)
	if err != nil {
		t.Fatal(err)
	}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "next:"+r.URL.Path) })
	front := httptest.NewServer(mux.Wrap(next))
	t.Cleanup(front.Close)
	tests := []struct{ path, wantBody, wantURI string }{
		{"/app/x%20y?q=1&r=a%20b", "m1", "/base/back/x%20y?q=1&r=a%20b"},
		{"/app", "m1", "/base/back"},
		{"/app/static/logo.png", "next:/app/static/logo.png", ""},
		{"/apple", "m1", "/base/rootapple"}, // not under /app: the "/" mount, plain concatenation
		{"/app/a%2Fb", "Not Found\n", ""},   // Apache's 404 for an encoded slash
		{"/app/a%3Bb", "m1", "/base/back/a;b"},
	}
	for _, tt := range tests {
		res, err := http.Get(front.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(body) != tt.wantBody {
			t.Errorf("%s: body %q, want %q", tt.path, body, tt.wantBody)
			continue
		}
		if tt.wantURI != "" && rc.last() != tt.wantURI {
			t.Errorf("%s: member got %q, want %q", tt.path, rc.last(), tt.wantURI)
		}
	}
	// Without a next handler, unmatched requests get 404.
	only, _ := balancer.NewMux(balancer.ProxyPass{Path: "/app", Balancer: b})
	w := httptest.NewRecorder()
	only.ServeHTTP(w, httptest.NewRequest("GET", "/other", nil))
	if w.Code != 404 {
		t.Errorf("unmatched: %d, want 404", w.Code)
	}
}

// The sticky URL parameter is searched in the mapped path, as Apache does.
func TestMuxSticky(t *testing.T) {
	r1, r2 := newRecorder(t, "r1"), newRecorder(t, "r2")
	b := mustNew(t, balancer.Config{Name: "c", StickySession: "JSESSIONID|jsessionid", Members: []balancer.Member{
		{URL: r1.srv.URL, Route: "r1"}, {URL: r2.srv.URL, Route: "r2"},
	}})
	mux, _ := balancer.NewMux(balancer.ProxyPass{Path: "/app", Balancer: b, BalancerPath: "/back"})
	for range 3 {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("GET", "/app/page;jsessionid=abc.r2?x=1", nil))
		if w.Body.String() != "r2" {
			t.Fatalf("got %q, want r2", w.Body.String())
		}
	}
	if got := r2.last(); got != "/back/page;jsessionid=abc.r2?x=1" {
		t.Errorf("member got %q", got)
	}
}

// §11: Location-like headers naming any member (not only the one that
// answered) are mapped back; relative ones are not; cookies are rewritten.
func TestReverseMapping(t *testing.T) {
	r1, r2 := newRecorder(t, "r1"), newRecorder(t, "r2")
	r1.answer = http.Header{
		"Location":         {strings.ToUpper(r2.srv.URL[:4]) + r2.srv.URL[4:] + "/back/sub/foo"}, // HTTP://, member 2
		"Content-Location": {"/back/sub/relative"},
		"Destination":      {r1.srv.URL + "/other/x"},
		"Set-Cookie":       {"s=1; Path=/back/sub/deeper; Domain=backend.internal.corp"},
	}
	b := mustNew(t, balancer.Config{Name: "c", Members: []balancer.Member{{URL: r1.srv.URL}, {URL: r2.srv.URL}}})
	mux, err := balancer.NewMux(balancer.ProxyPass{
		Path: "/app", Balancer: b, BalancerPath: "/back/sub", Reverse: true,
		CookiePaths:   []balancer.CookieRewrite{{From: "/back/sub", To: "/app"}},
		CookieDomains: []balancer.CookieRewrite{{From: "backend.internal.corp", To: "public.example"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "http://front.example:8080/app/x", nil))
	if w.Body.String() != "r1" {
		t.Fatalf("served by %q", w.Body.String())
	}
	want := map[string]string{
		"Location":         "http://front.example:8080/app/foo",
		"Content-Location": "/back/sub/relative",
		"Destination":      r1.srv.URL + "/other/x",
		"Set-Cookie":       "s=1; Path=/app; Domain=public.example",
	}
	for k, v := range want {
		if got := w.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	// With a trailing slash on the front path, no double slash (the next
	// request goes to r2, which answers alike).
	r2.answer = r1.answer
	mux2, _ := balancer.NewMux(balancer.ProxyPass{Path: "/app/", Balancer: b, BalancerPath: "/back/sub", Reverse: true})
	w = httptest.NewRecorder()
	mux2.ServeHTTP(w, httptest.NewRequest("GET", "http://front.example/app/x", nil))
	if got := w.Header().Get("Location"); got != "http://front.example/app/foo" {
		t.Errorf("Location %q, want no double slash", got)
	}
}

func TestNewMuxRejects(t *testing.T) {
	b := mustNew(t, balancer.Config{Members: members("a"), Transport: newStub()})
	for _, p := range []balancer.ProxyPass{
		{Path: "app", Balancer: b},
		{Path: "/app", Balancer: b, BalancerPath: "back"},
		{Path: "/app", BalancerPath: "/back"},
		{Path: "/app", Balancer: b, CookiePaths: []balancer.CookieRewrite{{To: "/x"}}},
	} {
		if _, err := balancer.NewMux(p); err == nil || !strings.HasPrefix(err.Error(), "balancer: proxypass") {
			t.Errorf("NewMux(%+v) error = %v", p, err)
		}
	}
}

// The request path is normalised before mounting, routing and forwarding,
// as Apache's core does: ".." cannot slip past an exclusion, the member gets
// the clean path, and a path above the root is refused.
func TestPathNormalised(t *testing.T) {
	rc := newRecorder(t, "m1")
	b := mustNew(t, balancer.Config{Name: "c", Members: []balancer.Member{{URL: rc.srv.URL}}})
	mux, _ := balancer.NewMux(
		balancer.ProxyPass{Path: "/app/admin"},
		balancer.ProxyPass{Path: "/app", Balancer: b},
	)
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "next") })
	h := mux.Wrap(next)
	tests := []struct{ path, wantBody, wantURI string }{
		{"/app/x/../admin/users", "next", ""},
		{"/app//admin", "next", ""},
		{"/app/a/./b//c/%2e%2e/d?q=1", "m1", "/a/b/d?q=1"},
		{"/app/x/%2e", "m1", "/x/"},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "http://front.example"+tt.path, nil)
		h.ServeHTTP(w, r)
		if w.Body.String() != tt.wantBody {
			t.Errorf("%s: %q, want %q", tt.path, w.Body.String(), tt.wantBody)
		}
		if tt.wantURI != "" && rc.last() != tt.wantURI {
			t.Errorf("%s: member got %q, want %q", tt.path, rc.last(), tt.wantURI)
		}
	}
	for _, h := range []http.Handler{mux, b} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/", nil)
		r.URL.Path = "/../etc/passwd"
		h.ServeHTTP(w, r)
		if w.Code != 400 {
			t.Errorf("above the root: %d, want 400", w.Code)
		}
	}
}
