package otel_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httptest"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/proxybalancer/balancer"
	balancerotel "github.com/proxybalancer/balancer/otel"
)

// Tracing a balancer whose first member refuses connections: the request
// span, and under it one span per attempt, the second a failover.
func Example() {
	exp := tracetest.NewInMemoryExporter() // in production: an OTLP exporter
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())

	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + l.Addr().String()
	l.Close() // nothing listens: connections are refused
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "traceparent sent: %v", r.Header.Get("Traceparent") != "")
	}))
	defer live.Close()
	names := map[string]string{dead: "dead", live.URL: "live"}

	tel, err := balancerotel.New(balancerotel.Options{TracerProvider: tp})
	if err != nil {
		log.Fatal(err)
	}
	cfg := balancer.Config{Name: "shop", Members: []balancer.Member{{URL: dead}, {URL: live.URL}}}
	tel.Instrument(&cfg) // sets cfg.Observer and cfg.WrapTransport
	b, err := balancer.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	h := tel.Handler(b) // the request span

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/cart", nil))
	fmt.Println(w.Code, w.Body.String())
	for _, s := range exp.GetSpans() { // in the order they ended
		a := map[string]string{}
		for _, kv := range s.Attributes {
			a[string(kv.Key)] = kv.Value.String()
		}
		fmt.Printf("%s %s member=%s reason=%s retry=%s error=%s status=%s\n", s.SpanKind, s.Name,
			names[a["balancer.member"]], a["balancer.reason"], a["balancer.retry.kind"], a["error.type"], a["http.response.status_code"])
	}
	// Output:
	// 200 traceparent sent: true
	// client GET member=dead reason=scheduled retry= error=connect status=
	// client GET member=live reason=scheduled retry=failover error= status=200
	// server GET member=live reason= retry= error= status=200
}
