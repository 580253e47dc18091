package balancer_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/healthcheck"
	"github.com/proxybalancer/balancer/transport"
)

// BenchmarkLoopback compares the whole stack over loopback: our balancer
// (byrequests, sticky sessions, health checks, its own per-member
// transport) and a bare ReverseProxy with a tuned http.Transport (as the
// load harness's go-tuned row), both against the same two backends, with
// 64 B and 16 KiB bodies. The ratio of ns/op and allocs/op is our cost.
func BenchmarkLoopback(b *testing.B) {
	small, big := strings.Repeat("x", 64), strings.Repeat("y", 16<<10)
	var urls []string
	for range 2 {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/big" {
				io.WriteString(w, big)
				return
			}
			io.WriteString(w, small)
		}))
		b.Cleanup(srv.Close)
		urls = append(urls, srv.URL)
	}
	tuned := &http.Transport{
		Proxy: nil, DialContext: (&net.Dialer{Timeout: 30 * time.Second}).DialContext,
		MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 90 * time.Second,
		DisableCompression: true, ReadBufferSize: 32 << 10, WriteBufferSize: 32 << 10,
	}
	b.Cleanup(tuned.CloseIdleConnections)
	var targets []*url.URL
	for _, u := range urls {
		t, _ := url.Parse(u)
		targets = append(targets, t)
	}
	next := 0
	bare := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(targets[next%2])
			next++
			pr.SetXForwarded()
		},
		Transport:  tuned,
		BufferPool: &transport.BufferPool{},
	}
	var ms []balancer.Member
	for i, u := range urls {
		ms = append(ms, balancer.Member{URL: u, Route: string(rune('a' + i)),
			HealthCheck: healthcheck.Check{Method: healthcheck.MethodGet, URI: "/", Interval: 5 * time.Second}})
	}
	lb, err := balancer.New(balancer.Config{Name: "bench", Members: ms, StickySession: "JSESSIONID"})
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	go lb.RunHealthChecks(ctx)
	for _, path := range []string{"/", "/big"} {
		for _, h := range []struct {
			name string
			h    http.Handler
		}{{"bare", bare}, {"balancer", lb}} {
			b.Run(h.name+strings.ReplaceAll(path, "/", "_"), func(b *testing.B) {
				req := httptest.NewRequest("GET", "http://front"+path, nil)
				req.RemoteAddr = "127.0.0.1:5555"
				b.ReportAllocs()
				for b.Loop() {
					w := httptest.NewRecorder()
					h.h.ServeHTTP(w, req)
					if w.Code != 200 {
						b.Fatalf("status %d", w.Code)
					}
				}
			})
		}
	}
}
