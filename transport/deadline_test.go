package transport

import (
	"bufio"
	"io"
	"net/http"
	"testing"
	"testing/synctest"
	"time"
)

// An upgraded connection belongs to the caller: Timeout, which bounds every
// wait on an HTTP/1.1 connection through its read deadline, no longer
// applies once the member switched protocols.
func TestUpgradeLiftsDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newTransport(t, Options{Timeout: time.Second})
		pipeServer(t, tr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "Upgrade")
			w.Header().Set("Upgrade", "echo")
			w.WriteHeader(http.StatusSwitchingProtocols)
			c, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			time.Sleep(10 * time.Second) // fake time: ten Timeouts of silence
			brw.WriteString("ping\n")
			brw.Flush()
			brw.ReadString('\n') // until the client is done
		}))
		req, _ := http.NewRequest("GET", "http://member.test/ws", nil)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "echo")
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("status %d", resp.StatusCode)
		}
		rw := resp.Body.(io.ReadWriteCloser)
		defer rw.Close()
		// The read waits through the member's silence.
		got, err := bufio.NewReader(rw).ReadString('\n')
		if err != nil || got != "ping\n" {
			t.Errorf("after 10 s of silence: %q, %v; want the member's ping", got, err)
		}
		io.WriteString(rw, "bye\n")
	})
}

// Without an upgrade the same silence is a timeout.
func TestDeadlineBoundsResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newTransport(t, Options{Timeout: time.Second})
		release := make(chan struct{})
		pipeServer(t, tr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-release
		}))
		defer close(release)
		start := time.Now()
		_, err := tr.RoundTrip(newRequest(t, "GET", "http://member.test/", nil))
		if !IsTimeout(err) || NotSent(err) {
			t.Fatalf("error %v: want a timeout after sending", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("timed out after %v, want 1s", d)
		}
	})
}
