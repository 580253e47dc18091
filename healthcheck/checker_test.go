package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// start runs c.Run in the current synctest bubble. stop cancels it and
// returns Run's error once Run has returned.
func start(t *testing.T, c *Checker) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	return func() error {
		cancel()
		return <-done
	}
}

// advance moves the bubble's clock by d and waits for everything it set off.
func advance(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// summary renders a result as "<status> pass|fail up|down", with "!" when
// the result is a transition.
func summary(r Result) string {
	s := fmt.Sprintf("%d %s %s", r.Status, map[bool]string{true: "pass", false: "fail"}[r.Passed], map[bool]string{true: "up", false: "down"}[r.Healthy])
	if r.Changed {
		s += "!"
	}
	return s
}

func TestCounting(t *testing.T) {
	tests := []struct {
		name          string
		passes, fails int
		down          bool // the member starts in C or E
		statuses      []int
		want          []string
	}{
		{
			// Apache counts failures cumulatively and disables the member
			// at the fifth result; we count consecutive failures.
			name:  "fails=3 interleaved stays healthy",
			fails: 3, statuses: []int{500, 200, 500, 200, 500},
			want: []string{"500 fail up", "200 pass up", "500 fail up", "200 pass up", "500 fail up"},
		},
		{
			name:  "fails=3 three in a row",
			fails: 3, statuses: []int{500, 500, 500, 500},
			want: []string{"500 fail up", "500 fail up", "500 fail down!", "500 fail down"},
		},
		{
			name:  "fails=3 count restarts after a pass",
			fails: 3, statuses: []int{500, 500, 200, 500, 500, 500},
			want: []string{"500 fail up", "500 fail up", "200 pass up", "500 fail up", "500 fail up", "500 fail down!"},
		},
		{
			// Apache enables the member at the fourth result (its third
			// pass); we need three consecutive passes.
			name:   "passes=3 interleaved stays down",
			passes: 3, down: true, statuses: []int{200, 200, 500, 200, 200},
			want: []string{"200 pass down", "200 pass down", "500 fail down", "200 pass down", "200 pass down"},
		},
		{
			name:   "passes=3 three in a row",
			passes: 3, down: true, statuses: []int{200, 302, 204, 200},
			want: []string{"200 pass down", "302 pass down", "204 pass up!", "200 pass up"},
		},
		{
			name:     "defaults: one result is enough both ways",
			statuses: []int{200, 500, 500, 301, 200},
			want:     []string{"200 pass up", "500 fail down!", "500 fail down", "301 pass up!", "200 pass up"},
		},
		{
			// A member in error collects no failures (no C) and a pass
			// brings it back (clears E).
			name:  "member in error",
			fails: 1, down: true, statuses: []int{500, 503, 200},
			want: []string{"500 fail down", "503 fail down", "200 pass up!"},
		},
		{
			name:  "down and up again",
			fails: 2, passes: 2, statuses: []int{404, 404, 200, 404, 200, 200, 400},
			want: []string{"404 fail up", "404 fail down!", "200 pass down", "404 fail down", "200 pass down", "200 pass up!", "400 fail up"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pn := &pipeNet{respond: func(_ string, n int) string {
					if n >= len(tt.statuses) {
						t.Errorf("check %d: only %d statuses", n, len(tt.statuses))
						return status(200)
					}
					return status(tt.statuses[n])
				}}
				ft := newTarget(t, "http://h", Check{Method: MethodGet, Interval: time.Second, Passes: tt.passes, Fails: tt.fails})
				ft.down = tt.down
				c := &Checker{Targets: func() []Target { return []Target{ft} }, Dial: pn.Dial}
				stop := start(t, c)
				advance(time.Duration(len(tt.statuses)) * time.Second)
				if err := stop(); !errors.Is(err, context.Canceled) {
					t.Errorf("Run = %v, want context.Canceled", err)
				}

				res := ft.results()
				var got []string
				for _, r := range res {
					got = append(got, summary(r))
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Fatalf("results (-want +got):\n%s", diff)
				}
				st, ok := c.State(ft.name)
				if !ok {
					t.Fatal("State: no state")
				}
				last := res[len(res)-1]
				if st.Last.Time != last.Time || st.Last.Status != last.Status || st.Healthy != last.Healthy || st.Checking {
					t.Errorf("State = %+v, want Last %+v, not checking", st, last)
				}
			})
		})
	}
}

func TestStateCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		codes := []int{500, 500, 200, 200}
		pn := &pipeNet{respond: func(_ string, n int) string { return status(codes[n]) }}
		ft := newTarget(t, "http://h", Check{Method: MethodHead, Interval: time.Second, Fails: 2, Passes: 3})
		c := &Checker{Targets: func() []Target { return []Target{ft} }, Dial: pn.Dial}
		stop := start(t, c)
		defer stop()

		type counts struct {
			Healthy       bool
			Passes, Fails int
		}
		var got []counts
		for range codes {
			advance(time.Second)
			st, _ := c.State(ft.name)
			got = append(got, counts{st.Healthy, st.Passes, st.Fails})
		}
		want := []counts{{true, 0, 1}, {false, 0, 0}, {false, 1, 0}, {false, 2, 0}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("states (-want +got):\n%s", diff)
		}
	})
}

func TestFirstCheckOneIntervalAfterStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := &pipeNet{}
		ft := newTarget(t, "http://h:8080/app", Check{Method: MethodGet, Interval: 10 * time.Second})
		c := &Checker{Targets: func() []Target { return []Target{ft} }, Dial: pn.Dial}
		t0 := time.Now()
		stop := start(t, c)
		defer stop()

		advance(10*time.Second - time.Millisecond)
		if n := pn.dialCount("h:8080"); n != 0 {
			t.Fatalf("%d checks before one interval", n)
		}
		st, ok := c.State(ft.name)
		if !ok || !st.Healthy || st.Last != (Result{}) {
			t.Fatalf("State before the first check = %+v, %v", st, ok)
		}
		advance(time.Millisecond)
		res := ft.results()
		if len(res) != 1 || !res[0].Time.Equal(t0.Add(10*time.Second)) || !res[0].Passed {
			t.Fatalf("after one interval: %+v, want one pass at +10s", res)
		}

		// The next check is one (current) interval after the last one ended.
		ft.set(func(f *fakeTarget) { f.chk.Interval = 2 * time.Second })
		advance(2 * time.Second)
		if res := ft.results(); len(res) != 2 || !res[1].Time.Equal(t0.Add(12*time.Second)) {
			t.Fatalf("after a 2s interval: %+v, want a second check at +12s", res)
		}
	})
}

func TestStoppedSkippedDisabledChecked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := &pipeNet{}
		chk := Check{Method: MethodTCP, Interval: time.Second}
		stopped := newTarget(t, "http://stopped", chk)
		stopped.stopped = true
		disabled := newTarget(t, "http://disabled", chk)
		disabled.disabled = true
		c := &Checker{Targets: func() []Target { return []Target{stopped, disabled} }, Dial: pn.Dial}
		stop := start(t, c)
		defer stop()

		advance(3 * time.Second)
		if n := pn.dialCount("stopped:80"); n != 0 {
			t.Errorf("stopped member checked %d times", n)
		}
		if n := pn.dialCount("disabled:80"); n != 3 {
			t.Errorf("disabled member checked %d times, want 3", n)
		}

		// Once started again it is due at once: its interval has long passed.
		stopped.set(func(f *fakeTarget) { f.stopped = false })
		advance(tickInterval)
		if n := pn.dialCount("stopped:80"); n != 1 {
			t.Errorf("restarted member checked %d times, want 1", n)
		}
	})
}

