//go:build promtool

package prometheus_test

import (
	"bytes"
	"net/http/httptest"
	"os/exec"
	"testing"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	balancerprom "github.com/proxybalancer/balancer/prometheus"
)

// Prometheus' own linter (promtool check metrics, from Debian's prometheus
// package) accepts what the collector exposes: names, units, help, types.
func TestPromtoolCheckMetrics(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	require.NoError(t, err, "promtool is needed: apt-get install prometheus")
	c := balancerprom.New(balancerprom.Options{})
	scenario(t, c)
	reg := prom.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	w := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	require.Equal(t, 200, w.Code)
	exposition := w.Body.Bytes()
	require.Contains(t, string(exposition), "balancer_member_request_duration_seconds_bucket")
	require.Contains(t, string(exposition), "balancer_retries_total")

	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(exposition)
	out, err := cmd.CombinedOutput()
	assert.NoError(t, err, "promtool: %s", out)
	assert.Empty(t, string(out))
	t.Logf("promtool check metrics: %d bytes, %d lines checked", len(exposition), bytes.Count(exposition, []byte("\n")))
}
