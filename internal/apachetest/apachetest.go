// Package apachetest runs a real Apache httpd (the Debian package apache2)
// on loopback for differential tests: the same requests go to Apache and to
// our balancer, and the answers must agree.
//
// [Start] writes a private configuration into the test's temporary
// directory (ServerRoot, PidFile, ErrorLog and DefaultRuntimeDir all live
// there), loads the modules a balancer needs from the module directory,
// listens on a free 127.0.0.1 port and runs httpd in the foreground as one
// process (-X). The test's Cleanup stops it by its PID and waits for it.
// Without an httpd binary Start fails the test with a message saying how to
// install one: a test that asked for Apache never passes without it.
//
// The caller's directives follow the harness's own, so they may use
// ${APACHETEST_ADDR} (127.0.0.1:port) and ${APACHETEST_PORT}, which the
// configuration defines.
package apachetest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// DefaultModuleDir is where Debian's apache2 package keeps its modules.
const DefaultModuleDir = "/usr/lib/apache2/modules"

// baseModules are loaded into every server, in this order: an MPM, access
// control (needed by mod_proxy's <Proxy> sections), the proxy, its HTTP
// scheme and balancer, the byrequests method, the shared memory the balancer
// keeps its members in, and mod_headers to expose the BALANCER_* variables.
var baseModules = []string{
	"mpm_event", "authz_core", "proxy", "proxy_http", "proxy_balancer",
	"lbmethod_byrequests", "slotmem_shm", "headers",
}

// nobody is the user and group httpd runs as when the tests run as root
// (Debian's nobody and nogroup).
const nobody = 65534

// Timeouts of the harness: how long httpd may take to accept connections
// after it was started, to stop after SIGTERM, and to answer one request.
const (
	startTimeout   = 10 * time.Second
	stopTimeout    = 10 * time.Second
	requestTimeout = 10 * time.Second
	startAttempts  = 3 // a free port can be taken by someone else before httpd binds it
)

// Config describes a server to start. The zero value starts an httpd with
// the base modules and no site configuration.
type Config struct {
	// Directives is configuration text placed after the harness's own
	// (modules, Listen, ServerName, paths, process sizing). It may use
	// ${APACHETEST_ADDR} and ${APACHETEST_PORT}.
	Directives string

	// Modules are extra modules to load by short name: "rewrite" loads
	// mod_rewrite.so as rewrite_module. The base modules (mpm_event,
	// authz_core, proxy, proxy_http, proxy_balancer, lbmethod_byrequests,
	// slotmem_shm, headers) are always loaded and need not be listed.
	Modules []string

	// LogLevel is httpd's LogLevel; empty means "warn".
	LogLevel string

	// Binary is the httpd executable. Empty means apache2 from PATH, else
	// /usr/sbin/apache2.
	Binary string

	// ModuleDir holds the module files. Empty means [DefaultModuleDir].
	ModuleDir string
}

// Server is a running httpd. Its fields are read-only; its methods are safe
// for concurrent use.
type Server struct {
	// Addr is the address httpd listens on, "127.0.0.1:port".
	Addr string
	// URL is "http://" + Addr.
	URL string
	// Dir is the ServerRoot: the configuration (httpd.conf), the error log
	// (error.log) and httpd's runtime files.
	Dir string

	cmd      *exec.Cmd
	exited   chan struct{} // closed once the process has been waited for
	waitErr  error         // set before exited is closed
	stopOnce sync.Once
	stopErr  error
}

// Binary returns the httpd executable Start would run for cfg, or an error
// saying that none was found.
func Binary(cfg Config) (string, error) {
	if cfg.Binary != "" {
		if _, err := os.Stat(cfg.Binary); err != nil {
			return "", fmt.Errorf("apachetest: httpd binary %q: %v", cfg.Binary, err)
		}
		return cfg.Binary, nil
	}
	if p, err := exec.LookPath("apache2"); err == nil {
		return p, nil
	}
	const debian = "/usr/sbin/apache2"
	if _, err := os.Stat(debian); err != nil {
		return "", fmt.Errorf("apachetest: no apache2 in PATH and no %s", debian)
	}
	return debian, nil
}

