package balancer_test

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/transport"
)

// A WebSocket handshake and echo go through the balancer, sticky by cookie,
// and the member counts as busy while the connection is open.
func TestWebSocketThroughBalancer(t *testing.T) {
	upgrader := websocket.Upgrader{}
	echo := func(name string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := upgrader.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			defer c.Close()
			for {
				mt, msg, err := c.ReadMessage()
				if err != nil {
					return
				}
				c.WriteMessage(mt, append([]byte(name+":"), msg...))
			}
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	s1, s2 := echo("r1"), echo("r2")
	b := mustNew(t, balancer.Config{Name: "ws", StickySession: "SID", Members: []balancer.Member{
		{URL: s1.URL, Route: "r1"}, {URL: s2.URL, Route: "r2"},
	}})
	front := httptest.NewServer(b)
	t.Cleanup(front.Close)
	wsURL := "ws" + strings.TrimPrefix(front.URL, "http") + "/chat"
	for _, route := range []string{"r2", "r1", "r2"} {
		c, res, err := websocket.DefaultDialer.Dial(wsURL, http.Header{"Cookie": {"SID=abc." + route}})
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		if res.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("status %d", res.StatusCode)
		}
		for _, msg := range []string{"hello", "world"} {
			if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
				t.Fatal(err)
			}
			_, got, err := c.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			if want := route + ":" + msg; string(got) != want {
				t.Errorf("echo %q, want %q", got, want)
			}
		}
		busy := b.Members()
		idx := map[string]int{"r1": 0, "r2": 1}[route]
		if busy[idx].Busy != 1 {
			t.Errorf("member %s busy %d while its WebSocket is open, want 1", route, busy[idx].Busy)
		}
		c.Close()
		// The balancer ends the tunnel once both sides have closed: wait
		// for it before the next connection counts busy again.
		require.Eventually(t, func() bool { return b.Members()[idx].Busy == 0 }, 10*time.Second, time.Millisecond,
			"member %s still busy after its WebSocket closed", route)
	}
}

// Server-sent events are flushed as they come, not buffered.
func TestServerSentEventsFlushed(t *testing.T) {
	next := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			io.WriteString(w, "data: event"+string(rune('0'+i))+"\n\n")
			http.NewResponseController(w).Flush()
			select {
			case <-next: // the next event only once the client has read this one
			case <-r.Context().Done():
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	b := mustNew(t, balancer.Config{Name: "sse", Members: []balancer.Member{{URL: srv.URL}}})
	front := httptest.NewServer(b)
	t.Cleanup(front.Close)
	// Were events buffered, the read would block: the timeout bounds it.
	client := &http.Client{Timeout: 10 * time.Second}
	res, err := client.Get(front.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	rd := bufio.NewReader(res.Body)
	for i := range 3 {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if want := "data: event" + string(rune('0'+i)) + "\n"; line != want {
			t.Fatalf("got %q, want %q", line, want)
		}
		rd.ReadString('\n')
		if i < 2 {
			next <- struct{}{}
		}
	}
}

// HTTP/2 clients at the front, over TLS and over h2c; members over
// HTTP/1.1 by default and over h2c when they say so.
func TestHTTP2(t *testing.T) {
	proto := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, name+" "+r.Proto)
		})
	}
	h1 := httptest.NewServer(proto("h1member"))
	t.Cleanup(h1.Close)
	h2cSrv := httptest.NewUnstartedServer(proto("h2cmember"))
	h2cSrv.Config.Protocols = new(http.Protocols)
	h2cSrv.Config.Protocols.SetUnencryptedHTTP2(true)
	h2cSrv.Start()
	t.Cleanup(h2cSrv.Close)
	b := mustNew(t, balancer.Config{Name: "h2", Members: []balancer.Member{
		{URL: h1.URL}, {URL: h2cSrv.URL, Connection: transport.Options{H2C: true}},
	}})

	// TLS front with HTTP/2.
	tlsFront := httptest.NewUnstartedServer(b)
	tlsFront.EnableHTTP2 = true
	tlsFront.StartTLS()
	t.Cleanup(tlsFront.Close)
	// h2c front.
	h2cFront := httptest.NewUnstartedServer(b)
	h2cFront.Config.Protocols = new(http.Protocols)
	h2cFront.Config.Protocols.SetHTTP1(true)
	h2cFront.Config.Protocols.SetUnencryptedHTTP2(true)
	h2cFront.Start()
	t.Cleanup(h2cFront.Close)

	tlsClient := tlsFront.Client()
	h2cTransport := &http.Transport{Protocols: new(http.Protocols)}
	h2cTransport.Protocols.SetUnencryptedHTTP2(true)
	h2cClient := &http.Client{Transport: h2cTransport, Timeout: 10 * time.Second}
	t.Cleanup(h2cTransport.CloseIdleConnections)

	for _, c := range []struct {
		name   string
		client *http.Client
		url    string
	}{{"tls", tlsClient, tlsFront.URL}, {"h2c", h2cClient, h2cFront.URL}} {
		got := map[string]bool{}
		for range 2 {
			res, err := c.client.Get(c.url + "/")
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.ProtoMajor != 2 {
				t.Errorf("%s front spoke %s, want HTTP/2", c.name, res.Proto)
			}
			got[string(body)] = true
		}
		if !got["h1member HTTP/1.1"] || !got["h2cmember HTTP/2.0"] {
			t.Errorf("%s: members answered %v, want h1member over HTTP/1.1 and h2cmember over HTTP/2.0", c.name, got)
		}
	}
}
