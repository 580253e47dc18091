// Command prometheus serves a balancer and its Prometheus metrics, from the
// collector in github.com/proxybalancer/balancer/prometheus: the members'
// state and counters read at each scrape, and latency, sticky hits, route
// changes, retries and 503s counted from the balancer's events. It is its
// own module, so the library itself pulls in no Prometheus code.
//
//	cd examples/prometheus && go run . [-addr 127.0.0.1:8084]
//	curl http://127.0.0.1:8084/app/ ; curl http://127.0.0.1:8084/metrics
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/proxybalancer/balancer"
	balancerprom "github.com/proxybalancer/balancer/prometheus"
)

// newHandler serves a balancer over urls under /app/ and the metrics of
// reg, where the balancer's collector is registered, under /metrics.
func newHandler(reg *prometheus.Registry, urls ...string) (http.Handler, error) {
	var ms []balancer.Member
	for _, u := range urls {
		ms = append(ms, balancer.Member{URL: u})
	}
	metrics := balancerprom.New(balancerprom.Options{})
	cfg := balancer.Config{Name: "app", Members: ms}
	metrics.Instrument(&cfg) // events: latency, sticky hits, retries, 503s
	b, err := balancer.New(cfg)
	if err != nil {
		return nil, err
	}
	metrics.Add(b) // members: state, busy, load factor, counters
	if err := reg.Register(metrics); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/app/", b)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8084", "listen address")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var urls []string
	for range 2 {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello\n") }))
		defer s.Close()
		urls = append(urls, s.URL)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	h, err := newHandler(reg, urls...)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { <-ctx.Done(); srv.Close() }()
	fmt.Printf("curl http://%[1]s/app/ ; curl http://%[1]s/metrics\n", *addr)
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
