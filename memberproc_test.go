package balancer_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// memberEnv, when set in the environment, makes the test binary a member
// process (see runMemberProcess) instead of running the tests. Its value
// is the member's mode: "hold" answers each request once "release" was
// read on stdin, "reset" resets the connection after reading the request.
const memberEnv = "BALANCER_TEST_MEMBER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(memberEnv); mode != "" {
		runMemberProcess(mode)
		return
	}
	os.Exit(m.Run())
}

// runMemberProcess serves HTTP on a loopback port until it is killed or
// its stdin closes. It prints "addr ADDR" once listening and "recv ID
// METHOD BODYLEN" for every request whose body it read whole, ID being
// the X-Request-Id header.
func runMemberProcess(mode string) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var outMu sync.Mutex
	say := func(format string, a ...any) {
		outMu.Lock()
		fmt.Fprintf(os.Stdout, format+"\n", a...)
		outMu.Unlock()
	}
	release := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			if sc.Text() == "release" {
				close(release)
				break
			}
		}
		for sc.Scan() {
		}
		os.Exit(0) // stdin closed: the test is over
	}()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			return
		}
		say("recv %s %s %d", r.Header.Get("X-Request-Id"), r.Method, n)
		switch mode {
		case "reset":
			c, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
			}
			return
		case "hold":
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		io.WriteString(w, "ok")
	}), ReadHeaderTimeout: time.Minute}
	say("addr %s", l.Addr())
	srv.Serve(l)
}

// memberProc is a member running as a separate process, which a test can
// SIGKILL.
type memberProc struct {
	URL   string
	cmd   *exec.Cmd
	stdin io.WriteCloser

	mu    sync.Mutex
	recv  map[string]int // request id -> times received whole
	total int
	// short counts requests with a body whose length was not 1024 (the
	// body the tests send).
	short  int
	notify chan struct{} // receives after every "recv" line (buffered 1)
	exited chan struct{}
}

// startMemberProc starts a member process in mode and returns once it
// listens. It is killed when the test ends.
func startMemberProc(t *testing.T, mode string) *memberProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), memberEnv+"="+mode)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &memberProc{cmd: cmd, stdin: stdin, recv: map[string]int{}, notify: make(chan struct{}, 1), exited: make(chan struct{})}
	t.Cleanup(p.kill)
	addr := make(chan string, 1)
	go func() {
		defer close(p.exited)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			switch {
			case len(f) == 2 && f[0] == "addr":
				addr <- f[1]
			case len(f) == 4 && f[0] == "recv":
				p.mu.Lock()
				p.recv[f[1]]++
				p.total++
				if f[2] != http.MethodGet && f[3] != "1024" {
					p.short++
				}
				p.mu.Unlock()
				select {
				case p.notify <- struct{}{}:
				default:
				}
			}
		}
		cmd.Wait()
	}()
	select {
	case a := <-addr:
		p.URL = "http://" + a
	case <-p.exited:
		t.Fatal("member process ended before listening")
	}
	return p
}

// release lets a "hold" member answer every request, held and future.
func (p *memberProc) release() { io.WriteString(p.stdin, "release\n") }

// kill SIGKILLs the process and waits until it is gone (idempotent).
func (p *memberProc) kill() {
	p.cmd.Process.Kill()
	<-p.exited
}

// received returns how many requests arrived whole, and the count per id.
func (p *memberProc) received() (int, map[string]int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ids := make(map[string]int, len(p.recv))
	for k, v := range p.recv {
		ids[k] = v
	}
	return p.total, ids
}

// waitReceived waits until the members together received n requests, or
// the deadline passes (then the test fails).
func waitReceived(t *testing.T, n int, ps ...*memberProc) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		total := 0
		for _, p := range ps {
			got, _ := p.received()
			total += got
		}
		if total >= n {
			return
		}
		select {
		case <-ps[0].notify:
		case <-ps[len(ps)-1].notify:
		case <-ps[len(ps)/2].notify:
		case <-deadline:
			t.Fatalf("members received %d requests, waited for %d", total, n)
		}
	}
}
