package manager_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/manager"
)

func TestManagerHosts(t *testing.T) {
	tests := []struct {
		name    string
		hosts   []string
		allowed []string
		refused []string
	}{
		{"default: loopback and localhost", nil,
			[]string{"127.0.0.1", "127.0.0.1:8080", "127.9.9.9:1", "[::1]:8080", "[::1]", "localhost", "LOCALHOST:80", "localhost.:8080", "[::ffff:127.0.0.1]:8080"},
			[]string{"example.com", "attacker.example:8080", "10.0.0.1:8080", "0.0.0.0:8080", "127.0.0.1.nip.io", "localhost.attacker.example", "", "[::2]:80"}},
		{"names", []string{"Admin.Example.com", "10.0.0.5", "[fd00::1]"},
			[]string{"admin.example.com", "ADMIN.example.com:8443", "10.0.0.5:80", "[fd00::1]:8080"},
			[]string{"localhost", "127.0.0.1", "example.com", "x.admin.example.com", "10.0.0.6"}},
		{"wildcard", []string{"*.example.com"},
			[]string{"a.example.com", "b.a.example.com:8080"},
			[]string{"example.com", "aexample.com", "example.com.attacker.example"}},
		{"any", []string{"*"}, []string{"anything.example", "127.0.0.1", ""}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mustNew(t, balancer.Config{Name: "shop", Members: members("a"), Transport: newStub()})
			mg, err := manager.New(manager.Config{Balancers: []*balancer.Balancer{b}, Hosts: tt.hosts})
			require.NoError(t, err)
			for _, h := range tt.allowed {
				r := httptest.NewRequest("GET", "/balancer-manager?json", nil)
				r.Host = h
				w := httptest.NewRecorder()
				mg.ServeHTTP(w, r)
				assert.Equal(t, http.StatusOK, w.Code, "Host %q", h)
			}
			for _, h := range tt.refused {
				r := httptest.NewRequest("GET", "/balancer-manager?json", nil)
				r.Host = h
				w := httptest.NewRecorder()
				mg.ServeHTTP(w, r)
				assert.Equal(t, http.StatusForbidden, w.Code, "Host %q", h)
				assert.Contains(t, w.Body.String(), "this manager answers only for", "Host %q", h)
				assert.NotContains(t, w.Body.String(), "nonce", "Host %q", h)
				assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
			}
		})
	}
}

func TestManagerHostsErrors(t *testing.T) {
	b := mustNew(t, balancer.Config{Name: "shop", Members: members("a"), Transport: newStub()})
	for _, h := range []string{"example.com:8080", "*", "a*.example.com", "*.", "http://example.com", "a b", ""} {
		_, err := manager.New(manager.Config{Balancers: []*balancer.Balancer{b}, Hosts: []string{"ok.example", h}})
		if h == "*" {
			assert.NoError(t, err)
			continue
		}
		assert.ErrorContains(t, err, `hosts "`+h+`"`)
	}
}

// Origin and Referer are compared by scheme as well as host: a page served
// over https is not the origin of a manager reached over plain http, nor
// the other way round.
func TestManagerOriginScheme(t *testing.T) {
	tests := []struct {
		name   string
		tls    bool
		header []string
		code   int
	}{
		{"http page, http request", false, []string{"Origin", "http://example.com"}, 200},
		{"https page, http request", false, []string{"Origin", "https://example.com"}, 403},
		{"https page, http request, port 80", false, []string{"Origin", "https://example.com:80"}, 403},
		{"https Referer, http request", false, []string{"Origin", "", "Referer", "https://example.com/balancer-manager"}, 403},
		{"https page, https request", true, []string{"Origin", "https://example.com"}, 200},
		{"http page, https request", true, []string{"Origin", "http://example.com"}, 403},
		{"other port", false, []string{"Origin", "http://example.com:8080"}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, mg, _ := managed(t)
			r := httptest.NewRequest("POST", "/balancer-manager", formBody(form("w", "http://a", "w_ls", "4")))
			if tt.tls {
				r = httptest.NewRequest("POST", "https://example.com/balancer-manager", formBody(form("w", "http://a", "w_ls", "4")))
			}
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for i := 0; i+1 < len(tt.header); i += 2 {
				r.Header.Set(tt.header[i], tt.header[i+1])
			}
			w := httptest.NewRecorder()
			mg.ServeHTTP(w, r)
			require.Equal(t, tt.code, w.Code, w.Body.String())
			want := 0
			if tt.code == 200 {
				want = 4
			}
			assert.Equal(t, want, member(t, b, "http://a").LBSet)
		})
	}
}
