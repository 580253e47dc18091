package transport

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readResult is what a caller can observe of a response read from bytes.
type readResult struct {
	Err              string
	Status           string
	StatusCode       int
	Proto            string
	ProtoMajor       int
	ProtoMinor       int
	Header           http.Header
	ContentLength    int64
	TransferEncoding []string
	Close            bool
	Uncompressed     bool
	Trailer          http.Header
	NoBody           bool // Body is http.NoBody
	Body             string
	BodyErr          string
	ReadAgain        string // a Read after the body's end
	Rest             string // what the reader holds after the body
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// readWith reads raw's response to a request of method with read, then
// its body by small reads, as a proxy does.
func readWith(raw, method string, read func(*bufio.Reader, *http.Request) (*http.Response, error)) readResult {
	br := bufio.NewReaderSize(strings.NewReader(raw), 32<<10)
	req, _ := http.NewRequest(method, "http://member.test/", nil)
	res, err := read(br, req)
	if err != nil {
		return readResult{Err: err.Error()}
	}
	r := readResult{
		Status: res.Status, StatusCode: res.StatusCode, Proto: res.Proto,
		ProtoMajor: res.ProtoMajor, ProtoMinor: res.ProtoMinor, Header: res.Header,
		ContentLength: res.ContentLength, TransferEncoding: res.TransferEncoding,
		Close: res.Close, Uncompressed: res.Uncompressed, Trailer: res.Trailer,
		NoBody: res.Body == http.NoBody,
	}
	var body []byte
	buf := make([]byte, 5)
	for {
		n, err := res.Body.Read(buf)
		body = append(body, buf[:n]...)
		if err != nil {
			if err != io.EOF {
				r.BodyErr = err.Error()
			}
			_, err = res.Body.Read(buf)
			r.ReadAgain = errText(err)
			break
		}
	}
	r.Body = string(body)
	rest, _ := io.ReadAll(br)
	r.Rest = string(rest)
	return r
}

// compareWithNetHTTP reads raw both ways and reports any difference; it
// returns whether readResponse took its own path.
func compareWithNetHTTP(t *testing.T, raw, method string) bool {
	t.Helper()
	plain := false
	ours := readWith(raw, method, func(br *bufio.Reader, req *http.Request) (*http.Response, error) {
		if req.Method != http.MethodHead {
			if _, err := br.Peek(1); err == nil {
				buf, _ := br.Peek(br.Buffered())
				pr, _ := parsePlain(buf)
				plain = pr != nil
			}
		}
		return readResponse(br, req)
	})
	std := readWith(raw, method, http.ReadResponse)
	if diff := cmp.Diff(std, ours); diff != "" {
		t.Errorf("%s %q: readResponse differs from http.ReadResponse (-net/http +ours):\n%s", method, raw, diff)
	}
	return plain
}

// readResponse gives what http.ReadResponse gives, for the heads it parses
// itself and for those it leaves to net/http.
func TestPlainResponseSameAsNetHTTP(t *testing.T) {
	for _, tc := range []struct {
		raw   string
		plain bool // readResponse parses it itself
	}{
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\nDate: Thu, 03 Dec 2026 12:00:00 GMT\r\n\r\nhello", true},
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 200 OK\r\n", true}, // the next bytes stay
		{"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true},
		{"HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok", true},
		{"HTTP/1.1 404 Not Found\r\ncontent-length: 3\r\nx-custom-HEADER:  a  b \t\r\nX-Empty:\r\nX-Custom-Header: c\r\n\r\nabc", true},
		{"HTTP/1.1 503 Service Unavailable \r\nContent-Length: 1\r\nRetry-After: 5\r\n\r\nx", true},
		{"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", true}, // cut short: io.ErrUnexpectedEOF
		{"HTTP/1.1 200 OK\r\nContent-Length: 007\r\n\r\n1234567", true},
		{"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 1\r\n\r\nx", true},
		{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nX-Obs: caf\xc3\xa9\r\n\r\nx", true},
		{"HTTP/1.1 299 Whatever\r\nContent-Length: 1\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nx", true},
		// Left to net/http.
		{"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", false},
		{"HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 1\r\n\r\nx", false},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", false},
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", false},
		{"HTTP/1.1 200 OK\r\nTrailer: X\r\nContent-Length: 1\r\n\r\nx", false},
		{"HTTP/1.1 200 OK\r\nPragma: no-cache\r\nContent-Length: 1\r\n\r\nx", false},
		{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", false},
		{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", false},
		{"HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx", false},
		{"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\nx", false},
		{"HTTP/1.1 200 OK\r\nContent-Length: 1 1\r\n\r\nx", false},
		{"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\nx", false},
		{"HTTP/1.1 200 OK\r\n\r\nto the end", false},
		{"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", false},
		{"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", false},
		{"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", false},
		{"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", false},
		{"HTTP/1.1  200 OK\r\nContent-Length: 1\r\n\r\nx", false},
		{"HTTP/1.1 2000 OK\r\nContent-Length: 1\r\n\r\nx", false},
		{"HTTP/1.1 20x OK\r\nContent-Length: 1\r\n\r\nx", false},
		{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n X-Folded: yes\r\n\r\nx", false},
		{"HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 1\r\n\r\nx", false},
		{"HTTP/1.1 200 OK\r\nBad Name: a\r\nContent-Length: 1\r\n\r\nx", false},
		{"HTTP/1.1 200 OK\r\nNoColon\r\nContent-Length: 1\r\n\r\nx", false},
		{"HTTP/1.1 200 OK\r\nX-Ctl: a\x01b\r\nContent-Length: 1\r\n\r\nx", false},
		{"HTTP/1.1 200 OK\r\nX-Cr: a\rb\r\nContent-Length: 1\r\n\r\nx", false},
		{"HTTP/1.1 200 OK\nContent-Length: 1\n\nx", false},
		{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n", false}, // head not whole
		{"HTTP/1.1 200 OK\r\nContent-Length: 1", false},
		{"", false},
	} {
		got := compareWithNetHTTP(t, tc.raw, http.MethodGet)
		assert.Equal(t, tc.plain, got, "%q: parsed by readResponse itself", tc.raw)
		compareWithNetHTTP(t, tc.raw, http.MethodHead) // never its own
	}
}

// A head bigger than what one read brings is left to net/http, which
// reads the rest; nothing is lost.
func TestPlainResponseHeadAcrossReads(t *testing.T) {
	raw := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Long: " + strings.Repeat("a", 40<<10) + "\r\n\r\nok"
	compareWithNetHTTP(t, raw, http.MethodGet)
	br := bufio.NewReaderSize(io.MultiReader(strings.NewReader(raw[:20]), strings.NewReader(raw[20:])), 32<<10)
	req, _ := http.NewRequest(http.MethodGet, "http://member.test/", nil)
	res, err := readResponse(br, req)
	require.NoError(t, err)
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	assert.Equal(t, "ok", string(body))
	assert.Len(t, res.Header.Get("X-Long"), 40<<10)
}

// The error of a connection that fails before any byte is the same.
func TestPlainResponseReadError(t *testing.T) {
	errRead := errors.New("read failed")
	for _, r := range []io.Reader{strings.NewReader(""), io.MultiReader(&failingReader{errRead})} {
		br := bufio.NewReader(r)
		req, _ := http.NewRequest(http.MethodGet, "http://member.test/", nil)
		_, err := readResponse(br, req)
		_, stdErr := http.ReadResponse(bufio.NewReader(strings.NewReader("")), req)
		if r, ok := r.(*strings.Reader); ok && r.Size() == 0 {
			assert.Equal(t, stdErr, err)
		} else {
			assert.ErrorIs(t, err, errRead)
		}
	}
}

type failingReader struct{ err error }

func (f *failingReader) Read([]byte) (int, error) { return 0, f.err }

// FuzzPlainResponse: for any bytes, readResponse gives what
// http.ReadResponse gives.
func FuzzPlainResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
		"HTTP/1.1 404 Not Found\r\ncontent-length: 3\r\nx-a:  b \t\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, raw string, head bool) {
		method := http.MethodGet
		if head {
			method = http.MethodHead
		}
		compareWithNetHTTP(t, raw, method)
	})
}
