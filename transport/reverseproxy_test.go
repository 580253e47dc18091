package transport

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestReverseProxy runs the Transport and BufferPool inside
// httputil.ReverseProxy, with and without ping, for a client that sends
// Expect: 100-continue itself and one that does not.
func TestReverseProxy(t *testing.T) {
	member := newBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, r.Method+" "+string(b))
	}))
	target, _ := url.Parse(member.URL)
	for _, ping := range []time.Duration{0, testBound} {
		for _, expect := range []bool{false, true} {
			tr := newTransport(t, Options{Ping: ping})
			proxy := &httputil.ReverseProxy{
				Rewrite:    func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
				Transport:  tr,
				BufferPool: &BufferPool{},
			}
			front := httptest.NewServer(proxy)
			t.Cleanup(front.Close)
			client := front.Client()
			client.Transport.(*http.Transport).ExpectContinueTimeout = testBound

			body := strings.Repeat("x", 100<<10)
			req := newRequest(t, http.MethodPut, front.URL, strings.NewReader(body))
			if expect {
				req.Header.Set("Expect", "100-continue")
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("ping %v expect %v: %v", ping, expect, err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || string(got) != "PUT "+body {
				t.Errorf("ping %v expect %v: %d, %d bytes; want 200 and the body echoed", ping, expect, resp.StatusCode, len(got))
			}
		}
	}
}
