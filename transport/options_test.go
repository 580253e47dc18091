package transport

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNewRejectsInvalidOptions(t *testing.T) {
	tests := []struct {
		name    string
		give    Options
		wantErr string
	}{
		{"connecttimeout", Options{ConnectTimeout: -time.Second}, "transport: connecttimeout -1s: must be >= 0"},
		{"timeout", Options{Timeout: -5 * time.Millisecond}, "transport: timeout -5ms: must be >= 0"},
		{"ttl", Options{TTL: -1}, "transport: ttl -1ns: must be >= 0"},
		{"acquire", Options{Max: 1, Acquire: -time.Minute}, "transport: acquire -1m0s: must be >= 0"},
		{"ping", Options{Ping: -time.Second}, "transport: ping -1s: must be >= 0"},
		{"max", Options{Max: -1}, "transport: max -1: must be >= 0"},
		{"smax", Options{SMax: -3}, "transport: smax -3: must be >= 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := New(tt.give)
			if err == nil {
				t.Fatalf("New(%+v) = %v, nil; want error %q", tt.give, tr, tt.wantErr)
			}
			if err.Error() != tt.wantErr {
				t.Errorf("New(%+v) error = %q, want %q", tt.give, err, tt.wantErr)
			}
		})
	}
}

func TestOptionsDefaults(t *testing.T) {
	type view struct {
		ConnectTimeout, Timeout, TTL, Acquire, Ping time.Duration
		Max, SMax                                   int
	}
	tests := []struct {
		name string
		give Options
		want view
	}{
		{"zero", Options{}, view{ConnectTimeout: 60 * time.Second, Timeout: 60 * time.Second, SMax: DefaultSMax}},
		{"connecttimeout falls back to timeout", Options{Timeout: 7 * time.Second},
			view{ConnectTimeout: 7 * time.Second, Timeout: 7 * time.Second, SMax: DefaultSMax}},
		{"connecttimeout kept", Options{ConnectTimeout: time.Second, Timeout: 7 * time.Second},
			view{ConnectTimeout: time.Second, Timeout: 7 * time.Second, SMax: DefaultSMax}},
		{"smax defaults to max", Options{Max: 8},
			view{ConnectTimeout: time.Minute, Timeout: time.Minute, Max: 8, SMax: 8}},
		{"smax lowered to max", Options{Max: 8, SMax: 20},
			view{ConnectTimeout: time.Minute, Timeout: time.Minute, Max: 8, SMax: 8}},
		{"smax below max kept", Options{Max: 8, SMax: 2, Acquire: time.Second},
			view{ConnectTimeout: time.Minute, Timeout: time.Minute, Max: 8, SMax: 2, Acquire: time.Second}},
		{"acquire without max has no effect", Options{Acquire: time.Second},
			view{ConnectTimeout: time.Minute, Timeout: time.Minute, SMax: DefaultSMax}},
		{"ttl and ping kept", Options{TTL: 3 * time.Second, Ping: time.Second},
			view{ConnectTimeout: time.Minute, Timeout: time.Minute, SMax: DefaultSMax, TTL: 3 * time.Second, Ping: time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.give.resolve()
			if err != nil {
				t.Fatal(err)
			}
			got := view{c.connectTimeout, c.timeout, c.ttl, c.acquire, c.ping, c.max, c.smax}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("resolve(%+v) mismatch (-want +got):\n%s", tt.give, diff)
			}
		})
	}
}

// TestHTTPTransportSettings checks the settings of the inner http.Transport
// that have no other observable effect on loopback.
func TestHTTPTransportSettings(t *testing.T) {
	o := Options{Max: 4, SMax: 3, TTL: 5 * time.Second, Timeout: 2 * time.Second, Ping: 300 * time.Millisecond, DisableReuse: true}
	tr := newTransport(t, o)
	rt := tr.rt
	if rt.Proxy != nil {
		t.Error("Proxy is set; want nil (no proxy from the environment)")
	}
	if !rt.DisableCompression {
		t.Error("DisableCompression = false; want true")
	}
	if rt.ForceAttemptHTTP2 {
		t.Error("ForceAttemptHTTP2 = true; want false")
	}
	if !rt.DisableKeepAlives {
		t.Error("DisableKeepAlives = false with DisableReuse")
	}
	if rt.MaxIdleConnsPerHost != 3 || rt.MaxIdleConns != 3 {
		t.Errorf("MaxIdleConnsPerHost, MaxIdleConns = %d, %d; want 3, 3", rt.MaxIdleConnsPerHost, rt.MaxIdleConns)
	}
	if rt.MaxConnsPerHost != 4 {
		t.Errorf("MaxConnsPerHost = %d, want 4", rt.MaxConnsPerHost)
	}
	if rt.IdleConnTimeout != 5*time.Second {
		t.Errorf("IdleConnTimeout = %v, want 5s", rt.IdleConnTimeout)
	}
	// HTTP/1.1: Timeout is enforced by read deadlines on the connection,
	// not by net/http's per-request timer.
	if rt.ResponseHeaderTimeout != 0 || tr.dialer.io != 2*time.Second {
		t.Errorf("ResponseHeaderTimeout = %v, deadline timeout %v; want 0 and 2s", rt.ResponseHeaderTimeout, tr.dialer.io)
	}
	if rt.ExpectContinueTimeout <= o.Ping {
		t.Errorf("ExpectContinueTimeout = %v, want more than Ping %v", rt.ExpectContinueTimeout, o.Ping)
	}
	if p := rt.Protocols; p == nil || !p.HTTP1() || p.HTTP2() || p.UnencryptedHTTP2() {
		t.Errorf("Protocols = %v, want HTTP1 only", p)
	}
}

func TestNewDoesNotModifyTLSConfig(t *testing.T) {
	cfg := &tls.Config{NextProtos: []string{"x"}}
	tr := newTransport(t, Options{TLSClientConfig: cfg, H2C: true})
	if tr.cfg.tls == cfg {
		t.Error("Transport keeps the caller's *tls.Config; want a copy")
	}
	if diff := cmp.Diff([]string{"x"}, cfg.NextProtos); diff != "" {
		t.Errorf("caller's NextProtos changed (-want +got):\n%s", diff)
	}
}