// Start starts httpd with cfg and returns once it accepts connections on
// its address. It fails t (t.Fatalf) when there is no httpd binary or
// module, when httpd refuses the configuration (the message quotes httpd's
// output and error log), or when it does not accept connections within 10
// seconds. t's Cleanup stops the server and waits for the process; when t
// has failed, the error log is written to t's log first.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	bin, err := Binary(cfg)
	if err != nil {
		t.Fatalf("%v; install Apache httpd (Debian/Ubuntu: apt-get update && apt-get install -y apache2)", err)
	}
	modDir := cfg.ModuleDir
	if modDir == "" {
		modDir = DefaultModuleDir
	}
	mods := append(append([]string(nil), baseModules...), cfg.Modules...)
	for _, m := range mods {
		if _, err := os.Stat(filepath.Join(modDir, "mod_"+m+".so")); err != nil {
			t.Fatalf("apachetest: module %s: %v; install Apache httpd (Debian/Ubuntu: apt-get install -y apache2)", m, err)
		}
	}
	var lastErr error
	for range startAttempts {
		dir := t.TempDir()
		port, err := freePort()
		if err != nil {
			t.Fatalf("apachetest: %v", err)
		}
		s, err := start(bin, dir, port, renderConfig(cfg, dir, modDir, port, mods))
		if err == nil {
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("apachetest: %s:\n%s", filepath.Join(s.Dir, "error.log"), s.ErrorLog())
				}
				if err := s.Stop(); err != nil {
					t.Errorf("apachetest: stop: %v", err)
				}
			})
			return s
		}
		lastErr = err
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	t.Fatalf("apachetest: %v", lastErr)
	return nil
}

var errPortTaken = errors.New("port taken")

// start runs httpd in dir and waits until it accepts connections on port.
// On failure the process has been stopped and waited for.
func start(bin, dir string, port int, conf string) (*Server, error) {
	confPath := filepath.Join(dir, "httpd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	out, err := os.Create(filepath.Join(dir, "httpd.out"))
	if err != nil {
		return nil, err
	}
	defer out.Close() // the child has its own descriptor
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	s := &Server{Addr: addr, URL: "http://" + addr, Dir: dir, exited: make(chan struct{})}
	// -X: one process, in the foreground, no detaching; -d and -f keep
	// httpd away from the system's /etc/apache2.
	s.cmd = exec.Command(bin, "-X", "-d", dir, "-f", confPath)
	s.cmd.Dir = dir
	s.cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "APACHE_RUN_DIR=" + dir, "APACHE_LOG_DIR=" + dir, "APACHE_LOCK_DIR=" + dir}
	s.cmd.Stdout, s.cmd.Stderr = out, out
	if s.cmd.SysProcAttr, err = procAttr(dir); err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %v", bin, err)
	}
	// This goroutine ends when httpd exits; Stop makes sure it does.
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(); err != nil {
		s.Stop()
		msg := strings.TrimSpace(readFile(filepath.Join(dir, "httpd.out")) + "\n" + s.ErrorLog())
		if strings.Contains(msg, "Address already in use") || strings.Contains(msg, "could not bind") {
			return nil, fmt.Errorf("%w: %s: %v", errPortTaken, addr, err)
		}
		return nil, fmt.Errorf("%s -X -f %s: %v\n%s", bin, confPath, err, msg)
	}
	return s, nil
}

