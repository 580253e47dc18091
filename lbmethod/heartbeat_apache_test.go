//go:build apache

package lbmethod

// Interop with Apache httpd's mod_heartbeat: go test -tags apache ./lbmethod/
// It needs /usr/sbin/apache2 (Debian/Ubuntu package apache2) and its modules
// in /usr/lib/apache2/modules, and fails without them.

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

const (
	apacheBin     = "/usr/sbin/apache2"
	apacheModules = "/usr/lib/apache2/modules"
)

const apacheConf = `ServerRoot "%[1]s"
ServerName localhost
Listen 127.0.0.1:%[2]d
PidFile "%[1]s/httpd.pid"
ErrorLog "%[1]s/error.log"
LogLevel info
DefaultRuntimeDir "%[1]s"
Mutex file:%[1]s default
LoadModule mpm_event_module %[3]s/mod_mpm_event.so
<IfModule !watchdog_module>
LoadModule watchdog_module %[3]s/mod_watchdog.so
</IfModule>
LoadModule heartbeat_module %[3]s/mod_heartbeat.so
StartServers 1
ServerLimit 1
ThreadsPerChild 25
MaxRequestWorkers 25
HeartbeatAddress 127.0.0.1:%[4]d
`

// TestHeartbeatApache runs Apache with mod_heartbeat reporting to our
// listener on loopback and checks that the pick follows Apache's report.
func TestHeartbeatApache(t *testing.T) {
	if _, err := os.Stat(apacheBin); err != nil {
		t.Fatalf("the apache-tagged tests need Apache httpd at %s: %v (Debian: apt-get install apache2)", apacheBin, err)
	}
	if _, err := os.Stat(filepath.Join(apacheModules, "mod_heartbeat.so")); err != nil {
		t.Fatalf("the apache-tagged tests need mod_heartbeat: %v", err)
	}
	tab := &HeartbeatTable{}
	l, err := ListenHeartbeat("127.0.0.1:0", nil, tab)
	if err != nil {
		t.Fatal(err)
	}
	got := runListener(t, l)

	dir := t.TempDir()
	conf := filepath.Join(dir, "httpd.conf")
	body := fmt.Sprintf(apacheConf, dir, freeTCPPort(t), apacheModules, l.Addr().(*net.UDPAddr).Port)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	// Output to a file, not a pipe, so Wait returns when apache does.
	out, err := os.Create(filepath.Join(dir, "stdout.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(apacheBin, "-f", conf, "-DFOREGROUND")
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its own group, with its child
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{}) // closed when apache has exited; then waitErr is set
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM) // graceful stop: the parent stops its child
		select {
		case <-exited:
			return
		case <-time.After(10 * time.Second):
		}
		t.Errorf("apache (pid %d) ignored SIGTERM for 10s: killing its process group", cmd.Process.Pid)
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			t.Errorf("apache (pid %d) still running after SIGKILL", cmd.Process.Pid)
		}
	})
	apacheLog := func() string {
		stdout, _ := os.ReadFile(filepath.Join(dir, "stdout.log"))
		log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return string(stdout) + string(log)
	}

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
		case <-exited:
			t.Fatalf("apache exited early: %v\n%s", waitErr, apacheLog())
		case <-deadline:
			t.Fatalf("no report with ready slots from apache within 10s (accepted %d, rejected %d)\n%s",
				l.Accepted(), l.Rejected(), apacheLog())
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

// freeTCPPort returns a loopback TCP port that was free a moment ago.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
