package transport

// Differential tests of the direct exchange (direct.go) against net/http's
// Transport. Each test scripts a member byte by byte on a raw listener (a
// rawMember, rawmember_test.go), sends the same requests through a
// Transport that takes the direct exchange and one with noDirect set
// (net/http's http.Transport), and compares what a caller of RoundTrip
// observes: status, headers, body, trailers, lengths, errors and the
// connections the member saw.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// errSentinel is a test's own error: a context's cancel cause, or what a
// Got1xxResponse hook returns.
var errSentinel = errors.New("test sentinel")

// The two paths compared.
var diffPaths = []struct {
	name     string
	noDirect bool
}{
	{"direct", false},
	{"net/http", true},
}

// errClass is what a caller can tell about an error without parsing its
// text. Text is for the report only; it is not compared.
type errClass struct {
	Failed        bool
	NotSent       bool
	Timeout       bool // IsTimeout
	EOF           bool // errors.Is(err, io.EOF)
	UnexpectedEOF bool // errors.Is(err, io.ErrUnexpectedEOF)
	Canceled      bool // errors.Is(err, context.Canceled)
	Sentinel      bool // errors.Is(err, errSentinel)
	Text          string
}

func classify(err error) errClass {
	if err == nil {
		return errClass{}
	}
	return errClass{
		Failed:        true,
		NotSent:       NotSent(err),
		Timeout:       IsTimeout(err),
		EOF:           errors.Is(err, io.EOF),
		UnexpectedEOF: errors.Is(err, io.ErrUnexpectedEOF),
		Canceled:      errors.Is(err, context.Canceled),
		Sentinel:      errors.Is(err, errSentinel),
		Text:          err.Error(),
	}
}

// ignoreText leaves error texts out of comparisons.
var ignoreText = cmpopts.IgnoreFields(errClass{}, "Text")

// ignoreAfterEnd leaves out the reads after the body ended, which
// TestDirectDiffReadAfterEnd compares on its own: no proxy reads a body
// again after its EOF, its error or its Close.
var ignoreAfterEnd = cmpopts.IgnoreFields(outcome{}, "ReadAgain", "ReadAfterClose")

type interim struct {
	Code   int
	Header http.Header
}

// outcome is what the caller observed of one request.
type outcome struct {
	Err              errClass // of RoundTrip
	Status           string
	StatusCode       int
	Proto            string
	Header           http.Header
	ContentLength    int64
	TransferEncoding []string
	Close            bool
	Uncompressed     bool
	SameRequest      bool // res.Request is the request sent
	Body             string
	BodyErr          errClass // the error that ended the body; none at EOF
	ReadAgain        errClass // a Read after that
	ReadAfterClose   errClass
	Trailer          http.Header // after the body was read to its end
	Interim          []interim   // Got1xxResponse calls
}

// exchange sends req through tr and reads the response as a proxy does:
// the body until EOF (or partial bytes, when partial > 0), then Close.
func exchange(tr *Transport, req *http.Request, o *outcome, partial int) {
	res, err := tr.RoundTrip(req)
	if err != nil {
		o.Err = classify(err)
		return
	}
	o.Status, o.StatusCode, o.Proto = res.Status, res.StatusCode, res.Proto
	o.Header, o.ContentLength, o.TransferEncoding = res.Header, res.ContentLength, res.TransferEncoding
	o.Close, o.Uncompressed, o.SameRequest = res.Close, res.Uncompressed, res.Request == req
	var body []byte
	buf := make([]byte, 7) // small reads: several per body
	for partial <= 0 || len(body) < partial {
		if partial > 0 {
			buf = buf[:min(len(buf), partial-len(body))]
		}
		n, err := res.Body.Read(buf)
		body = append(body, buf[:n]...)
		if err != nil {
			if err != io.EOF {
				o.BodyErr = classify(err)
			}
			_, err = res.Body.Read(buf)
			o.ReadAgain = classify(err)
			break
		}
	}
	o.Body = string(body)
	o.Trailer = res.Trailer
	res.Body.Close()
	_, err = res.Body.Read(buf[:cap(buf)])
	o.ReadAfterClose = classify(err)
}

// diffCase is one scripted member behaviour and the requests sent to it.
type diffCase struct {
	name    string
	opts    Options
	script  func(*rawConn)
	method  string // GET if empty
	n       int    // requests sent one after another; 1 if 0
	partial int    // read only this many body bytes before Close; all if 0
	hook1xx bool   // install a Got1xxResponse hook that records interim responses
	hookErr bool   // and make it fail with errSentinel
	// before, if set, runs before request i is sent.
	before func(t *testing.T, i int, m *rawMember, tr *Transport)
	// wantReqs, if set, is what both paths must make the member see:
	// requests per accepted connection.
	wantReqs []int
}

// pathResult is what one path gave for a diffCase.
type pathResult struct {
	Outcomes []outcome
	Requests []int // requests the member read per accepted connection
}

