package balancer_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
)

// A client that half-closes an upgraded connection still receives what the
// member sends until the member closes: the end of the client's stream
// reaches the member as an end of stream (CloseWrite), not as the end of
// the tunnel. The member writes its answer only after it has read that
// end, so the test needs no timing: without CloseWrite through the
// transport's connection the tunnel is torn down and the answer is lost.
func TestUpgradedTunnelHalfClose(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	memberDone := make(chan error, 1)
	go func() {
		memberDone <- func() error {
			c, err := l.Accept()
			if err != nil {
				return err
			}
			defer c.Close()
			br := bufio.NewReader(c)
			req, err := http.ReadRequest(br)
			if err != nil {
				return err
			}
			req.Body.Close()
			if _, err := io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n"); err != nil {
				return err
			}
			got, err := io.ReadAll(br) // until the client's end of stream
			if err != nil {
				return err
			}
			_, err = io.WriteString(c, "member read "+string(got)+"; bye")
			return err
		}()
	}()

	b := mustNew(t, balancer.Config{Members: []balancer.Member{{URL: "http://" + l.Addr().String()}}})
	front := httptest.NewServer(b)
	t.Cleanup(front.Close)

	c, err := net.Dial("tcp", front.Listener.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, "GET /tunnel HTTP/1.1\r\nHost: front\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	require.NoError(t, err)
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, res.StatusCode)
	_, err = io.WriteString(c, "hello")
	require.NoError(t, err)
	require.NoError(t, c.(*net.TCPConn).CloseWrite())
	rest, err := io.ReadAll(br)
	assert.NoError(t, err)
	assert.Equal(t, "member read hello; bye", string(rest))
	assert.NoError(t, <-memberDone)
}
