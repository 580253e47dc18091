package lbmethod

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// runListener runs l until the test ends and returns a channel that
// receives the source IP of every datagram handled.
func runListener(t *testing.T, l *HeartbeatListener) <-chan string {
	t.Helper()
	got := make(chan string, 16)
	l.onReport = func(ip string) { got <- ip }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run after cancel = %v, want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return within 5s of cancel")
		}
	})
	return got
}

// await receives n source IPs or fails after 5 s.
func await(t *testing.T, got <-chan string, n int) []string {
	t.Helper()
	var ips []string
	timeout := time.After(5 * time.Second)
	for len(ips) < n {
		select {
		case ip := <-got:
			ips = append(ips, ip)
		case <-timeout:
			t.Fatalf("received %d datagrams within 5s, want %d", len(ips), n)
		}
	}
	return ips
}

func TestHeartbeatListenerUnicast(t *testing.T) {
	c := newClock()
	tab := &HeartbeatTable{Now: c.Now}
	l, err := ListenHeartbeat("127.0.0.1:0", nil, tab)
	if err != nil {
		t.Fatal(err)
	}
	got := runListener(t, l)

	conn, err := net.DialUDP("udp", nil, l.Addr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	datagrams := []string{
		"v=1&ready=25&busy=0",
		"v=1&ready=x&busy=0", // malformed
		"v=1&ready=3&busy=3&pad=" + strings.Repeat("x", 1000), // over 1000 bytes
		"v=1&ready=7&busy=2",
	}
	for _, d := range datagrams {
		if _, err := conn.Write([]byte(d)); err != nil {
			t.Fatal(err)
		}
	}
	for _, ip := range await(t, got, len(datagrams)) {
		if ip != "127.0.0.1" {
			t.Errorf("source %q, want 127.0.0.1", ip)
		}
	}
	r, ok := tab.Lookup("127.0.0.1")
	if !ok || r.Ready != 7 || r.Busy != 2 || !r.Seen.Equal(c.Now()) {
		t.Errorf("Lookup(127.0.0.1) = %+v %v, want ready 7 busy 2 seen now", r, ok)
	}
	if l.Accepted() != 2 || l.Rejected() != 2 {
		t.Errorf("accepted %d rejected %d, want 2 2", l.Accepted(), l.Rejected())
	}
}

func TestHeartbeatListenerClose(t *testing.T) {
	l, err := ListenHeartbeat("127.0.0.1:0", nil, &HeartbeatTable{})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	// Run on a closed listener returns at once.
	if err := l.Run(context.Background()); err != nil {
		t.Errorf("Run after Close = %v, want nil", err)
	}
}

func TestListenHeartbeatErrors(t *testing.T) {
	if _, err := ListenHeartbeat("127.0.0.1:0", nil, nil); err == nil || !strings.Contains(err.Error(), "nil table") {
		t.Errorf("nil table: %v", err)
	}
	for _, addr := range []string{"no-port", "127.0.0.1:99999", "198.51.100.1:0"} {
		_, err := ListenHeartbeat(addr, nil, &HeartbeatTable{})
		if err == nil || !strings.Contains(err.Error(), `lbmethod: heartbeat listen address "`+addr+`"`) {
			t.Errorf("ListenHeartbeat(%q) error = %v, want one naming the address", addr, err)
		}
	}
}