// runPath runs dc through a Transport that takes the direct exchange, or
// net/http's when noDirect is set, against a member of its own.
func runPath(t *testing.T, dc diffCase, noDirect bool) pathResult {
	t.Helper()
	m := newRawMember(t, dc.script)
	tr := newTransport(t, dc.opts)
	tr.noDirect = noDirect
	return runOn(t, dc, m, tr)
}

func runOn(t *testing.T, dc diffCase, m *rawMember, tr *Transport) pathResult {
	t.Helper()
	method := dc.method
	if method == "" {
		method = http.MethodGet
	}
	var r pathResult
	for i := range max(dc.n, 1) {
		if dc.before != nil {
			dc.before(t, i, m, tr)
		}
		var o outcome
		req := newRequest(t, method, m.url()+"/p?i="+fmt.Sprint(i), nil)
		if dc.hook1xx {
			req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
				Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
					o.Interim = append(o.Interim, interim{code, http.Header(h).Clone()})
					if dc.hookErr {
						return errSentinel
					}
					return nil
				},
			}))
		}
		if !tr.noDirect && !takesDirect(tr, req) {
			t.Fatalf("request %d does not take the direct exchange: the test would compare net/http with itself", i)
		}
		exchange(tr, req, &o, dc.partial)
		r.Outcomes = append(r.Outcomes, o)
	}
	r.Requests = m.requests()
	return r
}

// compareResults reports every difference between the paths. results.
func compareResults(t *testing.T, direct, std pathResult) {
	t.Helper()
	if diff := cmp.Diff(std, direct, ignoreText, ignoreAfterEnd); diff != "" {
		t.Errorf("the paths differ (-net/http +direct):\n%s\nerror texts:\n%s", diff, errorTexts(direct, std))
	}
}

func errorTexts(direct, std pathResult) string {
	var b strings.Builder
	for _, p := range []struct {
		name string
		r    pathResult
	}{{"direct", direct}, {"net/http", std}} {
		for i, o := range p.r.Outcomes {
			fmt.Fprintf(&b, "  %s #%d: RoundTrip %q, body %q\n", p.name, i, o.Err.Text, o.BodyErr.Text)
		}
	}
	return b.String()
}

// runDiff runs dc on both paths, compares them, and checks wantReqs.
func runDiff(t *testing.T, dc diffCase) (direct, std pathResult) {
	t.Helper()
	direct = runPath(t, dc, false)
	std = runPath(t, dc, true)
	compareResults(t, direct, std)
	if dc.wantReqs != nil {
		for _, p := range []struct {
			name string
			r    pathResult
		}{{"direct", direct}, {"net/http", std}} {
			if !cmp.Equal(p.r.Requests, dc.wantReqs) {
				t.Errorf("%s: member read %v requests per connection, want %v", p.name, p.r.Requests, dc.wantReqs)
			}
		}
	}
	if testing.Verbose() {
		t.Logf("errors:\n%s", errorTexts(direct, std))
	}
	return direct, std
}

