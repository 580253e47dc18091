//go:build apache

package lbmethod

// Interop with Apache httpd's mod_heartbeat: go test -tags apache ./lbmethod/
// It needs /usr/sbin/apache2 (Debian/Ubuntu package apache2) and its modules
// in /usr/lib/apache2/modules, and fails without them.

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/proxybalancer/balancer/internal/apachetest"
)

// TestHeartbeatApache runs Apache with mod_heartbeat reporting to our
// listener on loopback and checks that the pick follows Apache's report.
func TestHeartbeatApache(t *testing.T) {
	tab := &HeartbeatTable{}
	l, err := ListenHeartbeat("127.0.0.1:0", nil, tab)
	if err != nil {
		t.Fatal(err)
	}
	got := runListener(t, l)
	// The shared harness fails the test when apache2 is missing.
	srv := apachetest.Start(t, apachetest.Config{
		Modules:    []string{"heartbeat"},
		Directives: fmt.Sprintf("HeartbeatAddress 127.0.0.1:%d\n", l.Addr().(*net.UDPAddr).Port),
		LogLevel:   "info",
	})

	// mod_heartbeat reports once a second; wait (at most 10 s) for one
	// from 127.0.0.1 with ready slots.
	var rep HeartbeatReport
	deadline := time.After(10 * time.Second)
	for rep.Ready == 0 {
		select {
		case ip := <-got:
			if ip == "127.0.0.1" {
				rep, _ = tab.Lookup(ip)
			}
		case <-deadline:
			t.Fatalf("no report with ready slots from apache within 10s (accepted %d, rejected %d, apache exited %v)\n%s",
				l.Accepted(), l.Rejected(), srv.Exited(), srv.ErrorLog())
		}
	}
	if l.Rejected() != 0 {
		t.Errorf("%d of apache's datagrams were rejected", l.Rejected())
	}
	if rep.Ready+rep.Busy > 25 {
		t.Errorf("apache reported ready %d busy %d, more than its 25 threads", rep.Ready, rep.Busy)
	}
	t.Logf("apache reported ready=%d busy=%d", rep.Ready, rep.Busy)
	// Freeze the table: no more reports while we pick.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	rep, _ = tab.Lookup("127.0.0.1")

	// Apache's weight is its ready count, ÷4 when idle; a synthetic busy
	// server 127.0.0.2 reports three times that. 127.0.0.3 reports nothing.
	w := rep.Ready
	if rep.Busy == 0 {
		w /= 4
	}
	if w == 0 {
		t.Fatalf("apache's report ready=%d busy=%d weighs 0", rep.Ready, rep.Busy)
	}
	if err := tab.Record("127.0.0.2", HeartbeatReport{Ready: 3 * w, Busy: 1}); err != nil {
		t.Fatal(err)
	}
	h := &Heartbeat{Table: tab, Rand: seeded()}
	ms := hbMembers("127.0.0.1", "127.0.0.2", "127.0.0.3")
	checkShares(t, shares(h, ms, 10000), []float64{0.25, 0.75, 0}, 0.02)
}
