package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The example serves the balancer and, behind the guard, the manager; a
// change made through the manager applies and is saved at shutdown.
func TestManagerExample(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + l.Addr().String()
	state := filepath.Join(t.TempDir(), "state.json")
	o := options{
		allow:     []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		user:      "admin",
		password:  "secret",
		stateFile: state,
	}
	var out strings.Builder
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, l, o, &out) }()
	stop := sync.OnceValue(func() error { cancel(); return <-done })
	t.Cleanup(func() { stop() })
	do := func(req *http.Request) (int, string) {
		t.Helper()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	req, _ := http.NewRequest("GET", base+"/balancer-manager", nil)
	if code, _ := do(req); code != http.StatusUnauthorized {
		t.Errorf("manager without credentials: %d", code)
	}
	req, _ = http.NewRequest("GET", base+"/balancer-manager?json", nil)
	req.SetBasicAuth("admin", "secret")
	code, body := do(req)
	if code != 200 {
		t.Fatalf("manager with credentials: %d %s", code, body)
	}
	var doc struct {
		Balancers []struct {
			Nonce   string
			Members []struct{ URL string }
		}
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || len(doc.Balancers) != 1 || len(doc.Balancers[0].Members) != 3 {
		t.Fatalf("JSON: %v %s", err, body)
	}
	// Disable node1 from a script: the nonce, and no browser headers.
	node1 := doc.Balancers[0].Members[0].URL
	form := url.Values{"b": {"app"}, "nonce": {doc.Balancers[0].Nonce}, "w": {node1}, "w_status_D": {"1"}}
	req, _ = http.NewRequest("POST", base+"/balancer-manager", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("admin", "secret")
	if code, body := do(req); code != 200 {
		t.Fatalf("disable node1: %d %s", code, body)
	}
	for range 4 {
		req, _ = http.NewRequest("GET", base+"/app/x", nil)
		if code, body := do(req); code != 200 || strings.HasPrefix(body, "node1") {
			t.Errorf("after disabling node1: %d %q", code, body)
		}
	}
	if err := stop(); err != nil {
		t.Errorf("run: %v", err)
	}
	data, err := os.ReadFile(state)
	if err != nil || !strings.Contains(string(data), `"flags": "D"`) {
		t.Errorf("state file after shutdown: %v\n%s", err, data)
	}
	if !strings.Contains(out.String(), base+"/balancer-manager") {
		t.Errorf("printed:\n%s", out.String())
	}
}

func TestGuard(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "in") })
	nets := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		name       string
		o          options
		remote     string
		user, pass string
		want       int
	}{
		{"allowed network", options{allow: nets}, "10.1.2.3:5000", "", "", 200},
		{"other network", options{allow: nets}, "192.0.2.7:5000", "", "", 403},
		{"IPv6 loopback", options{allow: nets}, "[::1]:5000", "", "", 200},
		{"IPv4-mapped", options{allow: nets}, "[::ffff:10.0.0.1]:5000", "", "", 200},
		{"no credentials", options{allow: nets, user: "u", password: "p"}, "10.0.0.1:1", "", "", 401},
		{"wrong password", options{allow: nets, user: "u", password: "p"}, "10.0.0.1:1", "u", "x", 401},
		{"right password", options{allow: nets, user: "u", password: "p"}, "10.0.0.1:1", "u", "p", 200},
		{"right password, other network", options{allow: nets, user: "u", password: "p"}, "192.0.2.7:1", "u", "p", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/balancer-manager", nil)
			r.RemoteAddr = tt.remote
			if tt.user != "" {
				r.SetBasicAuth(tt.user, tt.pass)
			}
			w := httptest.NewRecorder()
			guard(ok, tt.o).ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Errorf("%d, want %d", w.Code, tt.want)
			}
		})
	}
}
