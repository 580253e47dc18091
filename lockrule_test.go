package balancer_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/healthcheck"
)

// The lock rule: no user callback and no logging runs under a balancer
// lock. These tests call back into the balancer from an Observer and from
// a log handler while a member's flags change; before the rule they hung.

// within runs f and fails the test if it has not returned when the
// deadline passes (a deadlock): the goroutine is left behind, blocked.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatalf("%s did not return: a callback ran under a balancer lock and called back into the balancer", what)
	}
}

// reentrant records what the balancer looked like from inside callbacks.
type reentrant struct {
	mu   sync.Mutex
	b    *balancer.Balancer
	seen []string // per callback: the event, then what the member's flags were from inside
}

func (re *reentrant) look(what, member string) {
	b := re.b
	flags := "?"
	for _, m := range b.Members() { // takes the selection lock
		if m.URL == member {
			flags = m.Status.String()
		}
	}
	b.Decide(httptest.NewRequest("GET", "/", nil)) // takes the selection lock
	_ = b.Config()                                 // takes the configuration lock
	re.mu.Lock()
	re.seen = append(re.seen, what+" "+member+" "+flags)
	re.mu.Unlock()
}

func (re *reentrant) observer() *balancer.Observer {
	return &balancer.Observer{StateChanged: func(ev balancer.StateEvent) {
		re.look("state("+ev.Why+")", ev.Member)
	}}
}

func (re *reentrant) got() []string {
	re.mu.Lock()
	defer re.mu.Unlock()
	return append([]string(nil), re.seen...)
}

// reentrantHandler is a slog.Handler that calls back into the balancer
// for every record about a member.
type reentrantHandler struct{ re *reentrant }

func (h reentrantHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h reentrantHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h reentrantHandler) WithGroup(string) slog.Handler            { return h }
func (h reentrantHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "member state changed" {
		var member, why string
		r.Attrs(func(a slog.Attr) bool {
			switch a.Key {
			case "member":
				member = a.Value.String()
			case "why":
				why = a.Value.String()
			}
			return true
		})
		h.re.look("log("+why+")", member)
	}
	if r.Message == "balancer configuration" {
		h.re.look("warning", "")
	}
	return nil
}

// A member leaves error state during selection (its retry passed): the
// Observer and the logger see the change after it is made, and can read
// the balancer.
func TestLockRuleRetryPassed(t *testing.T) {
	clk := newClock()
	st := newStub("a")
	re := &reentrant{}
	re.b = mustNew(t, balancer.Config{Members: members("a", "b"), Transport: st, Now: clk.Now,
		Observer: re.observer(), Logger: slog.New(reentrantHandler{re})})
	within(t, "ServeHTTP putting a into error state", func() { seq(t, re.b, 2, nil) })
	st.SetDead("a", false)
	clk.Advance(balancer.DefaultRetry + time.Second)
	within(t, "ServeHTTP while a leaves error state", func() { seq(t, re.b, 2, nil) })
	assert.Equal(t, []string{
		"state(connection failed) http://a Init Err",
		"log(connection failed) http://a Init Err",
		"state(retry passed) http://a Init Ok",
		"log(retry passed) http://a Init Ok",
	}, re.got())
}

// Every member is in error state: forced recovery clears them all at once.
func TestLockRuleForcedRecovery(t *testing.T) {
	st := newStub("a", "b")
	re := &reentrant{}
	re.b = mustNew(t, balancer.Config{Members: members("a", "b"), Transport: st, Observer: re.observer()})
	within(t, "ServeHTTP putting a and b into error state", func() { seq(t, re.b, 1, nil) })
	require.Len(t, re.got(), 2)
	st.SetDead("a", false)
	st.SetDead("b", false)
	within(t, "ServeHTTP with forced recovery", func() {
		got := seq(t, re.b, 1, nil)
		assert.Contains(t, []string{"a", "b"}, got[0], "served after forced recovery")
	})
	assert.Equal(t, []string{
		"state(connection failed) http://a Init Err",
		"state(connection failed) http://b Init Err",
		"state(forced recovery) http://a Init Ok",
		"state(forced recovery) http://b Init Ok",
	}, re.got())
}

// Update and Reconfigure change flags and log warnings while they hold the
// configuration lock; the reports come after it is released.
func TestLockRuleConfiguration(t *testing.T) {
	re := &reentrant{}
	re.b = mustNew(t, balancer.Config{Members: members("a status=D", "b"), Transport: newStub(),
		Observer: re.observer(), Logger: slog.New(reentrantHandler{re})})
	within(t, "Update enabling a", func() { require.NoError(t, re.b.Update(members("a", "b"))) })
	within(t, "Reconfigure with a warning", func() {
		require.NoError(t, re.b.Reconfigure(func(c *balancer.Config) error {
			c.Members = append(c.Members, balancer.Member{URL: "http://c/"})
			return nil
		}))
	})
	assert.Equal(t, []string{
		"state(configuration) http://a Init Ok",
		"log(configuration) http://a Init Ok",
		"warning  ?",
	}, re.got())
}

