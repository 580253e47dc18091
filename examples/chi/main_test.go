package main

import (
	"io"
	"net/http/httptest"
	"testing"

	"github.com/proxybalancer/balancer/examples/internal/demo"
)

func TestChiExample(t *testing.T) {
	backends := demo.Backends("backend1", "backend2")
	for _, s := range backends {
		t.Cleanup(s.Close)
	}
	h, err := newHandler(backends)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ path, want string }{
		{"/api/users", "backend1 got /internal/users\n"},
		{"/api/users", "backend2 got /internal/users\n"},
		{"/health", "ok from chi\n"},
		{"/api/static/logo.png", "static from chi\n"},
		{"/v2/items", "backend1 got /v2/items\n"},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", tt.path, nil))
		body, _ := io.ReadAll(w.Body)
		if string(body) != tt.want {
			t.Errorf("%s: %q, want %q", tt.path, body, tt.want)
		}
	}
}
