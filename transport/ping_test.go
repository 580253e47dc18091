package transport

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestPingUnanswered: a member that reads the headers and never answers
// gets no body, and the attempt is NotSent with the body untouched.
func TestPingUnanswered(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	silent := newSilentBackend(t, l)
	tr := newTransport(t, Options{Ping: 20 * time.Millisecond})

	body := newTrackBody(strings.NewReader("payload"))
	_, err = tr.RoundTrip(postRequest(t, silent.url(), body, 7))
	if got := notSentReason(t, err); got != ReasonPing {
		t.Errorf("Reason = %v, want ping", got)
	}
	if !errors.Is(err, ErrPingTimeout) {
		t.Errorf("err = %v, want it to wrap ErrPingTimeout", err)
	}
	if IsTimeout(err) {
		t.Errorf("IsTimeout(%v) = true; a ping failure is NotSent", err)
	}
	body.untouched(t)

	seen := silent.next(t)
	if got := seen.header.Get("Expect"); got != "100-continue" {
		t.Errorf("member saw Expect %q, want 100-continue", got)
	}
	if seen.bodyBytes != 0 {
		t.Errorf("member received %d body bytes, want 0", seen.bodyBytes)
	}
}

// TestPingAnswered: a member that answers 100 Continue (net/http's server
// does when the handler reads the body) gets the body; a member that
// answers with a final response in time has that response returned.
func TestPingAnswered(t *testing.T) {
	tests := []struct {
		name       string
		protocols  func() *http.Protocols
		h2c        bool
		wantStatus int
		wantBody   string
	}{
		{"100 continue", nil, false, http.StatusOK, "got payload"},
		{"100 continue over h2c", h2cServerProtocols, true, http.StatusOK, "got payload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// net/http's HTTP/2 server answers Expect itself and
				// removes the header.
				if got := r.Header.Get("Expect"); r.ProtoMajor == 1 && got != "100-continue" {
					t.Errorf("member saw Expect %q, want 100-continue", got)
				}
				if wantMajor := map[bool]int{false: 1, true: 2}[tt.h2c]; r.ProtoMajor != wantMajor {
					t.Errorf("member saw HTTP/%d, want HTTP/%d", r.ProtoMajor, wantMajor)
				}
				got, _ := io.ReadAll(r.Body)
				io.WriteString(w, "got "+string(got))
			}), func(s *httptest.Server) {
				if tt.protocols != nil {
					s.Config.Protocols = tt.protocols()
				}
			})
			// A ping this long never expires in the test; the answer
			// comes first.
			tr := newTransport(t, Options{Ping: testBound, H2C: tt.h2c})
			body := newTrackBody(strings.NewReader("payload"))
			req := postRequest(t, b.URL, body, 7)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatalf("RoundTrip: %v", err)
			}
			defer resp.Body.Close()
			got, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus || string(got) != tt.wantBody {
				t.Errorf("response %d %q, want %d %q", resp.StatusCode, got, tt.wantStatus, tt.wantBody)
			}
			if _, ok := req.Header["Expect"]; ok {
				t.Error("RoundTrip added Expect to the caller's request")
			}
		})
	}
}

func TestPingFinalResponseInTime(t *testing.T) {
	b := newBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusRequestEntityTooLarge)
	}))
	tr := newTransport(t, Options{Ping: testBound})
	body := newTrackBody(strings.NewReader("payload"))
	resp, err := tr.RoundTrip(postRequest(t, b.URL, body, 7))
	if err != nil {
		t.Fatalf("RoundTrip: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", resp.StatusCode)
	}
	body.awaitClosed(t)
	if n := body.bytes.Load(); n != 0 {
		t.Errorf("%d body bytes read for a member that refused them, want 0", n)
	}
}

// TestPingOnlyWithBody: requests without a body get no Expect header and
// no ping.
func TestPingOnlyWithBody(t *testing.T) {
	b := newBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Header.Get("Expect"))
	}))
	tr := newTransport(t, Options{Ping: time.Millisecond})
	if got := get(t, tr, b.URL); got != "" {
		t.Errorf("member saw Expect %q on a GET without body, want none", got)
	}
}

// TestPingDuration checks on the fake clock that the wait for 100 Continue
// lasts Ping.
func TestPingDuration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newTransport(t, Options{Ping: 3 * time.Second})
		n := newPipeNet()
		tr.dialer.dial = n.dial
		newSilentBackend(t, n)
		body := newTrackBody(strings.NewReader("payload"))
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, "http://member.test/", body)
		req.ContentLength = 7
		start := time.Now()
		_, err := tr.RoundTrip(req)
		if got := notSentReason(t, err); got != ReasonPing {
			t.Errorf("Reason = %v, want ping", got)
		}
		if got := time.Since(start); got != 3*time.Second {
			t.Errorf("gave up after %v, want 3s", got)
		}
		body.untouched(t)
	})
}

// TestPingUnansweredH2C: net/http's HTTP/2 server sends 100 Continue only
// when the handler reads the body; this handler never does.
func TestPingUnansweredH2C(t *testing.T) {
	got := make(chan int64, 1)
	b := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		n, _ := io.Copy(io.Discard, r.Body)
		got <- n
	}), func(s *httptest.Server) { s.Config.Protocols = h2cServerProtocols() })
	tr := newTransport(t, Options{Ping: 20 * time.Millisecond, H2C: true})
	body := newTrackBody(strings.NewReader("payload"))
	_, err := tr.RoundTrip(postRequest(t, b.URL, body, 7))
	if got := notSentReason(t, err); got != ReasonPing {
		t.Errorf("Reason = %v, want ping", got)
	}
	body.untouched(t)
	select {
	case n := <-got:
		if n != 0 {
			t.Errorf("member received %d body bytes, want 0", n)
		}
	case <-time.After(testBound):
		t.Fatal("the member's handler never saw the stream end")
	}
}
