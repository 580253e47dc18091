package balancer_test

import (
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/proxybalancer/balancer"
)

// Nothing a user configures makes New panic: it returns a balancer or an
// error.
func FuzzNew(f *testing.F) {
	f.Add("http://h:1/app", 1.5, 0, "+H", "r1", "", "JSESSIONID|jsessionid", ".", int64(0))
	f.Add("HTTP://[::1]:80", 100.0, 99, "-D+S", "", "r2", "A|", "Off", int64(-1))
	f.Add("ftp://x", -3.0, 100, "X", "\x00", "", "|", "ab", int64(60))
	f.Fuzz(func(t *testing.T, u string, lf float64, lbset int, status, route, redirect, sticky, sep string, retry int64) {
		b, err := balancer.New(balancer.Config{
			Name:             "f",
			Members:          []balancer.Member{{URL: u, LoadFactor: lf, LBSet: lbset, Status: status, Route: route, Redirect: redirect, Retry: time.Duration(retry)}, {URL: "http://other"}},
			StickySession:    sticky,
			StickySessionSep: sep,
			Transport:        newStub(),
		})
		if (b == nil) == (err == nil) {
			t.Fatalf("New returned %v, %v", b, err)
		}
	})
}

// Nothing a client sends makes the request path panic: any path, query and
// cookie get an answer.
func FuzzServeHTTP(f *testing.F) {
	f.Add("/x;jsessionid=a.r2", "q=1&jsessionid=&x=.r1", "JSESSIONID=a.r1, JSESSIONID=b")
	f.Add("/../a/%2e%2e//b", "", "JSESSIONID= a.r2 ;")
	f.Add("/%zz", "%", "=;,")
	b, err := balancer.New(balancer.Config{
		Name:            "f",
		Members:         members("a route=r1", "b route=r2 status=D redirect=r1", "c route=r3 status=H"),
		StickySession:   "JSESSIONID|jsessionid",
		ScolonPathDelim: true,
		Transport:       newStub(),
	})
	if err != nil {
		f.Fatal(err)
	}
	mux, err := balancer.NewMux(balancer.ProxyPass{Path: "/a/b"}, balancer.ProxyPass{Path: "/", Balancer: b, BalancerPath: "/x"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, path, query, cookie string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.URL = &url.URL{Path: path, RawQuery: query}
		r.Header.Set("Cookie", cookie)
		w := httptest.NewRecorder()
		b.ServeHTTP(w, r)
		if w.Code != 200 && w.Code != 400 {
			t.Errorf("balancer answered %d to %q %q %q", w.Code, path, query, cookie)
		}
		w = httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if w.Code != 200 && w.Code != 400 && w.Code != 404 {
			t.Errorf("mux answered %d to %q %q %q", w.Code, path, query, cookie)
		}
		b.Decide(r)
	})
}