// Decide is the plan of a request without its commit: before each request
// it names the member the request then goes to, through retries passing,
// forced recovery and sticky routes, and changes nothing itself.
func TestDecideIsThePlan(t *testing.T) {
	clk := newClock()
	st := newStub()
	b := mustNew(t, balancer.Config{Members: members("a route=ra", "b route=rb", "c route=rc lbset=1"), StickySession: "S",
		Transport: st, Now: clk.Now})
	cookies := []string{"", "S=x.ra", "S=x.rb", "S=x.rc", "", ""}
	step := func(phase string) {
		for i, c := range cookies {
			r := httptest.NewRequest("GET", "/", nil)
			if c != "" {
				r.Header.Set("Cookie", c)
			}
			before := b.Members()
			d := b.Decide(r)
			require.Equal(t, before, b.Members(), "%s %d: Decide changed the members", phase, i)
			w := httptest.NewRecorder()
			b.ServeHTTP(w, r)
			want := "Service Unavailable"
			if d.Member != "" {
				want = d.Member[len("http://"):]
			}
			got := w.Body.String()
			if w.Code != 200 {
				got = http.StatusText(w.Code)
			}
			assert.Equal(t, want, strings.TrimSpace(got), "%s %d (cookie %q): Decide said %+v", phase, i, c, d)
		}
	}
	step("all up")
	for _, h := range []string{"a", "b"} {
		require.NoError(t, b.SetStatus("http://"+h, balancer.StatusError, 0))
	}
	step("a and b in error")
	clk.Advance(balancer.DefaultRetry + time.Second)
	step("a and b's retry passed")
	for _, h := range []string{"a", "b", "c"} {
		require.NoError(t, b.SetStatus("http://"+h, balancer.StatusError, 0))
	}
	step("forced recovery")
}

// Reconfigure's function runs without a lock: it may read the balancer,
// and a change landing while it runs makes it run again on the newer
// configuration instead of being lost.
func TestReconfigureFuncUnlocked(t *testing.T) {
	b := mustNew(t, balancer.Config{Members: members("a", "b"), Transport: newStub()})
	calls := 0
	within(t, "Reconfigure calling the balancer", func() {
		require.NoError(t, b.Reconfigure(func(c *balancer.Config) error {
			calls++
			_ = b.Config()
			_ = b.Members()
			if calls == 1 {
				require.NoError(t, b.Update(members("a", "b", "c")))
			}
			c.NoFailover = true
			return nil
		}))
	})
	assert.Equal(t, 2, calls, "run again after the Update")
	cfg := b.Config()
	assert.True(t, cfg.NoFailover)
	assert.Len(t, cfg.Members, 3, "the Update is kept")
}

// Every Observer callback may call back into the balancer: each reads it
// (Members, Decide, Config, State) from inside, for a request that fails
// over (Picked, StateChanged, Retried, Done) and for health checks
// (HealthChecked, StateChanged).
func TestLockRuleEveryObserverCallback(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	var b *balancer.Balancer
	var mu sync.Mutex
	called := map[string]int{}
	read := func(what string) {
		_ = b.Members()
		b.Decide(httptest.NewRequest("GET", "/", nil))
		_ = b.Config()
		_ = b.State()
		mu.Lock()
		called[what]++
		mu.Unlock()
	}
	checked := make(chan struct{}, 1)
	obs := &balancer.Observer{
		Picked:       func(balancer.PickEvent) { read("Picked") },
		Retried:      func(balancer.RetryEvent) { read("Retried") },
		StateChanged: func(balancer.StateEvent) { read("StateChanged") },
		Done:         func(balancer.DoneEvent) { read("Done") },
		HealthChecked: func(balancer.HealthEvent) {
			read("HealthChecked")
			select {
			case checked <- struct{}{}:
			default:
			}
		},
	}
	b = mustNew(t, balancer.Config{Members: append(members("a"), balancer.Member{URL: srv.URL,
		HealthCheck: healthcheck.Check{Method: healthcheck.MethodTCP, Interval: healthcheck.MinInterval}}),
		Transport: failDial(newStub("a"), srv), Observer: obs})
	within(t, "a request failing over", func() { seq(t, b, 1, nil) })
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- b.RunHealthChecks(ctx) }()
	within(t, "a health check", func() { <-checked })
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	for _, cb := range []string{"Picked", "Retried", "StateChanged", "Done", "HealthChecked"} {
		assert.Positive(t, called[cb], "%s was not called", cb)
	}
}

// failDial is st for hosts other than srv's, whose requests go to srv.
func failDial(st *stub, srv *httptest.Server) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if "http://"+r.URL.Host == srv.URL {
			return http.DefaultTransport.RoundTrip(r)
		}
		return st.RoundTrip(r)
	})
}
