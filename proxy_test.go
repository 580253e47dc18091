package balancer_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/proxybalancer/balancer"
)

// §8.1: the backend URL is the member URL with the request path appended,
// plain concatenation, the query kept and the path encoded as Apache
// encodes it; X-Forwarded-* set; the Host header is the member's. An
// encoded slash is Apache's 404.
func TestProxyPathAndHeaders(t *testing.T) {
	var mu sync.Mutex
	var seen *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = r
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	tests := []struct {
		member, request, wantURI string
	}{
		{srv.URL + "/Back/", "/x", "/Back//x"},
		{srv.URL + "/app", "/back/x%20y?q=1&r=a%20b", "/app/back/x%20y?q=1&r=a%20b"},
		{srv.URL, "/a%2Fb?x", ""}, // 404
		{srv.URL, "/a%3Bb?x;y", "/a;b?x;y"},
		{srv.URL + "/p%2Fq", "/r", "/p%2Fq/r"},
		{srv.URL, "/", "/"},
	}
	for _, tt := range tests {
		b := mustNew(t, balancer.Config{Members: []balancer.Member{{URL: tt.member}}})
		front := httptest.NewServer(b)
		res, err := http.Get(front.URL + tt.request)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		front.Close()
		mu.Lock()
		r := seen
		mu.Unlock()
		if tt.wantURI == "" {
			if res.StatusCode != http.StatusNotFound {
				t.Errorf("%s + %s: status %d, want 404", tt.member, tt.request, res.StatusCode)
			}
			continue
		}
		if res.StatusCode != 200 || r == nil {
			t.Fatalf("%s + %s: status %d", tt.member, tt.request, res.StatusCode)
		}
		if r.RequestURI != tt.wantURI {
			t.Errorf("%s + %s: backend got %q, want %q", tt.member, tt.request, r.RequestURI, tt.wantURI)
		}
		if r.Host != strings.TrimPrefix(srv.URL, "http://") {
			t.Errorf("Host %q, want the member's", r.Host)
		}
		if r.Header.Get("X-Forwarded-For") != "127.0.0.1" || r.Header.Get("X-Forwarded-Server") == "" ||
			r.Header.Get("X-Forwarded-Host") != strings.TrimPrefix(front.URL, "http://") {
			t.Errorf("X-Forwarded-*: %v", r.Header)
		}
	}
}

// §6.3: a member that refuses the connection goes into error state and the
// request, with its 2 MB body untouched, goes to the next member.
func TestFailoverResendsBody(t *testing.T) {
	live, got := namedBackend(t, "live")
	dead := closedPort(t)
	b := mustNew(t, balancer.Config{Members: []balancer.Member{{URL: dead}, {URL: live.URL}}})
	front := httptest.NewServer(b)
	t.Cleanup(front.Close)

	payload := bytes.Repeat([]byte("0123456789abcdef"), 2<<20/16)
	for _, chunked := range []bool{false, true} {
		var body io.Reader = bytes.NewReader(payload)
		if chunked {
			body = io.MultiReader(body) // hides the length: sent chunked
		}
		req, _ := http.NewRequest("POST", front.URL+"/upload", body)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || string(answer) != "live" {
			t.Fatalf("chunked=%v: %d %q", chunked, res.StatusCode, answer)
		}
	}
	if want := []int{len(payload), len(payload)}; len(*got) != 2 || (*got)[0] != want[0] || (*got)[1] != want[1] {
		t.Errorf("live member received bodies of %v bytes, want %v", *got, want)
	}
	if s := b.Members()[0]; !s.Status.Has(balancer.StatusError) || s.ErrorSince.IsZero() || !s.ErrorUntil.After(s.ErrorSince) {
		t.Errorf("dead member: %v since %v until %v, want Err with a period", s.Status, s.ErrorSince, s.ErrorUntil)
	}
}

// Errors after the request was sent give 502 and are never retried.
func TestNoRetryAfterSend(t *testing.T) {
	var calls atomic.Int32
	closer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		io.Copy(io.Discard, r.Body)
		c, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			c.Close() // no status line
		}
	}))
	t.Cleanup(closer.Close)
	other, got := namedBackend(t, "other")
	b := mustNew(t, balancer.Config{Members: []balancer.Member{{URL: closer.URL}, {URL: other.URL}}})
	front := httptest.NewServer(b)
	t.Cleanup(front.Close)
	res, err := http.Post(front.URL+"/", "text/plain", strings.NewReader("not idempotent"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadGateway {
		t.Errorf("status %d, want 502", res.StatusCode)
	}
	if calls.Load() != 1 || len(*got) != 0 {
		t.Errorf("closer called %d times, other %d times; want 1 and 0", calls.Load(), len(*got))
	}
}

// The routing decision is visible in every proxy hook.
func TestFromContextInHooks(t *testing.T) {
	live, _ := namedBackend(t, "live")
	var mu sync.Mutex
	seen := map[string]balancer.Info{}
	record := func(where string, r *http.Request) {
		info, ok := balancer.FromContext(r.Context())
		if !ok {
			t.Errorf("%s: no routing decision", where)
		}
		mu.Lock()
		seen[where] = info
		mu.Unlock()
	}
	var hooks http.RoundTripper = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		record("transport", r)
		return http.DefaultTransport.RoundTrip(r)
	})
	b := mustNew(t, balancer.Config{
		Members:        []balancer.Member{{URL: live.URL, Route: "r1"}},
		StickySession:  "SID",
		Transport:      hooks,
		Rewrite:        func(pr *httputil.ProxyRequest) { record("rewrite", pr.Out) },
		ModifyResponse: func(res *http.Response) error { record("modifyresponse", res.Request); return io.ErrUnexpectedEOF },
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			record("errorhandler", r)
			w.WriteHeader(599)
		},
	})
	w := httptest.NewRecorder()
	b.ServeHTTP(w, withCookie("SID=x.r1"))
	if w.Code != 599 {
		t.Fatalf("status %d, want the error handler's 599", w.Code)
	}
	want := balancer.Info{Name: "balancer://test", WorkerName: strings.ToLower(live.URL), WorkerRoute: "r1", Session: true, SessionSticky: "SID", SessionRoute: "r1"}
	for _, where := range []string{"rewrite", "transport", "modifyresponse", "errorhandler"} {
		if seen[where] != want {
			t.Errorf("%s saw %+v, want %+v", where, seen[where], want)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