// TestDirectDiffResponses covers the framings of a response, bodiless
// responses, interim responses, and malformed or truncated responses.
func TestDirectDiffResponses(t *testing.T) {
	const early = "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
	const ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	tests := []diffCase{
		// 1. Framings.
		{
			name:     "content-length",
			script:   serveEach("HTTP/1.1 200 OK\r\nContent-Length: 11\r\nX-A: 1\r\nX-A: 2\r\nContent-Type: text/plain\r\n\r\nhello world"),
			n:        2,
			wantReqs: []int{2},
		},
		{
			name:     "empty content-length",
			script:   serveEach("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
			n:        2,
			wantReqs: []int{2},
		},
		{
			name:     "chunked",
			script:   serveEach("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n"),
			n:        2,
			wantReqs: []int{2},
		},
		{
			name: "chunked with trailers",
			script: serveEach("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum, X-Other\r\n\r\n" +
				"5\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-Other: 1\r\nX-Unannounced: 2\r\n\r\n"),
			n:        2,
			wantReqs: []int{2},
		},
		{
			name:     "close-delimited",
			script:   serveOnce("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello until the member closes"),
			n:        2,
			wantReqs: []int{1, 1},
		},
		{
			name:     "HTTP/1.0 content-length",
			script:   serveOnce("HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
			n:        2,
			wantReqs: []int{1, 1},
		},
		{
			name:     "HTTP/1.0 keep-alive",
			script:   serveEach("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 5\r\n\r\nhello"),
			n:        2,
			wantReqs: []int{2},
		},
		{
			name:     "HTTP/1.0 close-delimited",
			script:   serveOnce("HTTP/1.0 200 OK\r\n\r\nhello"),
			n:        2,
			wantReqs: []int{1, 1},
		},
		{
			name:     "HTTP/1.0 keep-alive without length",
			script:   serveOnce("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nhello"),
			n:        2,
			wantReqs: []int{1, 1},
		},
		// 2. No body.
		{
			name:     "HEAD with content-length",
			method:   http.MethodHead,
			script:   serveEach("HTTP/1.1 200 OK\r\nContent-Length: 123\r\nContent-Type: text/html\r\n\r\n"),
			n:        2,
			wantReqs: []int{2}, // nothing was read as a body
		},
		{
			name:     "HEAD chunked",
			method:   http.MethodHead,
			script:   serveEach("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
			n:        2,
			wantReqs: []int{2},
		},
		{
			name:     "204",
			script:   serveEach("HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n"),
			n:        2,
			wantReqs: []int{2},
		},
		{
			name:     "304 with content-length",
			script:   serveEach("HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nContent-Length: 42\r\n\r\n"),
			n:        2,
			wantReqs: []int{2},
		},
		{
			name:     "OPTIONS",
			method:   http.MethodOptions,
			script:   serveEach("HTTP/1.1 200 OK\r\nAllow: GET, HEAD\r\nContent-Length: 0\r\n\r\n"),
			n:        2,
			wantReqs: []int{2},
		},
		// 3. Interim responses.
		{
			name:     "103 then 200",
			script:   serveEach(early + ok),
			n:        2,
			wantReqs: []int{2},
		},
		{
			name:     "103 then 200 with hook",
			script:   serveEach(early + ok),
			hook1xx:  true,
			n:        2,
			wantReqs: []int{2},
		},
		{
			name:    "two 103 then 200 with hook",
			script:  serveEach(early + "HTTP/1.1 103 Early Hints\r\nLink: </b.js>; rel=preload\r\nLink: </c.js>; rel=preload\r\n\r\n" + ok),
			hook1xx: true,
		},
		{
			name:   "seven 103 then 200",
			script: serveEach(strings.Repeat(early, 7) + ok),
		},
		{
			name:    "seven 103 then 200 with hook",
			script:  serveEach(strings.Repeat(early, 7) + ok),
			hook1xx: true,
		},
		{
			name:     "unsolicited 100 Continue then 200",
			script:   serveEach("HTTP/1.1 100 Continue\r\n\r\n" + ok),
			n:        2,
			wantReqs: []int{2},
		},
		{
			name:     "unsolicited 100 Continue then 200 with hook",
			script:   serveEach("HTTP/1.1 100 Continue\r\n\r\n" + ok),
			hook1xx:  true,
			n:        2,
			wantReqs: []int{2},
		},
		{
			name:    "hook fails",
			script:  serveEach(early + ok),
			hook1xx: true,
			hookErr: true,
		},
		{
			name:   "103 then close",
			script: serveOnce(early),
		},
		// 5. Malformed and truncated responses.
		{name: "malformed status code", script: serveOnce("HTTP/1.1 abc Broken\r\n\r\n")},
		{name: "not HTTP", script: serveOnce("garbage\r\n\r\n")},
		{name: "HTTP/2.0 status line", script: serveEach("HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok")},
		{name: "malformed header line", script: serveOnce("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n")},
		{name: "conflicting content-lengths", script: serveOnce("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok")},
		{
			name:   "close before any byte",
			script: serveOnce(""),
			// Both return io.EOF ("EOF"), as net/http does for its read
			// of the first response byte.
		},
		{name: "partial status line then close", script: serveOnce("HTTP/1.1 20")},
		{name: "partial headers then close", script: serveOnce("HTTP/1.1 200 OK\r\nContent-Len")},
		{name: "close mid-body", script: serveOnce("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello")},
		{name: "close mid-chunk", script: serveOnce("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel")},
		{name: "close before last chunk", script: serveOnce("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")},
		{name: "bad chunk size", script: serveOnce("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")},
		// 6. Heads a hostile member may send, some parsed by
		// readResponse itself, some left to http.ReadResponse.
		{name: "head split in one-byte writes", script: serveSplit("HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 2\r\n\r\nok"), n: 2, wantReqs: []int{2}},
		{name: "obs-text in values and reason", script: serveEach("HTTP/1.1 200 \xc3\x89t\xe9\r\nX-A: caf\xc3\xa9 \xff\x80\r\nX-B:\t\x80\t\r\nContent-Length: 2\r\n\r\nok"), n: 2, wantReqs: []int{2}},
		{name: "many headers", script: serveEach("HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Many: v\r\nX-Other: w\r\n", 1400) + "Content-Length: 2\r\n\r\nok"), n: 2, wantReqs: []int{2}},
		{name: "many headers beyond the read buffer", script: serveEach("HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Many: v\r\nX-Other: w\r\n", 2000) + "Content-Length: 2\r\n\r\nok"), n: 2, wantReqs: []int{2}},
		{name: "identical content-lengths", script: serveEach("HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length:  2 \r\n\r\nok"), n: 2, wantReqs: []int{2}},
		{name: "content-length with zeros and blanks", script: serveEach("HTTP/1.1 200 OK\r\ncontent-LENGTH: \t002 \t\r\n\r\nok"), n: 2, wantReqs: []int{2}},
		{name: "content-length signed", script: serveOnce("HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok")},
		{name: "content-length negative", script: serveOnce("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok")},
		{name: "content-length blank", script: serveOnce("HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\nok")},
		{name: "content-length 19 digits", script: serveOnce("HTTP/1.1 200 OK\r\nContent-Length: 0000000000000000002\r\n\r\nok")},
		{name: "content-length beyond int64", script: serveOnce("HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775808\r\n\r\nok")},
		{name: "content-length and chunked", script: serveEach("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"), n: 2},
		{name: "content-length shorter than the body", script: serveOnce("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA")},
		{name: "connection keep-alive, close", script: serveEach("HTTP/1.1 200 OK\r\nConnection: Keep-Alive ,\tCLOSE\r\nContent-Length: 2\r\n\r\nok"), n: 2, wantReqs: []int{1, 1}},
		{name: "connection upgrade", script: serveEach("HTTP/1.1 200 OK\r\nConnection: upgrade, x-closed\r\nContent-Length: 2\r\n\r\nok"), n: 2, wantReqs: []int{2}},
		{name: "status without reason", script: serveEach("HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok"), n: 2, wantReqs: []int{2}},
		{name: "status 999", script: serveEach("HTTP/1.1 999 Odd\r\nContent-Length: 2\r\n\r\nok"), n: 2, wantReqs: []int{2}},
		{name: "status of four digits", script: serveOnce("HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok")},
		{name: "two spaces before status", script: serveEach("HTTP/1.1  200 OK\r\nContent-Length: 2\r\n\r\nok"), n: 2},
		{name: "bare LF lines", script: serveEach("HTTP/1.1 200 OK\nX-A: 1\nContent-Length: 6\n\nok\r\n\r\n"), n: 2},
		{name: "folded header", script: serveEach("HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\nContent-Length: 2\r\n\r\nok"), n: 2},
		{name: "space before colon", script: serveOnce("HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok")},
		{name: "NUL in value", script: serveOnce("HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\nok")},
		{name: "CR in value", script: serveOnce("HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 2\r\n\r\nok")},
		{name: "empty name", script: serveOnce("HTTP/1.1 200 OK\r\n: a\r\nContent-Length: 2\r\n\r\nok")},
		{name: "pragma no-cache", script: serveEach("HTTP/1.1 200 OK\r\nPragma: no-cache\r\nContent-Length: 2\r\n\r\nok"), n: 2, wantReqs: []int{2}},
		{name: "head at the read buffer's size", script: serveEach(headOfSize(32<<10) + "ok"), n: 2, wantReqs: []int{2}},
		{name: "head a byte short of the read buffer's size", script: serveEach(headOfSize(32<<10-1) + "ok"), n: 2, wantReqs: []int{2}},
		{name: "head a byte over the read buffer's size", script: serveEach(headOfSize(32<<10+1) + "ok"), n: 2, wantReqs: []int{2}},
		{name: "head and body at the read buffer's size", script: serveEach(headOfSize(32<<10-2) + "ok"), n: 2, wantReqs: []int{2}},
		// 8. Headers beyond net/http's default 10 MiB limit: see
		// TestDirectDiffHugeHeaders.
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runDiff(t, tt) })
	}
}

