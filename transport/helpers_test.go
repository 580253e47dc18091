package transport

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testBound bounds every wait of a test on loopback. It is never reached
// when the code works.
const testBound = 10 * time.Second

// backend is an httptest server that counts the connections it accepted.
type backend struct {
	*httptest.Server
	conns atomic.Int64
}

func newBackend(t *testing.T, h http.Handler) *backend {
	t.Helper()
	return startBackend(t, h, nil)
}

// startBackend starts a backend; configure, if not nil, adjusts the server
// before it starts.
func startBackend(t *testing.T, h http.Handler, configure func(*httptest.Server)) *backend {
	t.Helper()
	b := &backend{}
	s := httptest.NewUnstartedServer(h)
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			b.conns.Add(1)
		}
	}
	if configure != nil {
		configure(s)
	}
	s.Start()
	t.Cleanup(s.Close)
	b.Server = s
	return b
}

// gate blocks handlers until the test opens it; it opens itself at the
// end of the test, before the servers close.
type gate struct {
	arrived chan struct{}
	open    chan struct{}
	once    sync.Once
}

func newGate(t *testing.T) *gate {
	g := &gate{arrived: make(chan struct{}, 64), open: make(chan struct{})}
	t.Cleanup(g.release)
	return g
}

func (g *gate) release() { g.once.Do(func() { close(g.open) }) }

// wait is called by a handler: it announces the arrival and blocks until
// the gate opens or the request ends.
func (g *gate) wait(r *http.Request) {
	g.arrived <- struct{}{}
	select {
	case <-g.open:
	case <-r.Context().Done():
	}
}

// awaitArrivals waits until n handlers arrived at the gate.
func (g *gate) awaitArrivals(t *testing.T, n int) {
	t.Helper()
	timeout := time.NewTimer(testBound)
	defer timeout.Stop()
	for range n {
		select {
		case <-g.arrived:
		case <-timeout.C:
			t.Fatalf("handlers did not arrive within %v", testBound)
		}
	}
}

func newTransport(t *testing.T, o Options) *Transport {
	t.Helper()
	tr, err := New(o)
	if err != nil {
		t.Fatalf("New(%+v): %v", o, err)
	}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// testContext is the test's context, bounded by testBound.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), testBound)
	t.Cleanup(cancel)
	return ctx
}

func newRequest(t *testing.T, method, url string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(testContext(t), method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// get sends a GET through tr and returns the response body, failing the
// test on any error or a status other than 200.
func get(t *testing.T, rt http.RoundTripper, url string) string {
	t.Helper()
	resp, err := rt.RoundTrip(newRequest(t, http.MethodGet, url, nil))
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d, want 200", url, resp.StatusCode)
	}
	return string(b)
}

// trackBody is a request body that is not replayable (no GetBody) and
// records how it was used.
type trackBody struct {
	r      io.Reader
	reads  atomic.Int64
	bytes  atomic.Int64
	closed chan struct{}
	once   sync.Once
}

func newTrackBody(r io.Reader) *trackBody {
	return &trackBody{r: r, closed: make(chan struct{})}
}

func (b *trackBody) Read(p []byte) (int, error) {
	b.reads.Add(1)
	n, err := b.r.Read(p)
	b.bytes.Add(int64(n))
	return n, err
}

func (b *trackBody) Close() error {
	b.once.Do(func() { close(b.closed) })
	return nil
}

func (b *trackBody) isClosed() bool {
	select {
	case <-b.closed:
		return true
	default:
		return false
	}
}

// untouched fails the test unless the body was neither read nor closed.
func (b *trackBody) untouched(t *testing.T) {
	t.Helper()
	if n := b.reads.Load(); n != 0 {
		t.Errorf("request body: %d reads, want 0", n)
	}
	if b.isClosed() {
		t.Error("request body closed, want open")
	}
}

// awaitClosed fails the test unless the body gets closed within testBound.
func (b *trackBody) awaitClosed(t *testing.T) {
	t.Helper()
	select {
	case <-b.closed:
	case <-time.After(testBound):
		t.Fatal("request body never closed")
	}
}

// postRequest is a POST of body with a known length and no GetBody.
func postRequest(t *testing.T, url string, body *trackBody, size int64) *http.Request {
	t.Helper()
	req := newRequest(t, http.MethodPost, url, body)
	req.ContentLength = size
	req.GetBody = nil
	return req
}

// closedURL returns the URL of a loopback port nobody listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func notSentReason(t *testing.T, err error) Reason {
	t.Helper()
	var ns *NotSentError
	if !errors.As(err, &ns) {
		t.Fatalf("err = %v (%T), want a *NotSentError", err, err)
	}
	return ns.Reason
}

