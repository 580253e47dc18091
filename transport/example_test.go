package transport_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/proxybalancer/balancer/transport"
)

// Failing over: the first member is down, so the attempt is NotSent and
// the same request, body included, goes to the next member.
func Example_failover() {
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "got %q", b)
	}))
	defer live.Close()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	l.Close()

	members := []string{dead, strings.TrimPrefix(live.URL, "http://")}
	transports := make([]*transport.Transport, len(members))
	for i := range members {
		transports[i], _ = transport.New(transport.Options{})
		defer transports[i].CloseIdleConnections()
	}

	req, _ := http.NewRequest(http.MethodPost, "http://placeholder/", io.NopCloser(strings.NewReader("hello")))
	req.ContentLength = 5
	for i, host := range members {
		req.URL.Host = host
		resp, err := transports[i].RoundTrip(req)
		var ns *transport.NotSentError
		if errors.As(err, &ns) { // or transport.NotSent(err)
			fmt.Printf("member %d: not sent (%v)\n", i, ns.Reason)
			continue
		}
		if err != nil {
			fmt.Println("failed:", err)
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("member %d: %d %s\n", i, resp.StatusCode, b)
		return
	}
	// Output:
	// member 0: not sent (connect)
	// member 1: 200 got "hello"
}