// serveSplit answers every request with resp, written a byte at a time
// (the member's connection does not delay small writes: each is a
// segment of its own, and the client reads the head in several reads).
func serveSplit(resp string) func(*rawConn) {
	return func(rc *rawConn) {
		for rc.readRequest() {
			for i := range len(resp) {
				if !rc.write(resp[i : i+1]) {
					return
				}
			}
		}
	}
}

// headOfSize is a plain response head of n bytes (n >= 64) with
// "Content-Length: 2", padded by an X-Pad header.
func headOfSize(n int) string {
	const start, end = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Pad: ", "\r\n\r\n"
	return start + strings.Repeat("p", n-len(start)-len(end)) + end
}

// serveHugeHeaders answers with 11 MiB of header lines of lineLen bytes,
// streamed, and stops as soon as the client hangs up.
func serveHugeHeaders(lineLen int) func(*rawConn) {
	return func(rc *rawConn) {
		if !rc.readRequest() {
			return
		}
		bw := bufio.NewWriterSize(rc.c, 64<<10)
		bw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n") // 36 bytes
		line := "X-Big: " + strings.Repeat("a", lineLen-len("X-Big: \r\n")) + "\r\n"
		for range 11 << 20 / lineLen {
			if _, err := bw.WriteString(line); err != nil {
				return
			}
		}
		bw.WriteString("\r\nok")
		bw.Flush()
	}
}