// silentRequest is what a silentBackend saw on one connection.
type silentRequest struct {
	header    http.Header
	bodyBytes int64 // bytes after the header, until the client closed
}

// silentBackend reads request headers and never answers. It reports each
// connection when the client closes it.
type silentBackend struct {
	l    net.Listener
	seen chan silentRequest
	wg   sync.WaitGroup
	mu   sync.Mutex
	cs   []net.Conn
}

func newSilentBackend(t *testing.T, l net.Listener) *silentBackend {
	b := &silentBackend{l: l, seen: make(chan silentRequest, 16)}
	b.wg.Go(b.serve)
	t.Cleanup(func() {
		l.Close()
		b.mu.Lock()
		for _, c := range b.cs {
			c.Close()
		}
		b.mu.Unlock()
		b.wg.Wait()
	})
	return b
}

func (b *silentBackend) serve() {
	for {
		c, err := b.l.Accept()
		if err != nil {
			return
		}
		b.mu.Lock()
		b.cs = append(b.cs, c)
		b.mu.Unlock()
		b.wg.Go(func() {
			defer c.Close()
			br := bufio.NewReader(c)
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			n, _ := io.Copy(io.Discard, br)
			b.seen <- silentRequest{header: req.Header, bodyBytes: n}
		})
	}
}

func (b *silentBackend) url() string { return "http://" + b.l.Addr().String() }

// next returns what the backend saw on the next connection the client
// closed.
func (b *silentBackend) next(t *testing.T) silentRequest {
	t.Helper()
	select {
	case r := <-b.seen:
		return r
	case <-time.After(testBound):
		t.Fatal("silent backend saw no request")
		return silentRequest{}
	}
}

// pipeNet is an in-memory network for tests in a synctest bubble, where
// real sockets would keep the fake clock from advancing: dial hands one end
// of a net.Pipe to Accept.
type pipeNet struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
	dials atomic.Int64
}

func newPipeNet() *pipeNet {
	return &pipeNet{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (n *pipeNet) Accept() (net.Conn, error) {
	select {
	case c := <-n.conns:
		return c, nil
	case <-n.done:
		return nil, net.ErrClosed
	}
}

func (n *pipeNet) Close() error {
	n.once.Do(func() { close(n.done) })
	return nil
}

func (n *pipeNet) Addr() net.Addr { return pipeAddr{} }

func (n *pipeNet) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	c, s := net.Pipe()
	select {
	case n.conns <- s:
		n.dials.Add(1)
		return c, nil
	case <-n.done:
	case <-ctx.Done():
	}
	c.Close()
	s.Close()
	return nil, &net.OpError{Op: "dial", Net: "pipe", Err: errors.New("pipe network closed")}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// pipeServer serves h on a pipeNet inside the current bubble and points
// tr's dialer at it; configure, if given, adjusts the server before it
// serves. Everything is closed at the end of the test.
func pipeServer(t *testing.T, tr *Transport, h http.Handler, configure ...func(*http.Server)) *pipeNet {
	n := newPipeNet()
	srv := &http.Server{Handler: h}
	for _, f := range configure {
		f(srv)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(n)
	}()
	tr.dialer.dial = n.dial
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
		<-done
	})
	return n
}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	io.WriteString(w, "ok")
})

// h2cServerProtocols lets a test server speak HTTP/1.1 and h2c.
func h2cServerProtocols() *http.Protocols {
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	return p
}
