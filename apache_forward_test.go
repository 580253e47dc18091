//go:build apache

package balancer_test

// Differential test of what reaches the member (go test -tags apache): the
// same raw requests go to a real Apache httpd 2.4 and to our balancer, both
// proxying to one recording member, and the member's view of each request
// (request line, end-to-end headers, body and its framing) must be the
// same, as must the client's view of the answer (status, framing, 1xx
// responses, trailers). It needs the Debian package apache2.

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/textproto"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/internal/apachetest"
)

// fwdHopByHop are the headers left out of the member's view: they belong
// to the connection between proxy and member, which Apache and the
// balancer manage each their own way (Apache closes or keeps it alive by
// its own rules).
var fwdHopByHop = map[string]bool{"Connection": true, "Keep-Alive": true}

// fwdView is what the member received for one request.
type fwdView struct {
	Line    string   // the request line
	Headers []string // "Name: value", names canonical, sorted by name (order kept within a name)
	Framing string   // "length N", "chunked" or "none"
	Body    string
}

// fwdAnswer is what the client received.
type fwdAnswer struct {
	Status  int
	Interim []string // 1xx responses: "103 Link: <...>"
	Framing string   // "length N", "chunked" or "close"
	Body    string
	Trailer []string
}

// fwdMember records every request it reads, on any number of connections,
// and answers by the request's path: /r/empty-chunked (an empty chunked
// body), /r/trailer (a chunked body with a trailer), /r/early (103 Early
// Hints, then 200); anything else gets 200 "ok" with a length.
type fwdMember struct {
	l     net.Listener
	views chan fwdView
	wg    sync.WaitGroup

	mu    sync.Mutex
	conns []net.Conn // closed at the end of the test
}

func newFwdMember(t *testing.T) *fwdMember {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	m := &fwdMember{l: l, views: make(chan fwdView, 16)}
	m.wg.Go(m.accept)
	t.Cleanup(func() {
		l.Close()
		m.mu.Lock()
		for _, c := range m.conns {
			c.Close()
		}
		m.mu.Unlock()
		m.wg.Wait()
	})
	return m
}

func (m *fwdMember) accept() {
	var conns sync.WaitGroup
	defer conns.Wait()
	for {
		c, err := m.l.Accept()
		if err != nil {
			return
		}
		m.mu.Lock()
		m.conns = append(m.conns, c)
		m.mu.Unlock()
		conns.Go(func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			br := bufio.NewReader(c)
			for {
				v, err := readFwdView(br)
				if err != nil {
					return
				}
				m.views <- v
				if _, err := io.WriteString(c, fwdResponse(v.Line)); err != nil {
					return
				}
			}
		})
	}
}

