package transport

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// spliceWait declares a timeout only after Timeout of silence (never early)
// and at most a slack after it, whatever the slices the transfer is cut
// into and whenever the member's bytes came within them.
func TestSpliceWait(t *testing.T) {
	const timeout, slack = 16 * time.Second, time.Second
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// Each case: the member's byte arrival times (offsets from t0, the
	// start) during slices that each run to their deadline; after the last
	// byte, silence.
	for _, tc := range []struct {
		name  string
		bytes []time.Duration
	}{
		{"silent from the start", nil},
		{"one byte at once", []time.Duration{0}},
		{"one byte late in a slice", []time.Duration{999 * time.Millisecond}},
		{"bytes every 15 s", []time.Duration{15 * time.Second, 30 * time.Second, 45 * time.Second}},
		{"a byte early in a slice", []time.Duration{10*time.Second + time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := spliceWait{timeout: timeout, slack: slack, silent: t0}
			now := t0
			last := t0 // the headers came at t0 at the latest
			next := 0
			for {
				deadline := w.deadline(now)
				require.True(t, deadline.After(now), "deadline %v not after %v", deadline, now)
				require.LessOrEqual(t, deadline.Sub(now), slack)
				moved := false
				for next < len(tc.bytes) && t0.Add(tc.bytes[next]).Before(deadline) {
					last = t0.Add(tc.bytes[next])
					moved = true
					next++
				}
				now = deadline
				if w.expired(now, moved) {
					break
				}
				require.Less(t, now.Sub(t0), 2*time.Minute, "never timed out")
			}
			silence := now.Sub(last)
			assert.GreaterOrEqual(t, silence, timeout, "timed out early")
			assert.LessOrEqual(t, silence, timeout+slack, "timed out late")
			assert.Equal(t, len(tc.bytes), next, "timed out before the last byte")
		})
	}
}

// spliceServer is a client-facing server whose handler sends the request to
// tr and gives the member's response to SpliceBody (when splice is set),
// reporting what it returned.
func spliceServer(t *testing.T, tr *Transport, memberURL string, splice bool, out chan<- spliceResult) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), "GET", memberURL+r.URL.Path, nil)
		res, err := tr.RoundTrip(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		w.Header().Set("Content-Length", strconv.FormatInt(res.ContentLength, 10))
		w.WriteHeader(res.StatusCode)
		var sr spliceResult
		if splice {
			sr.n, sr.handled, sr.err = SpliceBody(w, res.Body)
		}
		if !sr.handled {
			sr.n, sr.err = io.Copy(w, res.Body)
		}
		_, sr.after = res.Body.Read(make([]byte, 1))
		out <- sr
	}))
	t.Cleanup(srv.Close)
	return srv
}

type spliceResult struct {
	n          int64
	handled    bool
	err, after error
}

// SpliceBody moves the body whole, the bytes beyond the connection's buffer
// by splice; the body then reads as ended and the connection is reused. It
// leaves alone what it cannot splice, and a body of which less than
// spliceMin is left beyond the connection's buffer: a 40 KiB body, all of
// it received before the headers are read, fills the 32 KiB buffer and
// leaves about 8 KiB in the socket.
func TestSpliceBodyTransport(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	member := newBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := len(body)
		if r.URL.Path == "/small" {
			n = 40 << 10
		}
		w.Header().Set("Content-Length", strconv.Itoa(n))
		w.Write(body[:n])
	}))
	var spliced atomic.Int64
	spliceHook = func(n int64) { spliced.Add(n) }
	t.Cleanup(func() { spliceHook = nil })

	for _, tc := range []struct {
		name    string
		opts    Options
		path    string
		handled bool
		// received: the member is one that answers as it accepts, and the
		// transport reads only once all of the response is in its socket
		// (else how much its first read buffers depends on scheduling).
		received bool
	}{
		{"direct", Options{}, "/", true, false},
		{"direct again", Options{}, "/", true, false},
		{"little beyond the buffer", Options{}, "/small", false, true},
		{"net/http's transport (Max)", Options{Max: 4}, "/", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spliced.Store(0)
			tr := newTransport(t, tc.opts)
			out := make(chan spliceResult, 1)
			memberURL := member.URL
			if tc.received {
				memberURL = receivedMember(t, tr, body[:40<<10])
			}
			front := spliceServer(t, tr, memberURL, true, out)
			res, err := http.Get(front.URL + tc.path)
			require.NoError(t, err)
			got, err := io.ReadAll(res.Body)
			res.Body.Close()
			require.NoError(t, err)
			want := body
			if tc.path == "/small" {
				want = body[:40<<10]
			}
			assert.True(t, bytes.Equal(want, got), "got %d bytes, want %d", len(got), len(want))
			sr := <-out
			assert.Equal(t, tc.handled, sr.handled)
			assert.NoError(t, sr.err)
			assert.Equal(t, int64(len(want)), sr.n)
			assert.Equal(t, io.EOF, sr.after, "Read after the end")
			if tc.handled {
				assert.Greater(t, spliced.Load(), int64(len(want)-32<<10), "bytes spliced")
				// The connection went back to the pool: a second request
				// reuses it.
				before := member.conns.Load()
				res, err := http.Get(front.URL + tc.path)
				require.NoError(t, err)
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				<-out
				assert.Equal(t, before, member.conns.Load(), "member connections")
			} else {
				assert.Zero(t, spliced.Load())
			}
		})
	}
}

// A body already read from is not spliced; neither is one to a writer
// without ReadFrom.
func TestSpliceBodyRefused(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 1<<20)
	member := newBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}))
	tr := newTransport(t, Options{})
	for _, tc := range []struct {
		name string
		read bool
		w    io.Writer
	}{
		{"read before", true, readerFromBuffer{new(bytes.Buffer)}},
		{"no ReadFrom", false, struct{ io.Writer }{new(bytes.Buffer)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tr.RoundTrip(newRequest(t, "GET", member.URL, nil))
			require.NoError(t, err)
			defer res.Body.Close()
			if tc.read {
				_, err := res.Body.Read(make([]byte, 10))
				require.NoError(t, err)
			}
			n, handled, err := SpliceBody(tc.w, res.Body)
			assert.False(t, handled)
			assert.Zero(t, n)
			assert.NoError(t, err)
			rest, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			skipped := 0
			if tc.read {
				skipped = 10
			}
			assert.Len(t, rest, len(body)-skipped)
		})
	}
}

type readerFromBuffer struct{ b *bytes.Buffer }

func (r readerFromBuffer) Write(p []byte) (int, error)           { return r.b.Write(p) }
func (r readerFromBuffer) ReadFrom(src io.Reader) (int64, error) { return r.b.ReadFrom(src) }
