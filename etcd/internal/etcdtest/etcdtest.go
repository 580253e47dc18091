// Package etcdtest runs a real etcd server (the etcd binary, Debian's
// etcd-server package) for tests: free loopback ports, a temporary data
// directory, stopped by PID. Kill and Restart let a test take etcd away
// and bring it back with its data.
package etcdtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// Binary is the etcd executable: $ETCD_BIN, or "etcd" on $PATH.
func Binary() string {
	if b := os.Getenv("ETCD_BIN"); b != "" {
		return b
	}
	return "etcd"
}

// Server is one etcd process. Its methods are safe for concurrent use.
type Server struct {
	t          testing.TB
	dir        string
	clientURL  string
	peerURL    string
	mu         sync.Mutex
	cmd        *exec.Cmd
	exited     chan struct{}
	startCount int
}

// Start starts etcd and returns once it serves clients. The test fails if
// the binary is missing (CI installs etcd-server). The server is stopped
// when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := exec.LookPath(Binary()); err != nil {
		t.Fatalf("etcdtest: %s not found (apt-get install etcd-server): %v", Binary(), err)
	}
	s := &Server{t: t, dir: t.TempDir()}
	var err error
	for try := 0; try < 5; try++ {
		s.clientURL, s.peerURL = "http://"+freeAddr(t), "http://"+freeAddr(t)
		if err = s.start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("etcdtest: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Endpoint is the client URL, for clientv3.Config.Endpoints.
func (s *Server) Endpoint() string { return s.clientURL }

// Client returns a new client of this server, closed when the test ends.
func (s *Server) Client() *clientv3.Client {
	s.t.Helper()
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{s.clientURL},
		DialTimeout: 5 * time.Second,
		Logger:      nopLogger(),
		DialOptions: ReconnectFast(),
	})
	if err != nil {
		s.t.Fatalf("etcdtest: client: %v", err)
	}
	s.t.Cleanup(func() { _ = c.Close() })
	return c
}

// ReconnectFast caps gRPC's reconnection backoff at one second (its
// default grows to two minutes), so that a client finds a restarted etcd
// within a second: the setting a fleet's clients want too.
func ReconnectFast() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
		Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
		MinConnectTimeout: time.Second,
	})}
}

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("etcdtest: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// start runs etcd and waits for its "serving client traffic" log
// line, or its exit.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return fmt.Errorf("already running")
	}
	s.startCount++
	cmd := exec.Command(Binary(),
		"--name", "t",
		"--data-dir", s.dir+"/data",
		"--listen-client-urls", s.clientURL,
		"--advertise-client-urls", s.clientURL,
		"--listen-peer-urls", s.peerURL,
		"--initial-advertise-peer-urls", s.peerURL,
		"--initial-cluster", "t="+s.peerURL,
		"--heartbeat-interval", "10",
		"--election-timeout", "50",
		"--logger", "zap",
		"--log-outputs", "stderr",
	)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(fmt.Sprintf("%s/etcd-%d.log", s.dir, s.startCount), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %v", Binary(), err)
	}
	ready := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer logf.Close()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		once := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			if !once && (strings.Contains(line, "serving client traffic") || strings.Contains(line, "ready to serve client requests")) {
				once = true
				close(ready)
			}
		}
		_, _ = io.Copy(logf, stderr)
		_ = cmd.Wait()
		close(exited)
	}()
	select {
	case <-ready:
		s.cmd, s.exited = cmd, exited
		return nil
	case <-exited:
		log, _ := os.ReadFile(logf.Name())
		return fmt.Errorf("etcd exited before serving: %s", tail(string(log), 2000))
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("etcd did not serve within 30s")
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// Kill kills etcd with SIGKILL, by PID, and waits for it to exit. Its data
// stays for Restart.
func (s *Server) Kill() { s.signal(syscall.SIGKILL) }

// Stop stops etcd with SIGTERM, by PID, and waits for it to exit. It does
// nothing if etcd is not running.
func (s *Server) Stop() { s.signal(syscall.SIGTERM) }

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	<-exited
}

// Restart starts etcd again on the same ports with the same data, after
// Kill or Stop.
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatalf("etcdtest: restart: %v", err)
	}
}

// WaitHealthy blocks until a linearizable read succeeds or ctx ends.
func WaitHealthy(ctx context.Context, c *clientv3.Client) error {
	_, err := c.Get(ctx, "health-probe")
	return err
}