func fwdResponse(line string) string {
	target := strings.Fields(line + "  ")[1]
	switch {
	case strings.HasPrefix(target, "/r/empty-chunked"):
		return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
	case strings.HasPrefix(target, "/r/trailer"):
		return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n2\r\nok\r\n0\r\nX-Sum: 42\r\n\r\n"
	case strings.HasPrefix(target, "/r/early"):
		return "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	}
	return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
}

// readFwdView reads one request as it came, byte for byte in its line and
// header values.
func readFwdView(br *bufio.Reader) (fwdView, error) {
	tp := textproto.NewReader(br)
	line, err := tp.ReadLine()
	if err != nil {
		return fwdView{}, err
	}
	v := fwdView{Line: line, Framing: "none"}
	hdr := map[string][]string{}
	for {
		l, err := tp.ReadLine()
		if err != nil {
			return v, err
		}
		if l == "" {
			break
		}
		k, val, _ := strings.Cut(l, ":")
		k = textproto.CanonicalMIMEHeaderKey(k)
		hdr[k] = append(hdr[k], strings.TrimSpace(val))
	}
	var body io.Reader
	switch {
	case len(hdr["Transfer-Encoding"]) > 0:
		v.Framing = "chunked"
		body = httputil.NewChunkedReader(br)
	case len(hdr["Content-Length"]) > 0:
		n, err := strconv.ParseInt(hdr["Content-Length"][0], 10, 64)
		if err != nil {
			return v, err
		}
		v.Framing = "length " + hdr["Content-Length"][0]
		body = io.LimitReader(br, n)
	}
	delete(hdr, "Transfer-Encoding")
	delete(hdr, "Content-Length")
	if body != nil {
		b, err := io.ReadAll(body)
		if err != nil {
			return v, err
		}
		v.Body = string(b)
		if v.Framing == "chunked" {
			for { // trailer fields, then the final CRLF
				l, err := tp.ReadLine()
				if err != nil {
					return v, err
				}
				if l == "" {
					break
				}
			}
		}
	}
	keys := make([]string, 0, len(hdr))
	for k := range hdr {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if fwdHopByHop[k] {
			continue
		}
		for _, val := range hdr[k] {
			v.Headers = append(v.Headers, k+": "+val)
		}
	}
	return v, nil
}

// fwdSend writes raw to addr and reads the whole answer (the request says
// Connection: close).
func fwdSend(addr string, raw []byte) (fwdAnswer, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return fwdAnswer{}, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(raw); err != nil {
		return fwdAnswer{}, err
	}
	all, err := io.ReadAll(c)
	if err != nil {
		return fwdAnswer{}, err
	}
	br := bufio.NewReader(bytes.NewReader(all))
	head := strings.HasPrefix(string(raw), "HEAD ")
	var a fwdAnswer
	for {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			return a, fmt.Errorf("%v in %q", err, all)
		}
		if res.StatusCode >= 100 && res.StatusCode < 200 {
			a.Interim = append(a.Interim, fmt.Sprintf("%d Link: %s", res.StatusCode, res.Header.Get("Link")))
			continue
		}
		a.Status = res.StatusCode
		switch {
		case len(res.TransferEncoding) > 0:
			a.Framing = "chunked"
		case res.Header.Get("Content-Length") != "":
			a.Framing = "length " + res.Header.Get("Content-Length")
		default:
			a.Framing = "close"
		}
		if a.Status == 200 && !head {
			b, err := io.ReadAll(res.Body)
			if err != nil {
				return a, err
			}
			a.Body = string(b)
			for k, vs := range res.Trailer {
				for _, v := range vs {
					a.Trailer = append(a.Trailer, k+": "+v)
				}
			}
			sort.Strings(a.Trailer)
		} else {
			a.Framing = "" // error pages: only the status is compared
		}
		return a, nil
	}
}

// fwdCase is one request, sent byte for byte to both sides (the harness
// adds nothing: it is written with its Host and Connection: close).
type fwdCase struct {
	name string
	raw  string
}

func fwdGet(name, target string, headers ...string) fwdCase {
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: front.test\r\n", target)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n")
	return fwdCase{name, b.String()}
}