func TestMethodNoneAndInvalidNotChecked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := &pipeNet{}
		none := newTarget(t, "http://none", Check{Interval: time.Second})
		bad := newTarget(t, "http://bad", Check{Method: MethodGet, Interval: 50 * time.Millisecond})
		c := &Checker{Targets: func() []Target { return []Target{none, bad} }, Dial: pn.Dial}
		stop := start(t, c)
		defer stop()

		advance(5 * time.Second)
		if n, m := pn.dialCount("none:80"), pn.dialCount("bad:80"); n+m != 0 {
			t.Fatalf("checks: NONE %d, invalid %d; want none", n, m)
		}
		st, ok := c.State(bad.name)
		if !ok || st.Invalid == nil || !strings.Contains(st.Invalid.Error(), "interval 50ms") {
			t.Errorf("State(bad).Invalid = %v, want an error naming interval 50ms", st.Invalid)
		}

		none.set(func(f *fakeTarget) { f.chk.Method = MethodGet11 })
		bad.set(func(f *fakeTarget) { f.chk.Interval = time.Second })
		advance(tickInterval)
		if n, m := pn.dialCount("none:80"), pn.dialCount("bad:80"); n != 1 || m != 1 {
			t.Errorf("after fixing: checks %d and %d, want 1 and 1", n, m)
		}
		if st, _ := c.State(bad.name); st.Invalid != nil {
			t.Errorf("State(bad).Invalid = %v after fixing", st.Invalid)
		}
	})
}

func TestNoPileUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := &pipeNet{hold: 10 * time.Second}
		ft := newTarget(t, "http://slow", Check{Method: MethodGet, Interval: time.Second})
		c := &Checker{Targets: func() []Target { return []Target{ft} }, Dial: pn.Dial}
		stop := start(t, c)
		defer stop()

		// Checks start at 1s (ends 11s), 12s (ends 22s) and 23s.
		advance(25 * time.Second)
		if n := pn.dialCount("slow:80"); n != 3 {
			t.Errorf("%d checks in 25s, want 3", n)
		}
		if m := pn.maxConcurrent(); m != 1 {
			t.Errorf("%d checks of one member at once, want 1", m)
		}
		if st, _ := c.State(ft.name); !st.Checking {
			t.Error("State.Checking = false during the third check")
		}
		for i, r := range ft.results() {
			if r.Duration != 10*time.Second || !r.Passed {
				t.Errorf("result %d: %+v, want a pass taking 10s", i, r)
			}
		}
	})
}

func TestLimit(t *testing.T) {
	tests := []struct {
		limit, targets, want int
	}{
		{limit: 4, targets: 20, want: 4},
		{limit: 0, targets: 40, want: DefaultLimit},
		{limit: 1, targets: 3, want: 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("limit %d", tt.limit), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pn := &pipeNet{hold: time.Second}
				var ts []Target
				var fts []*fakeTarget
				for i := range tt.targets {
					ft := newTarget(t, fmt.Sprintf("http://m%d", i), Check{Method: MethodGet, Interval: time.Second})
					ts = append(ts, ft)
					fts = append(fts, ft)
				}
				c := &Checker{Targets: func() []Target { return ts }, Dial: pn.Dial, Limit: tt.limit}
				stop := start(t, c)
				defer stop()

				// Enough for every member to be checked once at the limit.
				advance(time.Duration(2+2*tt.targets/tt.want) * time.Second)
				if m := pn.maxConcurrent(); m != tt.want {
					t.Errorf("max concurrent checks = %d, want %d", m, tt.want)
				}
				for _, ft := range fts {
					if len(ft.results()) == 0 {
						t.Errorf("%s never checked", ft.name)
					}
				}
			})
		})
	}
}

