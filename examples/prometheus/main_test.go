package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The example serves the balancer and, on /metrics, the collector's
// series for it.
func TestMetrics(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }))
	t.Cleanup(s.Close)
	h, err := newHandler(prometheus.NewRegistry(), s.URL)
	require.NoError(t, err)
	for range 3 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/app/x", nil))
		require.Equal(t, http.StatusOK, w.Code)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	require.Equal(t, http.StatusOK, w.Code)
	body := w.Body.String()
	member := strings.ToLower(s.URL)
	for _, want := range []string{
		`balancer_member_elected_total{balancer="balancer://app",member="` + member + `"} 3`,
		`balancer_member_usable{balancer="balancer://app",member="` + member + `"} 1`,
		`balancer_member_received_bytes_total{balancer="balancer://app",member="` + member + `"}`,
		`balancer_requests_total{balancer="balancer://app",code="200"} 3`,
		`balancer_member_request_duration_seconds_count{balancer="balancer://app",member="` + member + `"} 3`,
	} {
		assert.Contains(t, body, want)
	}
}