// fwdCases are the requests compared: the table (query, path,
// X-Forwarded-*, framing, hooks' visible effects, h2c), Apache's path
// canonicalisation case by case, and the request limits.
func fwdCases() []fwdCase {
	cs := []fwdCase{
		// The query, byte for byte.
		fwdGet("query with ;", "/p?sig=abc;x=1&b=2"),
		fwdGet("query with invalid escape", "/p?z=1&a=%zz&m=1"),
		fwdGet("empty query", "/p?"),
		fwdGet("query with + and escapes", "/p?a=%20+b&c=d%26e&c=1"),
		fwdGet("query with escaped separators", "/p?a=%3D%26%3F%23&b"),
		fwdGet("query without value", "/p?flag&=x&&"),
		fwdGet("query with lowercase escape", "/p?q=%c3%a9"),
		fwdGet("query with / and ?", "/p?next=/a/b?c=d"),
		// X-Forwarded-*.
		fwdGet("x-forwarded-for appended", "/p", "X-Forwarded-For: 1.2.3.4"),
		fwdGet("x-forwarded-for two lines", "/p", "X-Forwarded-For: 1.2.3.4", "X-Forwarded-For: 5.6.7.8"),
		fwdGet("x-forwarded-host appended", "/p", "X-Forwarded-Host: orig.example"),
		fwdGet("x-forwarded-server appended", "/p", "X-Forwarded-Server: edge"),
		fwdGet("x-forwarded-proto kept", "/p", "X-Forwarded-Proto: https"),
		fwdGet("forwarded kept", "/p", "Forwarded: for=1.2.3.4;proto=https"),
		fwdGet("connection names x-forwarded-for", "/p", "X-Forwarded-For: 1.2.3.4", "Connection: X-Forwarded-For"),
		fwdGet("connection names a header", "/p", "X-Foo: bar", "Connection: X-Foo"),
		fwdGet("connection names two headers", "/p", "X-Foo: bar", "X-Bar: baz", "Connection: X-Foo, x-bar"),
		fwdGet("host with port", "/p"),
		// Hop-by-hop and upgrades.
		fwdGet("h2c upgrade dropped", "/p", "Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c", "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"),
		fwdGet("te trailers", "/p", "TE: trailers"),
		fwdGet("keep-alive and proxy-connection", "/p", "Keep-Alive: timeout=5", "Proxy-Connection: keep-alive"),
		fwdGet("proxy-authorization", "/p", "Proxy-Authorization: Basic YTpi"),
		fwdGet("user-agent absent", "/p"),
		fwdGet("user-agent kept", "/p", "User-Agent: curl/8.0"),
		fwdGet("accept-encoding absent", "/p"),
		fwdGet("expect", "/p", "Expect: 100-continue"),
		{"post with length", "POST /p HTTP/1.1\r\nHost: front.test\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"},
		{"post empty", "POST /p HTTP/1.1\r\nHost: front.test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"},
		{"head", "HEAD /p HTTP/1.1\r\nHost: front.test\r\nConnection: close\r\n\r\n"},
		{"http/1.0", "GET /p HTTP/1.0\r\nHost: front.test\r\n\r\n"},
		// Response framing.
		fwdGet("empty chunked response", "/r/empty-chunked"),
		fwdGet("response trailer", "/r/trailer", "TE: trailers"),
		fwdGet("early hints", "/r/early"),
	}
	// The path: Apache decodes it and encodes it again for the member.
	for _, p := range []string{
		"/p%3Bx", "/p%7Ex", "/p%20q", "/a%2Fb", "/p%00q", "/p%25q", "/p%25zz", "/p%C3%A9", "/p%c3%a9",
		"/p\xc3\xa9", "/p%zz", "/p%2", "/p%41%2d%5f", "/p%2e%2e/x", "/p/%2e/x", "/p!*'()x", "/p%21%2A%27%28%29",
		"/p%5B%5D", "/p[x]", "/p%3F", "/p%23", "/p%2B", "/p+x", "/p%40", "/p;x=1", "/p%3A%3D%26%24%2C",
		"/p%22", "/p%3C%3E", "/p%5C", "/p%7B%7D%7C%5E%60", "/p%09", "/p%7F", "/p%FF", "/p%0D%0A",
		"/app%3Bjsessionid=x.node1", "/p//x", "/p%2f", "/p~x",
	} {
		cs = append(cs, fwdGet("path "+p, p))
	}
	// Request limits: Apache's defaults (8190 bytes per line and field,
	// 100 fields), at the limit and one past it.
	line := func(n int) string { // a target making a request line of n bytes
		return "/" + strings.Repeat("a", n-len("GET / HTTP/1.1"))
	}
	field := func(n int) string { return "X-Big: " + strings.Repeat("b", n-len("X-Big: ")) }
	fields := func(n int) []string { // n fields with Host and Connection
		var hs []string
		for i := range n - 2 {
			hs = append(hs, fmt.Sprintf("X-F%d: v", i))
		}
		return hs
	}
	cs = append(cs,
		fwdGet("request line 8190", line(8190)),
		fwdGet("request line 8191", line(8191)),
		fwdGet("field 8190", "/p", field(8190)),
		fwdGet("field 8191", "/p", field(8191)),
		fwdGet("100 fields", "/p", fields(100)...),
		fwdGet("101 fields", "/p", fields(101)...),
	)
	return cs
}

// fwdDifferences are the cases where the balancer knowingly differs from
// Apache 2.4.71, and why (the README's "Differences from Apache" lists
// them). The test requires them to differ, so the list stays true.
var fwdDifferences = map[string]string{
	// net/http's ReverseProxy tells the member that trailers reach the
	// client, since they do (below); Apache drops TE.
	"te trailers":      "the member gets TE: trailers when the client sent it",
	"response trailer": "the member gets TE: trailers, and the client gets the member's trailer fields, which Apache drops",
	// A member's chunked response stays chunked whatever its length;
	// Apache gives an empty one a Content-Length: 0.
	"empty chunked response": "an empty chunked response stays chunked",
}

