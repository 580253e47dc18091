package transport

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConnectRefusedIsNotSent(t *testing.T) {
	tr := newTransport(t, Options{})
	body := newTrackBody(strings.NewReader("payload"))
	_, err := tr.RoundTrip(postRequest(t, closedURL(t), body, 7))
	if got := notSentReason(t, err); got != ReasonConnect {
		t.Errorf("Reason = %v, want connect", got)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("err = %v, want it to wrap ECONNREFUSED", err)
	}
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		t.Errorf("err = %v, want a dial *net.OpError inside", err)
	}
	if IsTimeout(err) {
		t.Errorf("IsTimeout(%v) = true", err)
	}
	body.untouched(t)
}

// TestConnectTimeout dials a member that never accepts, on the fake clock,
// and checks which timeout applies.
func TestConnectTimeout(t *testing.T) {
	tests := []struct {
		name string
		give Options
		want time.Duration
	}{
		{"connecttimeout", Options{ConnectTimeout: 3 * time.Second, Timeout: time.Hour}, 3 * time.Second},
		{"falls back to timeout", Options{Timeout: 7 * time.Second}, 7 * time.Second},
		{"default", Options{}, DefaultTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := newTransport(t, tt.give)
				tr.dialer.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
					<-ctx.Done()
					return nil, &net.OpError{Op: "dial", Net: network, Err: ctx.Err()}
				}
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://member.test/", nil)
				start := time.Now()
				_, err := tr.RoundTrip(req)
				if got := notSentReason(t, err); got != ReasonConnect {
					t.Errorf("Reason = %v, want connect", got)
				}
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("err = %v, want it to wrap the dial deadline", err)
				}
				if IsTimeout(err) {
					t.Errorf("IsTimeout(%v) = true; a connect timeout is not a response timeout", err)
				}
				if got := time.Since(start); got != tt.want {
					t.Errorf("connect gave up after %v, want %v", got, tt.want)
				}
			})
		})
	}
}

func TestResolveFailureIsNotSent(t *testing.T) {
	tr := newTransport(t, Options{})
	tr.dialer.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: "member.invalid", IsNotFound: true}}
	}
	_, err := tr.RoundTrip(newRequest(t, http.MethodGet, "http://member.invalid/", nil))
	if got := notSentReason(t, err); got != ReasonResolve {
		t.Errorf("Reason = %v, want resolve", got)
	}
}

// TestNotSentBodyGoesToNextMember is the failover contract: a 2 MB body
// that is not replayable fails NotSent on a closed port, and the same
// request then delivers all 2 MB intact to a live member.
func TestNotSentBodyGoesToNextMember(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), 2<<20/16)
	want := sha256.Sum256(payload)
	type got struct {
		n   int
		sum [32]byte
	}
	received := make(chan got, 1)
	live := newBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("backend reading body: %v", err)
		}
		received <- got{len(b), sha256.Sum256(b)}
		io.WriteString(w, "ok")
	}))
	dead := newTransport(t, Options{})
	alive := newTransport(t, Options{})

	body := newTrackBody(bytes.NewReader(payload))
	req := postRequest(t, closedURL(t), body, int64(len(payload)))
	if _, err := dead.RoundTrip(req); !NotSent(err) {
		t.Fatalf("first attempt: err = %v, want NotSent", err)
	}
	body.untouched(t)

	u := *req.URL
	u.Host = strings.TrimPrefix(live.URL, "http://")
	req.URL = &u
	req.Host = ""
	resp, err := alive.RoundTrip(req)
	if err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	r := <-received
	if r.n != len(payload) || r.sum != want {
		t.Errorf("live member received %d bytes (sha256 match %v), want %d intact", r.n, r.sum == want, len(payload))
	}
	body.awaitClosed(t)
}

// TestResponseHeaderTimeout: a member that reads the whole request and
// never answers is timed out after Timeout, on the fake clock: the request
// was sent, so the error is a timeout and not NotSent. (On loopback with a
// real 20 ms Timeout, which is also the connect timeout, a dial slowed by
// a loaded machine made this a connect failure.)
func TestResponseHeaderTimeout(t *testing.T) {
	const timeout = 20 * time.Millisecond
	for _, h2c := range []bool{false, true} {
		t.Run(map[bool]string{false: "http/1.1", true: "h2c"}[h2c], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := newTransport(t, Options{Timeout: timeout, H2C: h2c})
				read := make(chan int, 1) // the request's HTTP major version
				pipeServer(t, tr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					io.Copy(io.Discard, r.Body)
					read <- r.ProtoMajor
					<-r.Context().Done()
				}), func(s *http.Server) { s.Protocols = h2cServerProtocols() })
				body := newTrackBody(strings.NewReader("payload"))
				start := time.Now()
				_, err := tr.RoundTrip(postRequest(t, "http://member.test/", body, 7))
				elapsed := time.Since(start)
				require.Error(t, err, "RoundTrip succeeded; want a timeout")
				select {
				case major := <-read:
					assert.Equal(t, map[bool]int{false: 1, true: 2}[h2c], major, "HTTP version")
				default:
					t.Fatal("the member never read the whole request")
				}
				assert.True(t, IsTimeout(err), "IsTimeout(%v)", err)
				assert.ErrorIs(t, err, ErrTimeout)
				assert.False(t, NotSent(err), "NotSent(%v) after the request was written", err)
				checkTimedOutAfter(t, elapsed, timeout)
				body.awaitClosed(t)
			})
		})
	}
}

