package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/proxybalancer/balancer/healthcheck"
)

// harnessBackend answers as the load harness's backend does: 64 bytes on
// any path, 16 KiB on /big, the body starting with "backend HOST:PORT" and
// the header X-Backend naming it. Health-check requests (HTTP/1.0, which
// only the checker sends) are announced on hc.
func harnessBackend(t *testing.T, hc chan<- string) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	name := srv.Listener.Addr().String()
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 1 && r.ProtoMinor == 0 {
			select {
			case hc <- name + " " + r.Method + " " + r.URL.Path:
			default:
			}
		}
		size := 64
		if r.URL.Path == "/big" {
			size = 16 << 10
		}
		body := "backend " + name + "\n"
		body += strings.Repeat("x", size-len(body))
		w.Header().Set("X-Backend", name)
		w.Header().Set("Content-Length", fmt.Sprint(size))
		io.WriteString(w, body)
	})
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// start runs the command's server on a loopback port with o and the
// profile path, and returns its address and a function that stops it and
// returns serve's result.
func start(t *testing.T, o options, cpuprofile string) (addr string, stop func() error) {
	t.Helper()
	h, err := newHandler(o)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var log strings.Builder
	go func() { done <- serve(ctx, l, h, cpuprofile, o, &log) }()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			return fmt.Errorf("serve did not return within 10s of cancel")
		}
	}
	t.Cleanup(func() { stop() })
	return l.Addr().String(), stop
}

func get(t *testing.T, c *http.Client, url string) (backend string, n int) {
	t.Helper()
	res, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: status %d", url, res.StatusCode)
	}
	if want := "backend " + res.Header.Get("X-Backend"); !strings.HasPrefix(string(b), want) {
		t.Errorf("GET %s: body starts %.30q, want %q (X-Backend passed through)", url, b, want)
	}
	return res.Header.Get("X-Backend"), len(b)
}

// The command passes the harness's check: both backends round robin, the
// X-Backend header passed through, 64 B on / and 16 KiB on /big; sticky
// sessions and health checks are on by default, and a stop ends it cleanly
// with the CPU profile written.
func TestServesLikeTheHarnessExpects(t *testing.T) {
	hc := make(chan string, 16)
	b1, b2 := harnessBackend(t, hc), harnessBackend(t, hc)
	n1, n2 := b1.Listener.Addr().String(), b2.Listener.Addr().String()
	o := defaults()
	o.backends = b1.URL + ", " + b2.URL
	o.hcInterval = 100 * time.Millisecond // the checker's minimum, so the test sees a check soon
	prof := filepath.Join(t.TempDir(), "cpu.pprof")
	addr, stop := start(t, o, prof)
	c := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(c.CloseIdleConnections)

	var seen []string
	for range 6 {
		name, n := get(t, c, "http://"+addr+"/")
		if n != 64 {
			t.Errorf("/: %d bytes, want 64", n)
		}
		seen = append(seen, name)
	}
	for i := range seen {
		if want := [2]string{n1, n2}[i%2]; seen[i] != want {
			t.Fatalf("backends in order %v, want alternating %s, %s", seen, n1, n2)
		}
	}
	if _, n := get(t, c, "http://"+addr+"/big"); n != 16<<10 {
		t.Errorf("/big: %d bytes, want %d", n, 16<<10)
	}

	// Sticky: JSESSIONID's route b2 is the second backend, every time.
	for range 3 {
		req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
		req.AddCookie(&http.Cookie{Name: "JSESSIONID", Value: "abc.b2"})
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if got := res.Header.Get("X-Backend"); got != n2 {
			t.Errorf("JSESSIONID=abc.b2 went to %s, want %s", got, n2)
		}
	}

	// Health checks run: the checker's HTTP/1.0 GET of "/" arrives.
	select {
	case got := <-hc:
		if !strings.HasSuffix(got, " GET /") {
			t.Errorf("health check %q, want GET /", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no health check reached a backend within 10s")
	}

	c.CloseIdleConnections()
	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	if fi, err := os.Stat(prof); err != nil || fi.Size() == 0 {
		t.Errorf("CPU profile: %v, size %d; want a written profile", err, sizeOf(fi))
	}
}

func sizeOf(fi os.FileInfo) int64 {
	if fi == nil {
		return -1
	}
	return fi.Size()
}

// With -hc none no health check is run, and another method is taken by name.
func TestNoHealthCheck(t *testing.T) {
	o := defaults()
	o.hc = "none"
	o.method = "bybusyness"
	o.sticky = ""
	o.backends = "http://127.0.0.1:1"
	h, err := newHandler(o)
	if err != nil {
		t.Fatal(err)
	}
	if h.hc {
		t.Error("-hc none: health checks would run")
	}
	cfg := h.b.Config()
	if cfg.Method.Name() != "bybusyness" || cfg.StickySession != "" {
		t.Errorf("method %q sticky %q, want bybusyness and none", cfg.Method.Name(), cfg.StickySession)
	}
	if hc := cfg.Members[0].HealthCheck; hc.Method != healthcheck.MethodNone {
		t.Errorf("member health check %v, want none", hc)
	}
}

// Bad flags are errors naming the flag and the value.
func TestBadFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*options)
		want string
	}{
		{"no backends", func(o *options) { o.backends = " , " }, `-backends " , "`},
		{"bad method", func(o *options) { o.method = "roundrobin" }, `-method "roundrobin"`},
		{"bad hc", func(o *options) { o.hc = "PING" }, `-hc "PING"`},
		{"bad interval", func(o *options) { o.hcInterval = time.Millisecond }, `-hcinterval 1ms`},
		{"bad sticky", func(o *options) { o.sticky = "A|" }, `A|`},
		{"bad url", func(o *options) { o.backends = "ftp://x" }, `ftp://x`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := defaults()
			o.backends = "http://127.0.0.1:1"
			tc.edit(&o)
			_, err := newHandler(o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