// TestApacheForward sends every case to Apache and to our balancer, both in
// front of one member, and compares the member's view and the client's.
func TestApacheForward(t *testing.T) {
	member := newFwdMember(t)
	memberURL := "http://" + member.l.Addr().String()
	sides := []struct {
		name    string
		conf    string
		cfg     balancer.Config
		only    func(fwdCase) bool
		limited bool
	}{
		{
			name: "default",
			conf: "ProxyPass / balancer://fwd/\n",
			cfg:  balancer.Config{},
		},
		{
			name: "preservehost",
			conf: "ProxyPreserveHost On\nProxyPass / balancer://fwd/\n",
			cfg:  balancer.Config{PreserveHost: true},
			only: func(c fwdCase) bool { return c.name == "host with port" || c.name == "x-forwarded-host appended" },
		},
	}
	compared, agreed := 0, 0
	for _, s := range sides {
		t.Run(s.name, func(t *testing.T) {
			conf := fmt.Sprintf("<Proxy balancer://fwd>\n  BalancerMember %s\n</Proxy>\n%s", memberURL, s.conf)
			apache := apachetest.Start(t, apachetest.Config{Directives: conf})
			cfg := s.cfg
			cfg.Name = "fwd"
			cfg.ServerName = "127.0.0.1" // the harness's ServerName
			cfg.Members = []balancer.Member{{URL: memberURL}}
			b, err := balancer.New(cfg)
			require.NoError(t, err)
			t.Cleanup(func() { b.Close() })
			front := httptest.NewServer(balancer.ApacheRequestLimits.Wrap(b))
			t.Cleanup(front.Close)

			for _, c := range fwdCases() {
				if s.only != nil && !s.only(c) {
					continue
				}
				raw := []byte(strings.ReplaceAll(c.raw, "Host: front.test", "Host: front.test:8080"))
				if !strings.HasPrefix(c.name, "host") {
					raw = []byte(c.raw)
				}
				wantView, wantAns := fwdExchange(t, member, apache.Addr, raw)
				gotView, gotAns := fwdExchange(t, member, front.Listener.Addr().String(), raw)
				compared++
				why, known := fwdDifferences[c.name]
				if known {
					if cmp.Equal(wantView, gotView) && cmp.Equal(wantAns, gotAns) {
						t.Errorf("%s: listed as a difference (%s) but agrees with Apache: update fwdDifferences and the README", c.name, why)
					} else {
						t.Logf("%s: differs as documented: %s", c.name, why)
					}
					continue
				}
				ok := true
				if d := cmp.Diff(wantView, gotView); d != "" {
					ok = false
					t.Errorf("%s: member's view differs (-apache +ours):\n%s", c.name, d)
				}
				if d := cmp.Diff(wantAns, gotAns); d != "" {
					ok = false
					t.Errorf("%s: client's view differs (-apache +ours):\n%s", c.name, d)
				}
				if ok {
					agreed++
				}
				if testing.Verbose() {
					t.Logf("%s: apache %d %v; member saw %+v", c.name, wantAns.Status, wantAns.Framing, wantView)
				}
			}
		})
	}
	t.Logf("apache forward differential: %d cases compared, %d agree with Apache, %d differ (%d of them documented differences)",
		compared, agreed, compared-agreed, len(fwdDifferences))
	if compared < 70 {
		t.Errorf("only %d cases compared, want at least 70", compared)
	}
}

// fwdExchange sends raw to addr and returns what the member saw (nil if
// the request did not reach it) and what the client got.
func fwdExchange(t *testing.T, m *fwdMember, addr string, raw []byte) (*fwdView, fwdAnswer) {
	t.Helper()
	ans, err := fwdSend(addr, raw)
	require.NoError(t, err, "%s: %q", addr, raw)
	select {
	case v := <-m.views:
		// A request reaches the member before its answer reaches the
		// client: the view is in the channel by now if there is one.
		return &v, ans
	default:
		return nil, ans
	}
}
