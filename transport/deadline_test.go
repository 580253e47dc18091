package transport

import (
	"bufio"
	"errors"
	"io"
	"net"
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
		checkTimedOutAfter(t, time.Since(start), time.Second)
	})
}

// checkTimedOutAfter checks that a wait bounded by timeout ended after
// timeout, late by at most its slack (a sixteenth, at most 1 s): never
// early.
func checkTimedOutAfter(t *testing.T, d, timeout time.Duration) {
	t.Helper()
	if late := min(timeout/16, time.Second); d < timeout || d > timeout+late {
		t.Errorf("timed out after %v, want %v to %v", d, timeout, timeout+late)
	}
}

// A member that pauses just under Timeout between pieces of its response is
// never timed out, however long the whole response takes: each read starts
// its own wait. A longer pause is timed out after Timeout; the error is a net.Error that timed
// out and wraps ErrTimeout.
func TestDeadlineBoundsEachRead(t *testing.T) {
	for _, tc := range []struct {
		pause   time.Duration
		timeout bool
	}{
		{pause: 990 * time.Millisecond, timeout: false},
		{pause: 2 * time.Second, timeout: true},
	} {
		t.Run(tc.pause.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := newTransport(t, Options{Timeout: time.Second})
				pipeServer(t, tr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Length", "5")
					for i := range 5 {
						if i > 0 {
							select {
							case <-time.After(tc.pause):
							case <-r.Context().Done(): // the client gave up
								return
							}
						}
						io.WriteString(w, "x")
						http.NewResponseController(w).Flush()
					}
				}))
				start := time.Now()
				resp, err := tr.RoundTrip(newRequest(t, "GET", "http://member.test/", nil))
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				got, err := io.ReadAll(resp.Body)
				switch {
				case !tc.timeout && (err != nil || string(got) != "xxxxx"):
					t.Errorf("read %q, %v after %v; want all 5 bytes", got, err, time.Since(start))
				case tc.timeout && !IsTimeout(err):
					t.Errorf("read %q, %v; want a timeout", got, err)
				case tc.timeout:
					var ne net.Error
					if !errors.As(err, &ne) || !ne.Timeout() {
						t.Errorf("error %v (%T) is not a net.Error that timed out", err, err)
					}
					// The first byte came at once, then Timeout of silence.
					checkTimedOutAfter(t, time.Since(start), time.Second)
				}
			})
		})
	}
}

// deadlineCounter counts the read deadlines set on it.
type deadlineCounter struct {
	net.Conn
	set  int
	last time.Time
}

func (c *deadlineCounter) SetReadDeadline(t time.Time) error {
	c.set++
	c.last = t
	return nil
}

// The deadline is moved at most once per slack, to slack beyond
// Timeout: calls closer together keep the deadline the first one set, which
// is still at least Timeout away.
func TestDeadlineMovedOncePerSlack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		go io.Copy(io.Discard, b)
		counter := &deadlineCounter{Conn: a}
		c := newDeadlineConn(counter, time.Second)
		const slack = time.Second / 16
		if c.slack != slack {
			t.Fatalf("slack %v, want Timeout/16", c.slack)
		}
		start := time.Now()
		for range 3 {
			c.Write([]byte("x")) // same instant: one move
		}
		if want := start.Add(time.Second + slack); counter.set != 1 || !counter.last.Equal(want) {
			t.Fatalf("after 3 writes at once: %d moves, deadline %v; want 1, %v", counter.set, counter.last, want)
		}
		time.Sleep(slack - time.Nanosecond)
		c.Write([]byte("x"))
		if counter.set != 1 {
			t.Errorf("a write within slack moved the deadline")
		}
		if left := time.Until(counter.last); left < time.Second {
			t.Errorf("the kept deadline is %v away, less than Timeout", left)
		}
		time.Sleep(time.Nanosecond)
		c.Write([]byte("x"))
		if want := time.Now().Add(time.Second + slack); counter.set != 2 || !counter.last.Equal(want) {
			t.Errorf("a write slack after the move: %d moves, deadline %v; want 2, %v", counter.set, counter.last, want)
		}
		if d := newDeadlineConn(counter, time.Hour).slack; d != time.Second {
			t.Errorf("slack of a 1h timeout %v, want the 1 s cap", d)
		}
	})
}

// recordConn records the read deadlines set on it.
type recordConn struct {
	net.Conn
	deadlines []time.Time
}

func (c *recordConn) SetReadDeadline(t time.Time) error {
	c.deadlines = append(c.deadlines, t)
	return nil
}

// A move never sets the deadline earlier than one already set (the
// reader and writer goroutines of a connection both move it).
func TestDeadlineNeverMovesBack(t *testing.T) {
	rc := &recordConn{}
	c := newDeadlineConn(rc, time.Minute)
	c.move()
	if len(rc.deadlines) != 1 {
		t.Fatalf("%d deadlines set by the first move, want 1", len(rc.deadlines))
	}
	// Another goroutine moved it later than the clock reading of this one.
	c.moved.Store(int64(time.Since(c.born) + time.Hour))
	c.move()
	if len(rc.deadlines) != 1 {
		t.Errorf("deadline moved back to %v after %v", rc.deadlines[len(rc.deadlines)-1], rc.deadlines[0])
	}
}