// TestDirectDiffHugeHeaders: response headers beyond 10 MiB fail on both
// paths, and both errors name the limit, wherever in a line the limit
// falls (with 1026-byte lines 4 bytes into one, "X-Bi", which
// http.ReadResponse alone would report as a malformed header).
func TestDirectDiffHugeHeaders(t *testing.T) {
	for _, lineLen := range []int{1024, 1026} {
		t.Run(fmt.Sprintf("lines of %d bytes", lineLen), func(t *testing.T) {
			direct, std := runDiff(t, diffCase{script: serveHugeHeaders(lineLen)})
			for i, r := range []pathResult{direct, std} {
				if !r.Outcomes[0].Err.Failed {
					t.Errorf("%s: response headers over 10 MiB accepted: %+v", diffPaths[i].name, r.Outcomes[0])
				}
			}
			if e := direct.Outcomes[0].Err; e.Failed && !strings.Contains(e.Text, "exceed") {
				t.Errorf("the error does not name the header limit:\n"+
					"direct:   %q\nnet/http: %q", e.Text, std.Outcomes[0].Err.Text)
			}
		})
	}
}

// TestDirectDiff1xxHook checks, beyond the agreement of both paths, that
// the hook saw each interim response.
func TestDirectDiff1xxHook(t *testing.T) {
	direct, std := runDiff(t, diffCase{
		script:  serveEach("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
		hook1xx: true,
	})
	want := []interim{
		{103, http.Header{"Link": {"</a.css>; rel=preload"}}},
		{100, http.Header{}},
	}
	for _, r := range []pathResult{direct, std} {
		if diff := cmp.Diff(want, r.Outcomes[0].Interim); diff != "" {
			t.Errorf("Got1xxResponse calls (-want +got):\n%s", diff)
		}
		if r.Outcomes[0].StatusCode != 200 || r.Outcomes[0].Body != "ok" {
			t.Errorf("final response %d %q, want 200 ok", r.Outcomes[0].StatusCode, r.Outcomes[0].Body)
		}
	}
}

// TestDirectDiff1xxHeaderLimit: eleven 103 responses of 1 MiB of headers
// each before the 200. Without a Got1xxResponse hook the 10 MiB limit
// counts them all, and both paths fail; with one, it restarts after each
// interim response the hook saw, and both succeed.
func TestDirectDiff1xxHeaderLimit(t *testing.T) {
	script := func(rc *rawConn) {
		if !rc.readRequest() {
			return
		}
		bw := bufio.NewWriterSize(rc.c, 64<<10)
		line := "Link: </" + strings.Repeat("a", 1024-len("Link: </>\r\n")) + ">\r\n"
		for range 11 {
			bw.WriteString("HTTP/1.1 103 Early Hints\r\n")
			for range 1 << 10 {
				if _, err := bw.WriteString(line); err != nil {
					return
				}
			}
			bw.WriteString("\r\n")
		}
		bw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		bw.Flush()
		rc.drain()
	}
	for _, hook := range []bool{false, true} {
		t.Run(fmt.Sprintf("hook %v", hook), func(t *testing.T) {
			direct, std := runDiff(t, diffCase{script: script, hook1xx: hook})
			for i, r := range []pathResult{direct, std} {
				o := r.Outcomes[0]
				if failed := o.Err.Failed; failed == hook {
					t.Errorf("%s: RoundTrip error %q, want failure %v", diffPaths[i].name, o.Err.Text, !hook)
				}
				if hook && len(o.Interim) != 11 {
					t.Errorf("%s: hook saw %d interim responses, want 11", diffPaths[i].name, len(o.Interim))
				}
			}
		})
	}
}

// TestDirectDiffSwitchingProtocols: a member answers 101 Switching
// Protocols to a GET that asked for no upgrade.
//
// net/http treats 101 as a final response and returns it: with an Upgrade
// header its body is the connection itself (an io.ReadWriteCloser), without
// one the body is empty. The direct exchange returns an error instead.
// Either way a caller cannot use the result, and httputil.ReverseProxy
// answers 502 Bad Gateway to both: for net/http's response because the
// member switched to a protocol nobody asked for ("backend tried to switch
// protocol") or because the body is not writable, for the direct exchange
// because RoundTrip failed.
func TestDirectDiffSwitchingProtocols(t *testing.T) {
	tests := []struct {
		name string
		resp string
	}{
		{"with upgrade header", "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n"},
		{"without upgrade header", "HTTP/1.1 101 Switching Protocols\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, p := range diffPaths {
				m := newRawMember(t, serveOnce(tt.resp))
				tr := newTransport(t, Options{})
				tr.noDirect = p.noDirect
				req := newRequest(t, http.MethodGet, m.url(), nil)
				res, err := tr.RoundTrip(req)
				switch {
				case err != nil:
					t.Logf("%s: RoundTrip error %q", p.name, err)
				default:
					_, writable := res.Body.(io.ReadWriteCloser)
					t.Logf("%s: response %q, body writable %v", p.name, res.Status, writable)
					if res.StatusCode != http.StatusSwitchingProtocols {
						t.Errorf("%s: status %d, want 101 or an error", p.name, res.StatusCode)
					}
					res.Body.Close()
				}
				if !p.noDirect && err == nil {
					t.Errorf("direct: RoundTrip returned %q, want an error", res.Status)
				}

				// Behind a ReverseProxy both are a 502.
				m = newRawMember(t, serveOnce(tt.resp))
				target, _ := url.Parse(m.url())
				proxy := &httputil.ReverseProxy{
					Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
					Transport: tr,
					ErrorLog:  log.New(io.Discard, "", 0),
				}
				rec := httptest.NewRecorder()
				proxy.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://front.test/", nil).WithContext(testContext(t)))
				if rec.Code != http.StatusBadGateway {
					t.Errorf("%s: ReverseProxy answered %d, want 502", p.name, rec.Code)
				}
			}
		})
	}
}

