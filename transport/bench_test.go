package transport

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// BenchmarkRoundTrip measures a GET and a small POST against a loopback
// backend, through this Transport and, for comparison, through a plain
// http.Transport with the same pool settings.
func BenchmarkRoundTrip(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	}))
	b.Cleanup(srv.Close)

	ours, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(ours.CloseIdleConnections)
	withMax, err := New(Options{Max: 64, Acquire: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(withMax.CloseIdleConnections)
	withPing, err := New(Options{Ping: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(withPing.CloseIdleConnections)
	plain := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: DefaultSMax, ResponseHeaderTimeout: DefaultTimeout}
	b.Cleanup(plain.CloseIdleConnections)

	rts := []struct {
		name string
		rt   http.RoundTripper
	}{
		{"plain-http.Transport", plain},
		{"Transport", ours},
		{"Transport-max", withMax},
		{"Transport-ping", withPing},
	}
	methods := []struct {
		name string
		body string
	}{
		{"GET", ""},
		{"POST", "payload"},
	}
	for _, m := range methods {
		for _, rt := range rts {
			b.Run(m.name+"/"+rt.name, func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						var body io.Reader
						if m.body != "" {
							body = strings.NewReader(m.body)
						}
						req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL, body)
						if body == nil {
							req.Method = http.MethodGet
						}
						resp, err := rt.rt.RoundTrip(req)
						if err != nil {
							b.Error(err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				})
			})
		}
	}
}

func BenchmarkBufferPool(b *testing.B) {
	var p BufferPool
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			buf := p.Get()
			buf[0] = 1
			p.Put(buf)
		}
	})
}