// waitReady polls the port until httpd accepts a connection, httpd exits,
// or startTimeout passes. It waits for the process, not for time.
func (s *Server) waitReady() error {
	deadline := time.Now().Add(startTimeout)
	for {
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not accepting connections on %s after %v: %v", s.Addr, startTimeout, err)
		}
		select {
		case <-s.exited:
			return fmt.Errorf("httpd exited before accepting connections: %v", s.waitErr)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Stop stops httpd (SIGTERM, then SIGKILL if it has not exited after 10
// seconds) and waits for the process. It is idempotent; Start's Cleanup
// calls it. The error reports a process that had to be killed.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		select {
		case <-s.exited:
			return // already gone (it failed to start, or crashed)
		default:
		}
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		timer := time.NewTimer(stopTimeout)
		defer timer.Stop()
		select {
		case <-s.exited:
		case <-timer.C:
			_ = s.cmd.Process.Kill()
			<-s.exited
			s.stopErr = fmt.Errorf("httpd (pid %d) ignored SIGTERM for %v and was killed", s.cmd.Process.Pid, stopTimeout)
		}
	})
	return s.stopErr
}

// Exited reports whether the httpd process has ended.
func (s *Server) Exited() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

// ErrorLog returns the contents of httpd's error log so far.
func (s *Server) ErrorLog() string {
	return readFile(filepath.Join(s.Dir, "error.log"))
}

// Send writes raw, one complete HTTP/1.x request exactly as given (request
// line, headers, CRLFs and any body), to a new connection and returns the
// response with its body read. A request meant to be compared byte for
// byte with another client's should say "Connection: close". Send gives up
// after 10 seconds.
func (s *Server) Send(raw []byte) (*http.Response, []byte, error) {
	c, err := net.DialTimeout("tcp", s.Addr, requestTimeout)
	if err != nil {
		return nil, nil, err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(requestTimeout)); err != nil {
		return nil, nil, err
	}
	if _, err := c.Write(raw); err != nil {
		return nil, nil, err
	}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		req = nil // the response is read without knowing the method
	}
	res, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, nil, err
	}
	return res, body, nil
}

// renderConfig returns the httpd configuration for a server in dir.
func renderConfig(cfg Config, dir, modDir string, port int, mods []string) string {
	var b strings.Builder
	q := strconv.Quote
	fmt.Fprintf(&b, "# Written by apachetest.\n")
	fmt.Fprintf(&b, "Define APACHETEST_PORT %d\n", port)
	fmt.Fprintf(&b, "Define APACHETEST_ADDR 127.0.0.1:%d\n", port)
	fmt.Fprintf(&b, "ServerRoot %s\n", q(dir))
	fmt.Fprintf(&b, "DefaultRuntimeDir %s\n", q(dir))
	fmt.Fprintf(&b, "PidFile %s\n", q(filepath.Join(dir, "httpd.pid")))
	fmt.Fprintf(&b, "ErrorLog %s\n", q(filepath.Join(dir, "error.log")))
	level := cfg.LogLevel
	if level == "" {
		level = "warn"
	}
	fmt.Fprintf(&b, "LogLevel %s\n", level)
	for _, m := range mods {
		fmt.Fprintf(&b, "LoadModule %s_module %s\n", m, q(filepath.Join(modDir, "mod_"+m+".so")))
	}
	// httpd started as root switches to User; the harness starts it as
	// nobody in the first place (see procAttr), so this names who it runs
	// as either way.
	if os.Geteuid() == 0 {
		fmt.Fprintf(&b, "User #%d\nGroup #%d\n", nobody, nobody)
	} else {
		fmt.Fprintf(&b, "User #%d\nGroup #%d\n", os.Geteuid(), os.Getegid())
	}
	fmt.Fprintf(&b, "ServerName 127.0.0.1\n")
	fmt.Fprintf(&b, "Listen 127.0.0.1:%d\n", port)
	b.WriteString("Timeout 10\nProxyTimeout 10\nKeepAlive Off\n")
	b.WriteString("ThreadsPerChild 8\nMaxRequestWorkers 8\nServerLimit 1\nStartServers 1\n")
	b.WriteString("# Test configuration.\n")
	b.WriteString(cfg.Directives)
	b.WriteString("\n")
	return b.String()
}

// freePort returns a loopback TCP port nobody listened on a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func readFile(name string) string {
	b, err := os.ReadFile(name)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	return string(b)
}