func TestRunReturnsOnCancel(t *testing.T) {
	tests := []struct {
		name string
		net  *pipeNet
	}{
		{"check in dial", &pipeNet{hold: time.Hour}},
		{"check waiting for the response", &pipeNet{respond: func(string, int) string { return "hang" }}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ft := newTarget(t, "http://h", Check{Method: MethodGet11, Interval: time.Second, Timeout: time.Hour})
				c := &Checker{Targets: func() []Target { return []Target{ft} }, Dial: tt.net.Dial}
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error, 1)
				go func() { done <- c.Run(ctx) }()

				advance(2 * time.Second)
				if st, _ := c.State(ft.name); !st.Checking {
					t.Fatal("no check running before cancel")
				}
				t0 := time.Now()
				cancel()
				synctest.Wait()
				select {
				case err := <-done:
					if !errors.Is(err, context.Canceled) {
						t.Errorf("Run = %v, want context.Canceled", err)
					}
				default:
					t.Fatal("Run still running after cancel")
				}
				if !time.Now().Equal(t0) {
					t.Errorf("Run took %v to return", time.Since(t0))
				}
				// A check cut short by the end of Run is neither counted nor
				// reported.
				if res := ft.results(); len(res) != 0 {
					t.Errorf("reports after cancel: %+v", res)
				}
				if st, _ := c.State(ft.name); st.Checking || st.Last != (Result{}) || st.Fails != 0 {
					t.Errorf("State after cancel = %+v", st)
				}
				// synctest.Test fails if any goroutine of the bubble is left.
			})
		})
	}
}

func TestMembershipChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := &pipeNet{}
		chk := Check{Method: MethodOptions, Interval: 10 * time.Second}
		a, b := newTarget(t, "http://a", chk), newTarget(t, "http://b", chk)
		var list targetList
		list.set(a)
		c := &Checker{Targets: list.get, Dial: pn.Dial}
		stop := start(t, c)
		defer stop()

		advance(5 * time.Second)
		list.set(a, b) // b is first seen by the tick at 5.1s: due at 15.1s
		advance(5 * time.Second)
		if na, nb := pn.dialCount("a:80"), pn.dialCount("b:80"); na != 1 || nb != 0 {
			t.Fatalf("at 10s: a %d, b %d checks; want 1, 0", na, nb)
		}
		advance(5 * time.Second)
		if nb := pn.dialCount("b:80"); nb != 0 {
			t.Fatalf("at 15s: b %d checks; want 0", nb)
		}
		advance(tickInterval)
		if nb := pn.dialCount("b:80"); nb != 1 {
			t.Fatalf("at 15.1s: b %d checks; want 1", nb)
		}

		list.set(b)
		advance(tickInterval)
		if _, ok := c.State(a.name); ok {
			t.Error("State(a) still present after a was removed")
		}
		advance(20 * time.Second)
		if na, nb := pn.dialCount("a:80"), pn.dialCount("b:80"); na != 1 || nb != 3 {
			t.Errorf("at 35.2s: a %d, b %d checks; want 1, 3", na, nb)
		}
	})
}

func TestDuplicateNamesCheckedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := &pipeNet{}
		chk := Check{Method: MethodHead11, Interval: time.Second}
		a1, a2 := newTarget(t, "http://a", chk), newTarget(t, "http://a", chk)
		c := &Checker{Targets: func() []Target { return []Target{a1, a2, nil} }, Dial: pn.Dial}
		stop := start(t, c)
		defer stop()

		advance(3 * time.Second)
		if n := pn.dialCount("a:80"); n != 3 {
			t.Errorf("%d checks of one name in 3 intervals, want 3", n)
		}
		if len(a2.results()) != 0 {
			t.Error("the second target of a name was checked")
		}
	})
}

