package balancer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/healthcheck"
	"github.com/proxybalancer/balancer/transport"
)

// Health checks reach an https member as its requests do: with the
// member's TLS settings (a private CA, a client certificate). Before, the
// first check failed (unknown authority, or no client certificate), the
// member was marked failed and every request got 503.

// tlsMember starts an https member whose certificate is signed by
// httptest's own CA (private: no system pool trusts it), configured by
// configure before it starts.
func tlsMember(t *testing.T, configure func(*tls.Config)) (*httptest.Server, *x509.CertPool) {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "served over TLS")
	}))
	srv.TLS = &tls.Config{}
	if configure != nil {
		configure(srv.TLS)
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return srv, pool
}

// firstCheck runs b's health checks until the first result for the only
// member and returns it, with the member's state then.
func firstCheck(t *testing.T, cfg balancer.Config) (*balancer.Balancer, healthcheck.Result) {
	t.Helper()
	results := make(chan healthcheck.Result, 16)
	cfg.Observer = &balancer.Observer{HealthChecked: func(ev balancer.HealthEvent) {
		select {
		case results <- ev.Result:
		default:
		}
	}}
	b := mustNew(t, cfg)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- b.RunHealthChecks(ctx) }()
	t.Cleanup(func() {
		cancel()
		assert.ErrorIs(t, <-done, context.Canceled)
	})
	select {
	case res := <-results:
		return b, res
	case <-time.After(10 * time.Second):
		t.Fatal("no health check result within 10s")
		return nil, healthcheck.Result{}
	}
}

var tlsCheck = healthcheck.Check{Method: healthcheck.MethodGet, URI: "/health", Interval: healthcheck.MinInterval, Fails: 1}

func TestHealthCheckPrivateCA(t *testing.T) {
	srv, pool := tlsMember(t, nil)
	b, res := firstCheck(t, balancer.Config{Name: "tls", Members: []balancer.Member{{
		URL:         srv.URL,
		Connection:  transport.Options{TLSClientConfig: &tls.Config{RootCAs: pool}},
		HealthCheck: tlsCheck,
	}}})
	assert.True(t, res.Passed, "first check: %v", res.Err)
	assert.True(t, res.Healthy)
	assert.False(t, b.Members()[0].Status.Has(balancer.StatusHCFailed))
	w := fetch(b, "/", "")
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "served over TLS", w.Body.String())
}

func TestHealthCheckClientCertificate(t *testing.T) {
	ca, caKey := newCA(t)
	clientCert := newClientCert(t, ca, caKey)
	clientCAs := x509.NewCertPool()
	clientCAs.AddCert(ca)
	srv, pool := tlsMember(t, func(c *tls.Config) {
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientCAs = clientCAs
	})
	b, res := firstCheck(t, balancer.Config{Name: "mtls", Members: []balancer.Member{{
		URL:         srv.URL,
		Connection:  transport.Options{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{clientCert}}},
		HealthCheck: tlsCheck,
	}}})
	assert.True(t, res.Passed, "first check: %v", res.Err)
	assert.False(t, b.Members()[0].Status.Has(balancer.StatusHCFailed))
	w := fetch(b, "/", "")
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "served over TLS", w.Body.String())

	// Without the client certificate the member refuses the check.
	_, res = firstCheck(t, balancer.Config{Name: "nocert", Members: []balancer.Member{{
		URL:         srv.URL,
		Connection:  transport.Options{TLSClientConfig: &tls.Config{RootCAs: pool}},
		HealthCheck: tlsCheck,
	}}})
	assert.False(t, res.Passed, "a check without the client certificate passed")
}

// A Config.Transport that is an *http.Transport lends its TLS settings to
// the checks too.
func TestHealthCheckHTTPTransportTLS(t *testing.T) {
	srv, pool := tlsMember(t, nil)
	b, res := firstCheck(t, balancer.Config{Name: "ht", Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		Members: []balancer.Member{{URL: srv.URL, HealthCheck: tlsCheck}}})
	assert.True(t, res.Passed, "first check: %v", res.Err)
	assert.Equal(t, http.StatusOK, fetch(b, "/", "").Code)
}

func newCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test client CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return ca, key
}

func newClientCert(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "balancer"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
