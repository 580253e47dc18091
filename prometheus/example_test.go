package prometheus_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/proxybalancer/balancer"
	balancerprom "github.com/proxybalancer/balancer/prometheus"
)

// A balancer's metrics on /metrics: Instrument before balancer.New for
// the events, Add after it for the members.
func Example() {
	member := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}))
	defer member.Close()

	metrics := balancerprom.New(balancerprom.Options{})
	cfg := balancer.Config{Name: "app", Members: []balancer.Member{{URL: member.URL}}}
	metrics.Instrument(&cfg)
	b, err := balancer.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	metrics.Add(b)
	reg := prom.NewRegistry()
	reg.MustRegister(metrics)

	for range 2 {
		b.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}
	w := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	for line := range strings.SplitSeq(w.Body.String(), "\n") {
		if strings.HasPrefix(line, "balancer_member_elected_total") || strings.HasPrefix(line, "balancer_requests_total") ||
			strings.HasPrefix(line, "balancer_member_usable") {
			fmt.Println(strings.ReplaceAll(line, member.URL, "http://member"))
		}
	}
	// Output:
	// balancer_member_elected_total{balancer="balancer://app",member="http://member"} 2
	// balancer_member_usable{balancer="balancer://app",member="http://member"} 1
	// balancer_requests_total{balancer="balancer://app",code="200"} 2
}