func TestCheckFailures(t *testing.T) {
	tests := []struct {
		name     string
		chk      Check
		respond  string
		wantErr  error  // matched with errors.Is, if set
		wantText string // in the error text
		wantDur  time.Duration
	}{
		{
			name:     "timeout",
			chk:      Check{Method: MethodGet, URI: "health", Timeout: 2 * time.Second},
			respond:  "hang",
			wantErr:  context.DeadlineExceeded,
			wantText: "GET /health (h:80)",
			wantDur:  2 * time.Second,
		},
		{
			name:     "closed without a response",
			chk:      Check{Method: MethodHead},
			respond:  "",
			wantText: "HEAD / (h:80)",
		},
		{
			name:     "not HTTP",
			chk:      Check{Method: MethodGet},
			respond:  "SSH-2.0-OpenSSH\r\n\r\n",
			wantText: "malformed HTTP",
		},
		{
			name:     "short body",
			chk:      Check{Method: MethodGet11},
			respond:  "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
			wantText: "body: unexpected EOF",
		},
		{
			name:     "status",
			chk:      Check{Method: MethodGet},
			respond:  status(503),
			wantText: "GET / (h:80): status 503: want 200-399",
		},
		{
			name:     "Expect false",
			chk:      Check{Method: MethodGet, Expect: func(r *Response) bool { return r.StatusCode == 204 }},
			respond:  status(200),
			wantText: "status 200: Expect returned false",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pn := &pipeNet{respond: func(string, int) string { return tt.respond }}
				tt.chk.Interval = time.Second
				ft := newTarget(t, "http://h", tt.chk)
				c := &Checker{Targets: func() []Target { return []Target{ft} }, Dial: pn.Dial}
				stop := start(t, c)
				advance(time.Second + tt.wantDur)
				stop()

				res := ft.results()
				if len(res) != 1 {
					t.Fatalf("%d results, want 1", len(res))
				}
				r := res[0]
				if r.Passed || r.Err == nil {
					t.Fatalf("result %+v, want a failure", r)
				}
				if tt.wantErr != nil && !errors.Is(r.Err, tt.wantErr) {
					t.Errorf("Err = %v, want %v", r.Err, tt.wantErr)
				}
				if !strings.HasPrefix(r.Err.Error(), "healthcheck: ") || !strings.Contains(r.Err.Error(), tt.wantText) {
					t.Errorf("Err = %q, want it to contain %q", r.Err, tt.wantText)
				}
				if r.Duration != tt.wantDur {
					t.Errorf("Duration = %v, want %v", r.Duration, tt.wantDur)
				}
			})
		})
	}
}

func TestDialError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		refused := errors.New("connection refused")
		ft := newTarget(t, "http://h:81", Check{Method: MethodTCP, Interval: time.Second})
		c := &Checker{
			Targets: func() []Target { return []Target{ft} },
			Dial: func(context.Context, string, string) (net.Conn, error) {
				return nil, refused
			},
		}
		stop := start(t, c)
		advance(time.Second)
		stop()
		res := ft.results()
		if len(res) != 1 || res[0].Passed || !errors.Is(res[0].Err, refused) || res[0].Healthy || !res[0].Changed {
			t.Fatalf("results = %+v, want one failure wrapping the dial error that puts the member down", res)
		}
		if want := "healthcheck: TCP h:81: connection refused"; res[0].Err.Error() != want {
			t.Errorf("Err = %q, want %q", res[0].Err, want)
		}
	})
}

func TestRunErrors(t *testing.T) {
	targets := func() []Target { return nil }
	tests := []struct {
		name string
		c    *Checker
		want string
	}{
		{"no targets", &Checker{}, "healthcheck: Targets: must not be nil"},
		{"negative limit", &Checker{Targets: targets, Limit: -1}, "healthcheck: limit -1: must be >= 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Run(t.Context())
			if err == nil || err.Error() != tt.want {
				t.Errorf("Run = %v, want %q", err, tt.want)
			}
		})
	}
	t.Run("already running", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := &Checker{Targets: targets}
			stop := start(t, c)
			synctest.Wait()
			if err := c.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "already running") {
				t.Errorf("second Run = %v, want an error", err)
			}
			stop()
			// Run may run again once it has returned.
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			if err := c.Run(ctx); !errors.Is(err, context.Canceled) {
				t.Errorf("Run after Run = %v, want context.Canceled", err)
			}
		})
	})
}
