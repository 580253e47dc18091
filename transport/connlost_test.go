package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lostConn returns a client connection to a loopback server that accepted
// it and, once the client has written, ends it as end says: "reset" (RST)
// or "close" (FIN).
func lostConn(t *testing.T, end string) net.Conn {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := l.Accept()
		if err != nil {
			return
		}
		c.Read(make([]byte, 1))
		if end == "reset" {
			c.(*net.TCPConn).SetLinger(0)
		}
		c.Close()
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	_, err = c.Write([]byte("x"))
	require.NoError(t, err)
	<-done
	return c
}

// Every way a connection is lost, made on real loopback sockets, is one
// class; timeouts, the caller's context and not-sent errors are not in it.
func TestConnectionLostClassifies(t *testing.T) {
	errs := map[string]error{}

	c := lostConn(t, "reset")
	_, errs["reset on read"] = c.Read(make([]byte, 1))

	c = lostConn(t, "close")
	_, errs["closed by the member (EOF)"] = c.Read(make([]byte, 1))

	c = lostConn(t, "reset")
	var werr error
	for i := 0; i < 100 && werr == nil; i++ {
		_, werr = c.Write(make([]byte, 64<<10))
	}
	errs["write after reset"] = werr

	// Writes to a connection the member closed: the member's kernel
	// answers the first with a reset, the next write fails with EPIPE.
	c = lostConn(t, "close")
	werr = nil
	for i := 0; i < 100 && werr == nil; i++ {
		_, werr = c.Write(make([]byte, 64<<10))
	}
	for i := 0; i < 3 && !errors.Is(werr, syscall.EPIPE); i++ {
		_, werr = c.Write([]byte("x"))
	}
	require.ErrorIs(t, werr, syscall.EPIPE)
	errs["broken pipe"] = werr

	c = lostConn(t, "close")
	c.Close()
	_, errs["use of closed network connection"] = c.Read(make([]byte, 1))

	// Through net/http: the member reads the request and closes.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Read(make([]byte, 4096))
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
	}()
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	req, _ := http.NewRequest(http.MethodPut, "http://"+l.Addr().String()+"/", strings.NewReader("body"))
	_, errs["net/http, member resets after the request"] = tr.RoundTrip(req)

	errs["text only"] = fmt.Errorf("proxy: %s", "read tcp 127.0.0.1:1->127.0.0.1:2: use of closed network connection")

	for name, err := range errs {
		require.Error(t, err, name)
		assert.True(t, ConnectionLost(err), "%s: %v", name, err)
		t.Logf("lost: %-45s %v", name, err)
	}

	c = lostConn(t, "close")
	c.SetReadDeadline(time.Now().Add(-time.Second))
	_, timeout := c.Read(make([]byte, 1))
	notLost := map[string]error{
		"nil":             nil,
		"net timeout":     timeout,
		"member timeout":  fmt.Errorf("%w: %w", ErrTimeout, io.ErrUnexpectedEOF),
		"client canceled": fmt.Errorf("read: %w", context.Canceled),
		"deadline":        context.DeadlineExceeded,
		"not sent":        &NotSentError{Reason: ReasonConnect, Err: io.EOF},
		"other":           errors.New("malformed HTTP response"),
	}
	for name, err := range notLost {
		assert.False(t, ConnectionLost(err), "%s: %v", name, err)
	}
}

// A lost connection is recognised however it shows; the end of the
// caller's context and a timeout are not lost connections.
func ExampleConnectionLost() {
	fmt.Println(ConnectionLost(io.EOF))
	fmt.Println(ConnectionLost(fmt.Errorf("write: %w", syscall.EPIPE)))
	fmt.Println(ConnectionLost(errors.New("read tcp 127.0.0.1:1->127.0.0.1:2: use of closed network connection")))
	fmt.Println(ConnectionLost(context.Canceled))
	fmt.Println(ConnectionLost(fmt.Errorf("%w: no answer", ErrTimeout)))
	// Output:
	// true
	// true
	// true
	// false
	// false
}
