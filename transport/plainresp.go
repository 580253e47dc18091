package transport

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
)

// Reading a response head. http.ReadResponse costs about ten allocations
// for the commonest response of all (a status line, a few headers, a
// Content-Length): a string per line and per value, a reader for the
// transfer and one for the body's limit. readResponse parses such a head
// itself when it is whole in the connection's buffer, from one string
// of the head, and leaves everything else to http.ReadResponse, having
// consumed nothing: a response it parses gives exactly what
// http.ReadResponse gives (TestPlainResponseSameAsNetHTTP and the
// differential tests compare them).
//
// A plain head is: "HTTP/1.1 ", a three-digit status of 200 or more but
// 204 and 304, the reason; then header lines "Name: value", every name a
// token, every value of bytes net/textproto accepts, no line folded,
// every line ending in CRLF; one Content-Length of decimal digits; no
// Transfer-Encoding, Trailer or Pragma; Connection without "close"; a
// request other than HEAD.

// readResponse reads the response to req from br, as http.ReadResponse.
func readResponse(br *bufio.Reader, req *http.Request) (*http.Response, error) {
	if _, err := br.Peek(1); err != nil {
		// Nothing buffered: http.ReadResponse's first line fails with
		// the same read's error.
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if req.Method != http.MethodHead {
		buf, _ := br.Peek(br.Buffered())
		if pr, n := parsePlain(buf); pr != nil {
			br.Discard(n)
			res := &pr.res
			res.Request = req
			if res.ContentLength == 0 {
				res.Body = http.NoBody
			} else {
				pr.body.lr = io.LimitedReader{R: br, N: res.ContentLength}
				res.Body = &pr.body
			}
			return res, nil
		}
	}
	return http.ReadResponse(br, req)
}

// plainResponse is a response and its body, allocated together.
type plainResponse struct {
	res  http.Response
	body fixedBody
}

// fixedBody is a body of a known length, read as net/http's response body
// reads one: io.ErrUnexpectedEOF if the connection ends early, io.EOF with
// its last bytes. It is not safe for concurrent use (directBody serialises
// it) and its Close does nothing (directBody's closes the connection).
type fixedBody struct {
	lr     io.LimitedReader
	sawEOF bool
}

func (b *fixedBody) Read(p []byte) (int, error) {
	if b.sawEOF {
		return 0, io.EOF
	}
	n, err := b.lr.Read(p)
	if err == io.EOF {
		b.sawEOF = true
		if b.lr.N > 0 {
			err = io.ErrUnexpectedEOF
		}
	}
	if err == nil && n > 0 && b.lr.N == 0 {
		err = io.EOF
		b.sawEOF = true
	}
	return n, err
}

func (b *fixedBody) Close() error { return nil }

var crlfcrlf = []byte("\r\n\r\n")

// parsePlain parses buf's plain response head (see above): the response
// without its Request and Body, and the head's length; nil if buf does
// not start with a whole plain head.
func parsePlain(buf []byte) (*plainResponse, int) {
	end := bytes.Index(buf, crlfcrlf)
	if end < 0 || !bytes.HasPrefix(buf, []byte("HTTP/1.1 ")) {
		return nil, 0
	}
	// The status line and header lines, each ending in CRLF, in one
	// string: every string of the response is a part of it.
	head := string(buf[:end+2])
	line, rest, _ := strings.Cut(head, "\r\n")
	status := line[len("HTTP/1.1 "):]
	if len(status) < 3 || len(status) > 3 && status[3] != ' ' || !plainLine(status) {
		return nil, 0
	}
	code := 0
	for i := range 3 {
		c := status[i]
		if c < '0' || c > '9' {
			return nil, 0
		}
		code = code*10 + int(c-'0')
	}
	if code < 200 || code == http.StatusNoContent || code == http.StatusNotModified {
		return nil, 0
	}
	lines := strings.Count(rest, "\r\n")
	pr := &plainResponse{res: http.Response{
		Status: status, StatusCode: code, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: make(http.Header, lines), ContentLength: -1,
	}}
	strs := make([]string, lines)
	h := pr.res.Header
	for rest != "" {
		line, rest, _ = strings.Cut(rest, "\r\n")
		name, value, ok := strings.Cut(line, ":")
		if !ok || !validFieldName(name) || !plainLine(value) {
			return nil, 0
		}
		value = strings.TrimRight(strings.TrimLeft(value, " \t"), " \t")
		key := textproto.CanonicalMIMEHeaderKey(name)
		switch key {
		case "Transfer-Encoding", "Trailer", "Pragma":
			return nil, 0
		case "Content-Length":
			if pr.res.ContentLength >= 0 || value == "" || len(value) > 18 {
				return nil, 0
			}
			n, err := strconv.ParseUint(value, 10, 63)
			if err != nil {
				return nil, 0
			}
			pr.res.ContentLength = int64(n)
		case "Connection":
			if hasCloseToken(value) {
				return nil, 0
			}
		}
		if vv := h[key]; vv != nil {
			h[key] = append(vv, value)
		} else {
			vv, strs = strs[:1:1], strs[1:]
			vv[0] = value
			h[key] = vv
		}
	}
	if pr.res.ContentLength < 0 {
		return nil, 0 // a body to the connection's end: net/http's
	}
	return pr, end + 4
}

// plainLine reports whether s holds only bytes net/textproto accepts in a
// header value (no control character but tab, no DEL) and no CR or LF.
func plainLine(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// hasCloseToken reports whether a Connection value lists "close".
func hasCloseToken(v string) bool {
	for v != "" {
		var tok string
		tok, v, _ = strings.Cut(v, ",")
		if strings.EqualFold(strings.Trim(tok, " \t"), "close") {
			return true
		}
	}
	return false
}
