package transport

import (
	"context"
	"net"
	"net/url"
	"runtime"
	"sync"
	"testing"
)

// BenchmarkMemoryPerPooledConn reports the Go heap one idle pooled
// connection of the direct exchange holds (B/conn): n connections to a
// loopback listener that only accepts, put in the pool, against n plain
// TCP connections to the same listener. The kernel's socket buffers are
// not Go heap and not counted. ns/op is the time to dial and pool n.
func BenchmarkMemoryPerPooledConn(b *testing.B) {
	const n = 200
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	var accepted []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			accepted = append(accepted, c)
			mu.Unlock()
		}
	}()
	b.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range accepted {
			c.Close()
		}
		accepted = nil
		mu.Unlock()
	})
	u := &url.URL{Scheme: "http", Host: l.Addr().String()}
	heap := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}

	// Plain connections: what any client holds per connection.
	h0 := heap()
	plain := make([]net.Conn, 0, n)
	for range n {
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			b.Fatal(err)
		}
		plain = append(plain, c)
	}
	h1 := heap()
	for _, c := range plain {
		c.Close()
	}
	plain = nil

	var perConn float64
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		t, err := New(Options{SMax: n})
		if err != nil {
			b.Fatal(err)
		}
		before := heap()
		conns := make([]*directConn, n)
		for j := range conns {
			if conns[j], err = t.getConn(context.Background(), u, false); err != nil {
				b.Fatal(err)
			}
		}
		for _, c := range conns {
			t.direct.put(c, t.cfg.smax)
		}
		conns = nil
		after := heap()
		if idle := len(t.direct.idle[u.Host]); idle != n {
			b.Fatalf("%d idle connections, want %d", idle, n)
		}
		if i == 0 {
			perConn = (float64(after) - float64(before) - (float64(h1) - float64(h0))) / n
		}
		runtime.KeepAlive(t)
		t.CloseIdleConnections()
	}
	b.ReportMetric(perConn, "B/conn")
	b.ReportMetric((float64(h1)-float64(h0))/n, "B/plain-conn")
}