// TestResponseHeaderTimeoutDefault shows the 60 s default on the fake
// clock.
func TestResponseHeaderTimeoutDefault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newTransport(t, Options{})
		pipeServer(t, tr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}))
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://member.test/", nil)
		start := time.Now()
		_, err := tr.RoundTrip(req)
		if !IsTimeout(err) || NotSent(err) {
			t.Errorf("err = %v: IsTimeout %v, NotSent %v; want true, false", err, IsTimeout(err), NotSent(err))
		}
		checkTimedOutAfter(t, time.Since(start), DefaultTimeout)
	})
}

// TestResetAfterWriteIsSent: the member reads the request and drops the
// connection. The request reached it, so this is neither NotSent nor a
// timeout.
func TestResetAfterWriteIsSent(t *testing.T) {
	b := newBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		c, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // RST instead of FIN
		}
		c.Close()
	}))
	tr := newTransport(t, Options{})
	body := newTrackBody(strings.NewReader("payload"))
	_, err := tr.RoundTrip(postRequest(t, b.URL, body, 7))
	if err == nil {
		t.Fatal("RoundTrip succeeded; want an error")
	}
	if NotSent(err) || IsTimeout(err) {
		t.Errorf("err = %v: NotSent %v, IsTimeout %v; want false, false", err, NotSent(err), IsTimeout(err))
	}
	body.awaitClosed(t)
}

func TestCanceledRequestIsNotNotSent(t *testing.T) {
	tr := newTransport(t, Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, closedURL(t), nil)
	_, err := tr.RoundTrip(req)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if NotSent(err) || IsTimeout(err) {
		t.Errorf("err = %v: NotSent %v, IsTimeout %v; want false, false", err, NotSent(err), IsTimeout(err))
	}
}

// TestResponseBodyReadTimeout: a member that stalls in the middle of its
// body is timed out after Timeout, on the fake clock (on loopback with a
// real 20 ms Timeout, a loaded machine could time out the connect or the
// response headers instead).
func TestResponseBodyReadTimeout(t *testing.T) {
	const timeout = 20 * time.Millisecond
	synctest.Test(t, func(t *testing.T) {
		g := newGate(t)
		tr := newTransport(t, Options{Timeout: timeout})
		pipeServer(t, tr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100")
			io.WriteString(w, "partial")
			http.NewResponseController(w).Flush()
			g.wait(r)
		}))
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://member.test/", nil)
		resp, err := tr.RoundTrip(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		start := time.Now()
		got, err := io.ReadAll(resp.Body)
		elapsed := time.Since(start)
		assert.Equal(t, "partial", string(got), "read before the stall")
		assert.True(t, IsTimeout(err), "read error = %v, want IsTimeout", err)
		checkTimedOutAfter(t, elapsed, timeout)
	})
}

// TestSlowReaderIsNotTimedOut: Timeout bounds waits for the member, not
// the time the caller takes between reads.
func TestSlowReaderIsNotTimedOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newTransport(t, Options{Timeout: time.Second})
		pipeServer(t, tr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, strings.Repeat("x", 10))
		}))
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://member.test/", nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got []byte
		buf := make([]byte, 3)
		for {
			n, err := resp.Body.Read(buf)
			got = append(got, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("read after %d bytes: %v", len(got), err)
			}
			time.Sleep(5 * time.Second) // the caller dawdles, on the fake clock
		}
		if len(got) != 10 {
			t.Errorf("read %d bytes, want 10", len(got))
		}
	})
}

func TestTLSMember(t *testing.T) {
	srv := httptest.NewUnstartedServer(okHandler)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshake is expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())

	t.Run("trusted", func(t *testing.T) {
		tr := newTransport(t, Options{TLSClientConfig: &tls.Config{RootCAs: pool}})
		if got := get(t, tr, srv.URL); got != "ok" {
			t.Errorf("body %q, want ok", got)
		}
	})
	t.Run("untrusted is NotSent", func(t *testing.T) {
		tr := newTransport(t, Options{})
		body := newTrackBody(strings.NewReader("payload"))
		_, err := tr.RoundTrip(postRequest(t, srv.URL, body, 7))
		if got := notSentReason(t, err); got != ReasonTLS {
			t.Errorf("Reason = %v, want tls", got)
		}
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Errorf("err = %v, want an x509.UnknownAuthorityError inside", err)
		}
		body.untouched(t)
	})
}

// TestMalformedRequests: bad requests give errors, never a panic, never
// NotSent, and their body is closed.
func TestMalformedRequests(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*http.Request)
	}{
		{"nil URL", func(r *http.Request) { r.URL = nil }},
		{"bad scheme", func(r *http.Request) { r.URL.Scheme = "ftp" }},
		{"no host", func(r *http.Request) { r.URL.Host = "" }},
		{"bad method", func(r *http.Request) { r.Method = "BAD METHOD" }},
		{"bad header value", func(r *http.Request) { r.Header.Set("X", "a\nb") }},
	}
	for _, ping := range []time.Duration{0, time.Second} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s ping %v", tt.name, ping), func(t *testing.T) {
				tr := newTransport(t, Options{Ping: ping})
				body := newTrackBody(strings.NewReader("payload"))
				req := postRequest(t, closedURL(t), body, 7)
				tt.mutate(req)
				resp, err := tr.RoundTrip(req)
				if err == nil {
					resp.Body.Close()
					t.Fatal("RoundTrip succeeded")
				}
				if NotSent(err) || IsTimeout(err) {
					t.Errorf("err = %v: NotSent %v, IsTimeout %v; want false, false", err, NotSent(err), IsTimeout(err))
				}
				body.awaitClosed(t)
			})
		}
	}
}