// TestDirectDiffReuse covers when a connection is used again.
func TestDirectDiffReuse(t *testing.T) {
	const resp = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789"
	tests := []diffCase{
		{
			name:     "keep-alive",
			script:   serveEach(resp),
			n:        3,
			wantReqs: []int{3},
		},
		{
			name:     "connection close, member closes",
			script:   serveOnce("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"),
			n:        2,
			wantReqs: []int{1, 1},
		},
		{
			name:     "connection close, member keeps it open",
			script:   serveEach("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"),
			n:        2,
			wantReqs: []int{1, 1},
		},
		{
			name:     "body closed before EOF",
			script:   serveEach(resp),
			n:        2,
			partial:  3,
			wantReqs: []int{1, 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runDiff(t, tt) })
	}
}

// TestDirectDiffMemberClosedPooledConn: the member closes a keep-alive
// connection, with a FIN or a reset, either right after writing the first
// response or when the next request arrives on it, without answering (its
// keep-alive timeout raced the request). The second GET must succeed on
// both paths: the direct exchange drops the connection found closed by its
// probe, or writes the request again on a new connection when the reused
// one gave nothing back; net/http by its background read or its own retry.
// The member reads the request at most twice on the closed connection and
// once on the new one.
func TestDirectDiffMemberClosedPooledConn(t *testing.T) {
	for _, onNext := range []bool{false, true} {
		for _, reset := range []bool{false, true} {
			name := map[bool]string{false: "after the response", true: "on the next request"}[onNext]
			name += map[bool]string{false: ", FIN", true: ", reset"}[reset]
			t.Run(name, func(t *testing.T) {
				script := func(rc *rawConn) {
					if rc.id > 0 {
						serveEach("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond")(rc)
						return
					}
					if !rc.readRequest() || !rc.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst") {
						return
					}
					if onNext && !rc.readRequest() {
						return
					}
					// Closing after the client took the response: a reset
					// must not discard the response unread.
					if !onNext && !rc.waitGoOn() {
						return
					}
					if tc, ok := rc.c.(*net.TCPConn); ok && reset {
						tc.SetLinger(0) // close with a reset
					}
					rc.c.Close()
					if !onNext {
						rc.note("closed")
					}
				}
				before := func(t *testing.T, i int, m *rawMember, tr *Transport) {
					if i == 1 && !onNext {
						m.proceed()
						m.await(t, "closed")
					}
				}
				want := []int{1, 1}
				if onNext {
					want = []int{2, 1}
				}
				direct, std := runDiff(t, diffCase{script: script, n: 2, before: before, wantReqs: want})
				for _, r := range []pathResult{direct, std} {
					if o := r.Outcomes[1]; o.Err.Failed || o.StatusCode != 200 || o.Body != "second" {
						t.Errorf("second GET: %+v, want 200 second", o)
					}
				}
			})
		}
	}
}

