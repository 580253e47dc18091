package otel_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/proxybalancer/balancer"
	balancerotel "github.com/proxybalancer/balancer/otel"
)

// BenchmarkRequest measures a request through the balancer to a loopback
// member, untraced and traced (every span sampled, none exported), so the
// cost of tracing shows as the difference.
func BenchmarkRequest(b *testing.B) {
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer live.Close()
	cfg := func() balancer.Config {
		return balancer.Config{Name: "bench", Members: []balancer.Member{{URL: live.URL}}}
	}
	run := func(b *testing.B, h http.Handler) {
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
			if w.Code != http.StatusOK {
				b.Fatal(w.Code)
			}
		}
	}
	b.Run("untraced", func(b *testing.B) {
		bal, err := balancer.New(cfg())
		require.NoError(b, err)
		run(b, bal)
	})
	b.Run("traced", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
		defer tp.Shutdown(context.Background())
		tel, err := balancerotel.New(balancerotel.Options{TracerProvider: tp})
		require.NoError(b, err)
		c := cfg()
		tel.Instrument(&c)
		bal, err := balancer.New(c)
		require.NoError(b, err)
		run(b, tel.Handler(bal))
	})
}
