//go:build unix

package transport

import (
	"context"
	"net"
	"strconv"
	"syscall"
	"testing"
)

// receivedMember starts a member that answers body with a 200 as soon as
// it accepts a connection (before it reads the request), and points tr's
// dialer at it. A dial returns only once the whole response is in the
// connection's socket, so the transport's first read finds all of it
// there: what a read buffers then does not depend on when the member's
// bytes arrive. It returns the member's URL.
func receivedMember(t *testing.T, tr *Transport, body []byte) string {
	t.Helper()
	resp := "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + string(body)
	m := newRawMember(t, func(rc *rawConn) {
		if rc.write(resp) {
			rc.drain()
		}
	})
	tr.dialer.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if err := awaitReceived(c.(*net.TCPConn), len(resp)); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
	return m.url()
}

// awaitReceived waits, without reading them, until n bytes are in c's
// socket.
func awaitReceived(c *net.TCPConn, n int) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	buf := make([]byte, n)
	var peekErr error
	err = raw.Read(func(fd uintptr) bool {
		m, _, err := syscall.Recvfrom(int(fd), buf, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK:
			return false // nothing yet: wait until readable
		case err != nil:
			peekErr = err
			return true
		case m == 0:
			peekErr = syscall.ECONNRESET // ended before n bytes
			return true
		}
		return m >= n // fewer: wait for more to arrive
	})
	if err != nil {
		return err
	}
	return peekErr
}
