package transport

import (
	"bufio"
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeBoth writes req with writeRequest and with (*http.Request).Write;
// it returns both outputs and whether writeRequest wrote it itself.
func writeBoth(t *testing.T, req *http.Request) (ours, std string, plain bool) {
	t.Helper()
	var a, b bytes.Buffer
	w := bufio.NewWriter(&a)
	plain = writePlain(w, req)
	if !plain {
		require.Zero(t, w.Buffered(), "writePlain wrote bytes of a request it refused")
	}
	require.NoError(t, w.Flush())
	errStd := req.Write(&b)
	if !plain {
		return b.String(), b.String(), false // writeRequest calls net/http
	}
	assert.NoError(t, errStd, "net/http refused a request writeRequest wrote")
	return a.String(), b.String(), true
}

// writeRequest writes what (*http.Request).Write writes.
func TestWriteRequestSameAsNetHTTP(t *testing.T) {
	newReq := func(method, target string, h http.Header) *http.Request {
		req, err := http.NewRequest(method, target, nil)
		require.NoError(t, err)
		if h != nil {
			req.Header = h
		}
		return req
	}
	for _, tc := range []struct {
		name  string
		req   *http.Request
		plain bool
	}{
		{"bare GET", newReq("GET", "http://10.0.0.1:8080/", nil), true},
		{"proxied GET", newReq("GET", "http://member.test:8080/a/b?x=1&y=%20z", http.Header{
			"X-Forwarded-For":  {"127.0.0.1"},
			"X-Forwarded-Host": {"front"},
			"Accept":           {"*/*"},
			"User-Agent":       {""},
			"Cookie":           {"a=1", "b=2"},
			"X-Spaces":         {"  padded\t "},
			"X-Empty":          {},
			"user-agent":       {"lower case, sent as any header"},
			"host":             {"lower case too"},
		}), true},
		{"user agent", newReq("GET", "http://m/", http.Header{"User-Agent": {" curl/8 ", "second"}}), true},
		{"blank user agent", newReq("GET", "http://m/", http.Header{"User-Agent": {" \t "}}), true},
		{"empty user agent list", newReq("GET", "http://m/", http.Header{"User-Agent": {}}), true},
		{"excluded", newReq("HEAD", "http://m/", http.Header{"Content-Length": {"5"}, "Transfer-Encoding": {"chunked"}, "Trailer": {"X"}, "Host": {"other"}}), true},
		{"path escaped", newReq("GET", "http://[::1]:80/a%2Fb/c%20d;e?", nil), true},
		{"opaque", &http.Request{Method: "GET", URL: &url.URL{Scheme: "http", Host: "m", Opaque: "//m/raw path"}, Header: http.Header{}}, true},
		{"host field", func() *http.Request { r := newReq("GET", "http://m/", nil); r.Host = "virtual.test"; return r }(), true},
		// Left to net/http.
		{"options", newReq("OPTIONS", "http://m/", nil), false},
		{"post", newReq("POST", "http://m/", nil), false},
		{"zone", newReq("GET", "http://[fe80::1%25eth0]:80/", nil), false},
		{"invalid host", func() *http.Request { r := newReq("GET", "http://m/", nil); r.Host = "a b"; return r }(), false},
		{"unicode host", func() *http.Request { r := newReq("GET", "http://m/", nil); r.Host = "bücher.test"; return r }(), false},
		{"newline in value", newReq("GET", "http://m/", http.Header{"X-A": {"a\r\nb"}}), false},
		{"invalid name", newReq("GET", "http://m/", http.Header{"Bad Name": {"a"}}), false},
		{"close", func() *http.Request { r := newReq("GET", "http://m/", nil); r.Close = true; return r }(), false},
		{"body", func() *http.Request {
			r, _ := http.NewRequest("GET", "http://m/", strings.NewReader("x"))
			return r
		}(), false},
		{"trailer", func() *http.Request { r := newReq("GET", "http://m/", nil); r.Trailer = http.Header{}; return r }(), false},
		{"control in URI", &http.Request{Method: "GET", URL: &url.URL{Scheme: "http", Host: "m", Opaque: "/a\x01b"}, Header: http.Header{}}, false},
		{"many headers", func() *http.Request {
			h := http.Header{}
			for i := range maxPlainHeaders + 1 {
				h.Set("X-"+strings.Repeat("a", i+1), "v")
			}
			return newReq("GET", "http://m/", h)
		}(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ours, std, plain := writeBoth(t, tc.req)
			assert.Equal(t, tc.plain, plain, "written by writeRequest itself")
			assert.Equal(t, std, ours)
		})
	}
}

// FuzzWriteRequest: for any method, target and header, writeRequest
// writes what (*http.Request).Write writes.
func FuzzWriteRequest(f *testing.F) {
	f.Add("GET", "/a?b=c", "member.test:80", "X-Forwarded-For", "1.2.3.4", "User-Agent", " ua ")
	f.Add("HEAD", "/", "[::1]:8080", "Accept", "*/*", "accept", "text/html")
	f.Fuzz(func(t *testing.T, method, path, host, k1, v1, k2, v2 string) {
		u, err := url.Parse("http://placeholder" + path)
		if err != nil {
			return
		}
		req := &http.Request{Method: method, URL: u, Host: host, Header: http.Header{k1: {v1}}}
		req.Header[k2] = append(req.Header[k2], v2)
		ours, std, _ := writeBoth(t, req)
		if ours != std {
			t.Errorf("%s %q host %q %q:\nours     %q\nnet/http %q", method, path, host, req.Header, ours, std)
		}
	})
}
