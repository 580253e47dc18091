// Command prometheus exports a balancer's events as Prometheus metrics
// through the observer hook. It is its own module, so the library itself
// pulls in no Prometheus code.
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
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/proxybalancer/balancer"
)

// Metrics holds the balancer's Prometheus collectors.
type Metrics struct {
	picks    *prometheus.CounterVec
	retries  *prometheus.CounterVec
	changes  *prometheus.CounterVec
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	bytes    *prometheus.CounterVec
}

// NewMetrics registers the collectors with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		picks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "balancer_picks_total", Help: "Members chosen, by reason (sticky, redirected, scheduled).",
		}, []string{"balancer", "member", "reason"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "balancer_retries_total", Help: "Failed attempts tried again on another member.",
		}, []string{"balancer", "member", "sent"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "balancer_member_state_changes_total", Help: "Member flag changes, by the new usability.",
		}, []string{"balancer", "member", "usable", "why"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "balancer_requests_total", Help: "Requests by the status the client got.",
		}, []string{"balancer", "member", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "balancer_request_duration_seconds", Help: "Request latency through the balancer.",
			Buckets: prometheus.DefBuckets,
		}, []string{"balancer"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "balancer_body_bytes_total", Help: "Body bytes to (in) and from (out) members.",
		}, []string{"balancer", "member", "direction"}),
	}
	reg.MustRegister(m.picks, m.retries, m.changes, m.requests, m.latency, m.bytes)
	return m
}

// Observer returns the balancer observer that feeds the collectors.
func (m *Metrics) Observer() *balancer.Observer {
	return &balancer.Observer{
		Picked: func(e balancer.PickEvent) {
			m.picks.WithLabelValues(e.Balancer, e.Member, e.Reason.String()).Inc()
		},
		Retried: func(e balancer.RetryEvent) {
			m.retries.WithLabelValues(e.Balancer, e.Member, strconv.FormatBool(e.Sent)).Inc()
		},
		StateChanged: func(e balancer.StateEvent) {
			m.changes.WithLabelValues(e.Balancer, e.Member, strconv.FormatBool(e.To.Usable()), e.Why).Inc()
		},
		Done: func(e balancer.DoneEvent) {
			m.requests.WithLabelValues(e.Balancer, e.Member, strconv.Itoa(e.Status)).Inc()
			m.latency.WithLabelValues(e.Balancer).Observe(e.Latency.Seconds())
			if e.Member != "" {
				m.bytes.WithLabelValues(e.Balancer, e.Member, "in").Add(float64(e.BytesIn))
				m.bytes.WithLabelValues(e.Balancer, e.Member, "out").Add(float64(e.BytesOut))
			}
		},
	}
}

// newHandler serves the balancer under /app/ and the metrics under /metrics.
func newHandler(reg *prometheus.Registry, urls ...string) (http.Handler, error) {
	var ms []balancer.Member
	for _, u := range urls {
		ms = append(ms, balancer.Member{URL: u})
	}
	b, err := balancer.New(balancer.Config{Name: "app", Members: ms, Observer: NewMetrics(reg).Observer()})
	if err != nil {
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
	h, err := newHandler(prometheus.NewRegistry(), urls...)
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
