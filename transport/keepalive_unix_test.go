//go:build unix

package transport

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"syscall"
	"testing"
)

func TestKeepAlive(t *testing.T) {
	tests := []struct {
		name string
		on   bool
		want int
	}{
		{"off by default", false, 0},
		{"on", true, 1},
	}
	b := newBackend(t, okHandler)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTransport(t, Options{KeepAlive: tt.on})
			got, gotErr := -1, error(nil)
			req := newRequest(t, http.MethodGet, b.URL, nil)
			req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
				GotConn: func(info httptrace.GotConnInfo) { got, gotErr = soKeepAlive(info.Conn) },
			}))
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if gotErr != nil {
				t.Fatal(gotErr)
			}
			if got != tt.want {
				t.Errorf("SO_KEEPALIVE = %d, want %d", got, tt.want)
			}
		})
	}
}

// soKeepAlive reads SO_KEEPALIVE of a TCP connection.
func soKeepAlive(c net.Conn) (int, error) {
	if dc, ok := c.(*deadlineConn); ok {
		c = dc.Conn // the read-deadline wrapper of HTTP/1.1 connections
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return 0, fmt.Errorf("connection is %T, want *net.TCPConn", c)
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return 0, err
	}
	var v int
	var serr error
	if err := raw.Control(func(fd uintptr) {
		v, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
	}); err != nil {
		return 0, err
	}
	return v, serr
}
