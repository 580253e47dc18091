package balancer_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/transport"
)

// staticTransport answers every request with a fixed 64-byte body, so a
// benchmark measures the proxy layer and nothing else.
type staticTransport struct{}

var body64 = strings.Repeat("x", 64)

func (staticTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode:    200,
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"text/plain"}},
		Body:          io.NopCloser(strings.NewReader(body64)),
		ContentLength: 64,
		Request:       r,
	}, nil
}

// BenchmarkServeHTTP compares the balancer with a bare ReverseProxy over
// the same transport; the ratio of their ns/op and allocs/op is our
// overhead.
func BenchmarkServeHTTP(b *testing.B) {
	run := func(b *testing.B, h http.Handler, cookie string) {
		req := httptest.NewRequest("GET", "http://front.example/app/x?q=1", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatalf("status %d", w.Code)
			}
		}
	}
	target, _ := url.Parse("http://10.0.0.1:8080")
	bare := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		Transport:  staticTransport{},
		BufferPool: &transport.BufferPool{}, // as ours: a fair comparison
	}
	b.Run("bare-reverseproxy", func(b *testing.B) { run(b, bare, "") })
	// The same request as the sticky rows: ReverseProxy's own header clone
	// costs more with a Cookie header.
	b.Run("bare-reverseproxy-cookie", func(b *testing.B) { run(b, bare, "JSESSIONID=abc.r2") })

	lb := func(sticky string) *balancer.Balancer {
		bl, err := balancer.New(balancer.Config{
			Name:          "bench",
			Members:       []balancer.Member{{URL: "http://10.0.0.1:8080", Route: "r1"}, {URL: "http://10.0.0.2:8080", Route: "r2"}},
			StickySession: sticky,
			Transport:     staticTransport{},
		})
		if err != nil {
			b.Fatal(err)
		}
		return bl
	}
	b.Run("balancer", func(b *testing.B) { run(b, lb(""), "") })
	b.Run("balancer-sticky-miss", func(b *testing.B) { run(b, lb("JSESSIONID|jsessionid"), "") })
	b.Run("balancer-sticky-hit", func(b *testing.B) { run(b, lb("JSESSIONID|jsessionid"), "JSESSIONID=abc.r2") })
}
