package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestMetrics(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }))
	t.Cleanup(s.Close)
	h, err := newHandler(prometheus.NewRegistry(), s.URL)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/app/x", nil))
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	body := w.Body.String()
	member := strings.ToLower(s.URL)
	for _, want := range []string{
		`balancer_picks_total{balancer="balancer://app",member="` + member + `",reason="scheduled"} 3`,
		`balancer_requests_total{balancer="balancer://app",code="200",member="` + member + `"} 3`,
		`balancer_body_bytes_total{balancer="balancer://app",direction="out",member="` + member + `"} 15`,
		`balancer_request_duration_seconds_count{balancer="balancer://app"} 3`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