// TestDirectDiffRequestBytes: both paths write the same bytes.
func TestDirectDiffRequestBytes(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		path    string
		prepare func(*http.Request)
		want    string // if set, the bytes both must write
	}{
		{
			name:   "headers, empty user-agent, host override, query",
			method: http.MethodGet,
			path:   "/a%20b/c?q=1&r=x%2Fy&r=z",
			want: "GET /a%20b/c?q=1&r=x%2Fy&r=z HTTP/1.1\r\nHost: front.example:8443\r\n" +
				"Accept: */*\r\nCookie: a=1; b=2\r\nX-Forwarded-For: 192.0.2.1\r\n" +
				"X-Multi: a\r\nX-Multi: b\r\nX-Spaces: padded value\r\n\r\n",
			prepare: func(r *http.Request) {
				r.Header.Set("User-Agent", "") // present but empty: omitted
				r.Host = "front.example:8443"
				r.Header.Set("Accept", "*/*")
				r.Header.Add("X-Multi", "a")
				r.Header.Add("X-Multi", "b")
				r.Header.Set("X-Forwarded-For", "192.0.2.1")
				r.Header.Set("X-Spaces", "  padded value\t")
				r.Header.Set("Cookie", "a=1; b=2")
			},
		},
		{
			name:   "default user-agent",
			method: http.MethodGet,
			path:   "/",
		},
		{
			name:   "HEAD",
			method: http.MethodHead,
			path:   "/x",
			prepare: func(r *http.Request) {
				r.Header.Set("If-None-Match", `"v1"`)
			},
		},
		{
			name:   "OPTIONS *",
			method: http.MethodOptions,
			path:   "",
			prepare: func(r *http.Request) {
				r.URL.Path = "*"
			},
		},
		{
			name:   "TRACE",
			method: http.MethodTrace,
			path:   "/t",
			prepare: func(r *http.Request) {
				r.Header.Set("Max-Forwards", "0")
			},
		},
		{
			name:   "hop-by-hop headers the caller set",
			method: http.MethodGet,
			path:   "/h",
			prepare: func(r *http.Request) {
				r.Header.Set("Connection", "keep-alive")
				r.Header.Set("Keep-Alive", "timeout=5")
				r.Header.Set("Content-Length", "0")
				r.Header.Set("Accept-Encoding", "br")
			},
		},
		{
			name:   "raw path and forced query",
			method: http.MethodGet,
			path:   "/p%2Fq",
			prepare: func(r *http.Request) {
				r.URL.ForceQuery = true
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var heads [2]string
			for i, p := range diffPaths {
				m := newRawMember(t, serveEach("HTTP/1.1 204 No Content\r\n\r\n"))
				tr := newTransport(t, Options{})
				tr.noDirect = p.noDirect
				req := newRequest(t, tt.method, m.url()+tt.path, nil)
				if tt.prepare != nil {
					tt.prepare(req)
				}
				if !p.noDirect && !takesDirect(tr, req) {
					t.Fatal("request does not take the direct exchange")
				}
				var o outcome
				exchange(tr, req, &o, 0)
				if o.Err.Failed || o.StatusCode != http.StatusNoContent {
					t.Fatalf("%s: %+v", p.name, o)
				}
				got := m.requestHeads()
				if len(got) != 1 {
					t.Fatalf("%s: member read %d requests, want 1", p.name, len(got))
				}
				// The port differs between the two members.
				heads[i] = strings.ReplaceAll(got[0], m.l.Addr().String(), "MEMBER")
			}
			if heads[0] != heads[1] {
				t.Errorf("DIFFERENCE in the request bytes:\ndirect:   %q\nnet/http: %q", heads[0], heads[1])
			}
			if tt.want != "" && heads[0] != tt.want {
				t.Errorf("direct wrote %q, want %q", heads[0], tt.want)
			}
			if tt.want != "" && heads[1] != tt.want {
				t.Errorf("net/http wrote %q, want %q", heads[1], tt.want)
			}
		})
	}
}

// TestDirectDiffCancel: the end of the request's context, with a cause,
// while the response headers are awaited and while the body is read.
func TestDirectDiffCancel(t *testing.T) {
	t.Run("awaiting headers", func(t *testing.T) {
		var results [2]pathResult
		for i, p := range diffPaths {
			ctx, cancel := context.WithCancelCause(testContext(t))
			m := newRawMember(t, func(rc *rawConn) {
				if rc.readRequest() {
					cancel(errSentinel) // the member has the request
					rc.drain()
				}
			})
			tr := newTransport(t, Options{})
			tr.noDirect = p.noDirect
			var o outcome
			exchange(tr, newRequest(t, http.MethodGet, m.url(), nil).WithContext(ctx), &o, 0)
			results[i] = pathResult{Outcomes: []outcome{o}, Requests: m.requests()}
			if !o.Err.Sentinel {
				t.Errorf("%s: err %q, want the context's cause", p.name, o.Err.Text)
			}
		}
		compareResults(t, results[0], results[1])
	})
	t.Run("reading the body", func(t *testing.T) {
		var results [2]pathResult
		for i, p := range diffPaths {
			ctx, cancel := context.WithCancelCause(testContext(t))
			m := newRawMember(t, func(rc *rawConn) {
				if rc.readRequest() && rc.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello") {
					rc.drain()
				}
			})
			tr := newTransport(t, Options{})
			tr.noDirect = p.noDirect
			res, err := tr.RoundTrip(newRequest(t, http.MethodGet, m.url(), nil).WithContext(ctx))
			if err != nil {
				t.Fatalf("%s: %v", p.name, err)
			}
			buf := make([]byte, 5)
			if _, err := io.ReadFull(res.Body, buf); err != nil {
				t.Fatalf("%s: %v", p.name, err)
			}
			cancel(errSentinel)
			_, err = io.ReadAll(res.Body)
			res.Body.Close()
			o := outcome{StatusCode: res.StatusCode, BodyErr: classify(err)}
			results[i] = pathResult{Outcomes: []outcome{o}, Requests: m.requests()}
			if !o.BodyErr.Sentinel {
				t.Errorf("%s: body err %q, want the context's cause", p.name, o.BodyErr.Text)
			}
		}
		compareResults(t, results[0], results[1])
	})
}

