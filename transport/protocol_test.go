package transport

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestH2C(t *testing.T) {
	tests := []struct {
		name      string
		h2c       bool
		wantProto string
	}{
		{"http/1.1 by default", false, "HTTP/1.1"},
		{"h2c", true, "HTTP/2.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, r.Proto)
			}), func(s *httptest.Server) { s.Config.Protocols = h2cServerProtocols() })
			tr := newTransport(t, Options{H2C: tt.h2c})
			if got := get(t, tr, b.URL); got != tt.wantProto {
				t.Errorf("member saw %s, want %s", got, tt.wantProto)
			}
		})
	}
}

// TestNoTransparentGzip: the member's compressed response reaches the
// caller as sent, and no Accept-Encoding is added.
func TestNoTransparentGzip(t *testing.T) {
	b := newBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		io.WriteString(w, "ae="+r.Header.Get("Accept-Encoding"))
	}))
	tr := newTransport(t, Options{})
	resp, err := tr.RoundTrip(newRequest(t, http.MethodGet, b.URL, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if string(got) != "ae=" {
		t.Errorf("body %q, want %q (no Accept-Encoding added, nothing decoded)", got, "ae=")
	}
	if resp.Header.Get("Content-Encoding") != "gzip" || resp.Uncompressed {
		t.Errorf("Content-Encoding %q, Uncompressed %v; want gzip, false", resp.Header.Get("Content-Encoding"), resp.Uncompressed)
	}
}

// TestUpgradeBodyIsWritable: after 101 Switching Protocols the response
// body stays an io.ReadWriteCloser, as httputil.ReverseProxy requires, and
// a Max slot is held until it is closed.
func TestUpgradeBodyIsWritable(t *testing.T) {
	b := newBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "echo" {
			io.WriteString(w, "ok")
			return
		}
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer c.Close()
		io.WriteString(brw, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		brw.Flush()
		line, _ := brw.ReadString('\n')
		io.WriteString(brw, "echo: "+line)
		brw.Flush()
	}))
	tr := newTransport(t, Options{Max: 1, Acquire: 1})
	req := newRequest(t, http.MethodGet, b.URL, nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "echo")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d, want 101", resp.StatusCode)
	}
	rwc, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		t.Fatalf("response body %T is not an io.ReadWriteCloser", resp.Body)
	}
	if _, err := io.WriteString(rwc, "hello\n"); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(rwc).ReadString('\n')
	if err != nil || line != "echo: hello\n" {
		t.Errorf("read %q, %v; want %q", line, err, "echo: hello\n")
	}
	if _, err := tr.RoundTrip(newRequest(t, http.MethodGet, b.URL, nil)); !NotSent(err) {
		t.Errorf("request while the upgraded connection is open: err = %v, want NotSent (acquire)", err)
	}
	rwc.Close()
	if got := get(t, tr, b.URL); got != "ok" {
		t.Errorf("request after the upgraded connection closed: body %q, want ok", got)
	}
}
