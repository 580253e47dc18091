package transport

import (
	"bufio"
	"net/http"
	"slices"
	"strings"
)

// Writing a request. (*http.Request).Write formats its first lines with
// fmt (three allocations) and makes a transfer writer (one more) even for
// a GET without a body. writeRequest writes the commonest requests of the
// direct exchange itself, byte for byte as (*http.Request).Write does
// (TestWriteRequestSameAsNetHTTP compares them, and the differential
// tests compare what the member reads), and leaves the rest to it.
//
// A plain request is a GET or HEAD without a body or trailer, to a host of
// letters, digits and ".-:[]_" (no zone), with a request URI free of
// control characters, with at most maxPlainHeaders header names, every
// name a token and no value holding CR, LF or another control character
// but tab.

// maxPlainHeaders bounds the header names of a plain request (their
// sort uses an array on the stack).
const maxPlainHeaders = 32

// writeRequest writes req to w as (*http.Request).Write does.
func writeRequest(w *bufio.Writer, req *http.Request) error {
	if writePlain(w, req) {
		return nil
	}
	return req.Write(w)
}

// writePlain writes req if it is plain and reports whether it did; it
// writes nothing otherwise. A failed write is kept by w, for its Flush.
func writePlain(w *bufio.Writer, req *http.Request) bool {
	if req.Method != http.MethodGet && req.Method != http.MethodHead ||
		req.Body != nil && req.Body != http.NoBody || req.ContentLength != 0 || req.Trailer != nil || req.Close ||
		len(req.TransferEncoding) != 0 || req.URL == nil {
		return false
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	if !plainHost(host) {
		return false
	}
	ruri := req.URL.RequestURI()
	for i := 0; i < len(ruri); i++ {
		if c := ruri[i]; c < ' ' || c == 0x7f {
			return false
		}
	}
	userAgent := "Go-http-client/1.1"
	var keysBuf [maxPlainHeaders]string
	keys := keysBuf[:0]
	for k, vs := range req.Header {
		if !validFieldName(k) {
			return false
		}
		for _, v := range vs {
			if !validFieldValue(v) {
				return false
			}
		}
		switch k {
		case "User-Agent":
			// As Write: the first value, trimmed only once known
			// non-empty ("User-Agent: " for a value of blanks).
			userAgent = ""
			if len(vs) > 0 {
				userAgent = vs[0]
			}
		case "Host", "Content-Length", "Transfer-Encoding", "Trailer":
		default:
			if len(keys) == maxPlainHeaders {
				return false
			}
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)

	w.WriteString(req.Method)
	w.WriteByte(' ')
	w.WriteString(ruri)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(host)
	w.WriteString("\r\n")
	if userAgent != "" {
		w.WriteString("User-Agent: ")
		w.WriteString(trimSpace(userAgent))
		w.WriteString("\r\n")
	}
	for _, k := range keys {
		for _, v := range req.Header[k] {
			w.WriteString(k)
			w.WriteString(": ")
			w.WriteString(trimSpace(v))
			w.WriteString("\r\n")
		}
	}
	w.WriteString("\r\n")
	return true
}

// plainHost reports whether h is a non-empty host of letters, digits and
// ".-:[]_": valid in a Host header, ASCII (nothing to convert to
// punycode) and without an IPv6 zone (which would be removed).
func plainHost(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			continue
		}
		switch c {
		case '.', '-', ':', '[', ']', '_':
			continue
		}
		return false
	}
	return true
}

// trimSpace trims what net/textproto.TrimString trims: ASCII space, tab,
// CR and LF (a plain request's values hold no CR or LF).
func trimSpace(s string) string { return strings.Trim(s, " \t\r\n") }