// TestDirectDiffTimeout: a member silent for Options.Timeout, before the
// response headers and within the body. It runs in a synctest bubble on
// fake time, so the member is served on a pipeNet instead of a TCP
// listener (real sockets would keep the fake clock from advancing).
func TestDirectDiffTimeout(t *testing.T) {
	tests := []diffCase{
		{
			name: "before the headers",
			script: func(rc *rawConn) {
				rc.drain() // read the request, answer nothing
			},
		},
		{
			name: "within the body",
			script: func(rc *rawConn) {
				if rc.readRequest() && rc.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello") {
					rc.drain()
				}
			},
		},
		{
			name: "slow but in time",
			script: func(rc *rawConn) {
				if !rc.readRequest() {
					return
				}
				time.Sleep(900 * time.Millisecond) // fake time
				rc.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel")
				time.Sleep(900 * time.Millisecond) // fake time
				rc.write("lo")
				rc.drain()
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts = Options{Timeout: time.Second}
			var results [2]pathResult
			for i, p := range diffPaths {
				synctest.Test(t, func(t *testing.T) {
					n := newPipeNet()
					m := serveRaw(t, n, tt.script)
					tr := newTransport(t, tt.opts)
					tr.noDirect = p.noDirect
					tr.dialer.dial = n.dial
					results[i] = runOn(t, tt, m, tr)
				})
			}
			compareResults(t, results[0], results[1])
			if tt.name != "slow but in time" {
				for i, r := range results {
					o := r.Outcomes[0]
					if !o.Err.Timeout && !o.BodyErr.Timeout {
						t.Errorf("%s: %+v, want IsTimeout", diffPaths[i].name, o)
					}
				}
			}
		})
	}
}

// TestDirectDiffNilHeader: a request built by hand without a Header map
// is refused ("http: nil Request.Header", nothing sent) on both paths:
// (*http.Request).Write would accept it, so the direct exchange leaves it to
// net/http.
func TestDirectDiffNilHeader(t *testing.T) {
	var results [2]pathResult
	for i, p := range diffPaths {
		m := newRawMember(t, serveEach("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
		tr := newTransport(t, Options{})
		tr.noDirect = p.noDirect
		u, _ := url.Parse(m.url() + "/")
		req := (&http.Request{Method: http.MethodGet, URL: u, Host: u.Host}).WithContext(testContext(t))
		var o outcome
		exchange(tr, req, &o, 0)
		results[i] = pathResult{Outcomes: []outcome{o}, Requests: m.requests()}
	}
	compareResults(t, results[0], results[1])
}

// TestDirectDiffReadAfterEnd compares what a Read returns once the body
// ended: after EOF and Close, after a read error, after a Close before
// EOF. No proxy reads a body again after that (httputil.ReverseProxy stops
// at the first error or EOF), so differences are logged, not failed:
//   - after EOF and Close, net/http returns "http: read on closed response
//     body"; the direct exchange io.EOF;
//   - after a read error net/http returns the same error again (for a cut
//     body io.ErrUnexpectedEOF, for a timeout the error wrapping
//     ErrTimeout); the direct exchange "http: read on closed response
//     body".
func TestDirectDiffReadAfterEnd(t *testing.T) {
	tests := []diffCase{
		{name: "EOF", script: serveEach("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")},
		{name: "cut body", script: serveOnce("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello")},
		{name: "Close before EOF", script: serveEach("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhelloworld"), partial: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			direct, std := runPath(t, tt, false), runPath(t, tt, true)
			compareResults(t, direct, std)
			type after struct{ ReadAgain, ReadAfterClose errClass }
			d := after{direct.Outcomes[0].ReadAgain, direct.Outcomes[0].ReadAfterClose}
			n := after{std.Outcomes[0].ReadAgain, std.Outcomes[0].ReadAfterClose}
			if diff := cmp.Diff(n, d, ignoreText); diff != "" {
				t.Errorf("reads after the end differ (-net/http +direct):\n%s"+
					"direct:   read again %q, read after Close %q\n"+
					"net/http: read again %q, read after Close %q",
					diff, d.ReadAgain.Text, d.ReadAfterClose.Text, n.ReadAgain.Text, n.ReadAfterClose.Text)
			}
		})
	}
}

// takesDirect reports whether tr sends req by the direct exchange.
func takesDirect(tr *Transport, req *http.Request) bool {
	_, ok := tr.directable(req)
	return ok
}
