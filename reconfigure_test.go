package balancer_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"reflect"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/lbmethod"
	"github.com/proxybalancer/balancer/transport"
)

// reconfigure applies fn to b, failing the test on error.
func reconfigure(t *testing.T, b *balancer.Balancer, fn func(c *balancer.Config)) {
	t.Helper()
	require.NoError(t, b.Reconfigure(func(c *balancer.Config) error { fn(c); return nil }))
}

// fetch sends one GET with an optional cookie and returns the recorder.
func fetch(b http.Handler, target, cookie string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", target, nil)
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	w := httptest.NewRecorder()
	b.ServeHTTP(w, r)
	return w
}

// errSentFailure is a transport error after the request was sent (not a dial
// error): only an idempotent retry goes elsewhere.
var errSentFailure = fmt.Errorf("read after the request was sent: %w", syscall.ECONNRESET)

// failSent answers like st, but fails after sending for host.
func failSent(st *stub, host string) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Host == host {
			return nil, errSentFailure
		}
		return st.RoundTrip(r)
	})
}

// Every Config field either takes effect on the next request after
// Reconfigure or is refused with an error naming it; reconfigureTests has
// one test per field, and TestReconfigureEveryField checks that none is
// missing.
var reconfigureTests = map[string]func(t *testing.T){
	"Name": func(t *testing.T) {
		b := mustNew(t, balancer.Config{Members: members("a"), Transport: newStub()})
		err := b.Reconfigure(func(c *balancer.Config) error { c.Name = "other"; return nil })
		assert.ErrorContains(t, err, `name "other"`)
		assert.Equal(t, "balancer://test", b.Name())
	},
	"Members": func(t *testing.T) {
		b := mustNew(t, balancer.Config{Members: members("a"), Transport: newStub()})
		reconfigure(t, b, func(c *balancer.Config) { c.Members = members("c") })
		assert.Equal(t, []string{"c", "c"}, seq(t, b, 2, nil))
	},
	"Method": func(t *testing.T) {
		var picks atomic.Int64
		first := lbmethod.MethodFunc("first", func() lbmethod.Scheduler { return firstScheduler{&picks} })
		b := mustNew(t, balancer.Config{Members: members("a", "b"), Transport: newStub()})
		assert.Equal(t, []string{"a", "b"}, seq(t, b, 2, nil))
		reconfigure(t, b, func(c *balancer.Config) { c.Method = first })
		assert.Equal(t, []string{"a", "a", "a"}, seq(t, b, 3, nil))
		assert.EqualValues(t, 3, picks.Load())
	},
	"StickySession": func(t *testing.T) {
		b := mustNew(t, balancer.Config{Members: members("a route=ra", "b route=rb"), Transport: newStub()})
		assert.Equal(t, "a", fetch(b, "/", "S=x.rb").Body.String(), "no stickiness yet")
		reconfigure(t, b, func(c *balancer.Config) { c.StickySession = "S" })
		for range 3 {
			assert.Equal(t, "b", fetch(b, "/", "S=x.rb").Body.String())
		}
	},
	"StickySessionSep": func(t *testing.T) {
		b := mustNew(t, balancer.Config{Members: members("a route=ra", "b route=rb"), StickySession: "S", Transport: newStub()})
		reconfigure(t, b, func(c *balancer.Config) { c.StickySessionSep = "_" })
		for range 3 {
			assert.Equal(t, "b", fetch(b, "/", "S=x_rb").Body.String())
		}
	},
	"ScolonPathDelim": func(t *testing.T) {
		b := mustNew(t, balancer.Config{Members: members("a route=ra", "b route=rb"), StickySession: "S", Transport: newStub()})
		r := httptest.NewRequest("GET", "/x?S=y.rb;more", nil)
		assert.Equal(t, balancer.ReasonScheduled, b.Decide(r).Reason, "route rb;more names no member")
		reconfigure(t, b, func(c *balancer.Config) { c.ScolonPathDelim = true })
		d := b.Decide(r)
		assert.Equal(t, balancer.ReasonSticky, d.Reason)
		assert.Equal(t, "http://b", d.Member)
	},
	"RoutePattern": func(t *testing.T) {
		b := mustNew(t, balancer.Config{Members: members("a route=ra", "b route=rb"), StickySession: "S", Transport: newStub()})
		reconfigure(t, b, func(c *balancer.Config) { c.RoutePattern = `^(r\w)-` })
		for range 3 {
			assert.Equal(t, "b", fetch(b, "/", "S=rb-123").Body.String())
		}
	},
	"RouteCookie": func(t *testing.T) {
		b := mustNew(t, balancer.Config{Members: members("a route=ra"), StickySession: "ROUTEID", Transport: newStub()})
		assert.Empty(t, fetch(b, "/", "").Header().Values("Set-Cookie"))
		reconfigure(t, b, func(c *balancer.Config) { c.RouteCookie = &balancer.RouteCookie{Name: "ROUTEID"} })
		assert.Equal(t, []string{"ROUTEID=.ra"}, fetch(b, "/", "").Header().Values("Set-Cookie"))
	},
	"NoFailover": func(t *testing.T) {
		b := mustNew(t, balancer.Config{Members: members("a route=ra", "b route=rb"), StickySession: "S", Transport: newStub("b")})
		assert.Equal(t, "a", fetch(b, "/", "S=x.rb").Body.String(), "fails over to a")
		reconfigure(t, b, func(c *balancer.Config) { c.NoFailover = true })
		assert.Equal(t, http.StatusServiceUnavailable, fetch(b, "/", "S=x.rb").Code)
	},
	"MaxAttempts": func(t *testing.T) {
		b := mustNew(t, balancer.Config{Members: members("a", "b", "c"), Transport: newStub("a", "b")})
		reconfigure(t, b, func(c *balancer.Config) { c.MaxAttempts = -1 })
		assert.Equal(t, []string{"Service Unavailable"}, seq(t, b, 1, nil), "a fails, no failover")
		reconfigure(t, b, func(c *balancer.Config) { c.MaxAttempts = 0 })
		assert.Equal(t, []string{"c"}, seq(t, b, 1, nil), "b fails, over to c")
	},
	"Timeout": func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := mustNew(t, balancer.Config{Members: members("a status=S"), Transport: newStub()})
			start := time.Now()
			assert.Equal(t, http.StatusServiceUnavailable, fetch(b, "/", "").Code)
			assert.Zero(t, time.Since(start), "no wait without Timeout")
			reconfigure(t, b, func(c *balancer.Config) { c.Timeout = 5 * time.Second })
			start = time.Now()
			assert.Equal(t, http.StatusServiceUnavailable, fetch(b, "/", "").Code)
			assert.Equal(t, 5*time.Second, time.Since(start), "waited for a usable member")
		})
	},
	"FailOnStatus": func(t *testing.T) {
		b := mustNew(t, balancer.Config{Members: members("a"), Transport: newStub()})
		seq(t, b, 1, nil)
		assert.False(t, b.Members()[0].Status.Has(balancer.StatusError))
		reconfigure(t, b, func(c *balancer.Config) { c.FailOnStatus = []int{200} })
		seq(t, b, 1, nil)
		assert.True(t, b.Members()[0].Status.Has(balancer.StatusError))
	},
	"FailOnTimeout": func(t *testing.T) {
		timeout := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			return nil, fmt.Errorf("no response headers in time: %w", transport.ErrTimeout)
		})
		b := mustNew(t, balancer.Config{Members: members("a"), Transport: timeout})
		seq(t, b, 1, nil)
		assert.False(t, b.Members()[0].Status.Has(balancer.StatusError))
		reconfigure(t, b, func(c *balancer.Config) { c.FailOnTimeout = true })
		seq(t, b, 1, nil)
		assert.True(t, b.Members()[0].Status.Has(balancer.StatusError))
	},
	"DisableIdempotentRetry": func(t *testing.T) {
		b := mustNew(t, balancer.Config{Members: members("a", "b"), Transport: failSent(newStub(), "a")})
		assert.Equal(t, []string{"b"}, seq(t, b, 1, nil), "retried on b")
		reconfigure(t, b, func(c *balancer.Config) { c.DisableIdempotentRetry = true })
		assert.Equal(t, []string{"b", "Bad Gateway"}, seq(t, b, 2, nil), "b, then a fails")
	},
	"IsIdempotent": func(t *testing.T) {
		b := mustNew(t, balancer.Config{Members: members("a", "b"), Transport: failSent(newStub(), "a")})
		assert.Equal(t, []string{"b"}, seq(t, b, 1, nil), "retried on b")
		reconfigure(t, b, func(c *balancer.Config) { c.IsIdempotent = func(*http.Request) bool { return false } })
		assert.Equal(t, []string{"b", "Bad Gateway"}, seq(t, b, 2, nil), "b, then a fails")
	},
	"RetryBudget": func(t *testing.T) {
		// One request in flight and no minimum: a share of 0.4 allows no
		// retry, a share of 1 allows one.
		b := mustNew(t, balancer.Config{Members: members("a", "b"), RetryBudgetMin: -1, Transport: failSent(newStub(), "a")})
		assert.Equal(t, []string{"Bad Gateway"}, seq(t, b, 1, nil), "0.4 of one request")
		reconfigure(t, b, func(c *balancer.Config) { c.RetryBudget = 1 })
		assert.Equal(t, []string{"b", "b"}, seq(t, b, 2, nil), "all of one request: retried")
	},
	"PerTryTimeout": func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			tr := &slowMembers{delay: map[string]time.Duration{"a": 2 * time.Second, "b": 0}}
			b := mustNew(t, balancer.Config{Members: members("a", "b"), Transport: tr})
			assert.Equal(t, []string{"a:", "b:"}, seq(t, b, 2, nil), "a answers late, alone")
			reconfigure(t, b, func(c *balancer.Config) { c.PerTryTimeout = time.Second })
			assert.Equal(t, []string{"b:"}, seq(t, b, 1, nil), "a is late: b asked too")
			synctest.Wait()
		})
	},
	"Outlier": func(t *testing.T) {
		tr := newStatusMembers(map[string]func(int) int{"a": always(500)})
		b := mustNew(t, balancer.Config{Members: members("a", "b"), Transport: tr})
		seq(t, b, 12, nil)
		assert.Empty(t, ejected(b), "no detection: six 500s from a")
		reconfigure(t, b, func(c *balancer.Config) { c.Outlier = &balancer.OutlierDetection{MaxEjectionPercent: 50} })
		seq(t, b, 10, nil)
		assert.Equal(t, []string{"http://a"}, ejected(b), "five 500s in a row")
	},
	"PanicThreshold": func(t *testing.T) {
		b := mustNew(t, balancer.Config{Members: members("a", "b"), Transport: newStub()})
		require.NoError(t, b.SetStatus("http://a", balancer.StatusError, 0))
		assert.Equal(t, []string{"b", "b"}, seq(t, b, 2, nil))
		reconfigure(t, b, func(c *balancer.Config) { c.PanicThreshold = 0.6 })
		assert.ElementsMatch(t, []string{"a", "b"}, seq(t, b, 2, nil), "one of two usable: panic")
	},
	"RetryBudgetMin": func(t *testing.T) {
		b := mustNew(t, balancer.Config{Members: members("a", "b"), Transport: failSent(newStub(), "a")})
		assert.Equal(t, []string{"b"}, seq(t, b, 1, nil), "the default minimum allows a retry")
		reconfigure(t, b, func(c *balancer.Config) { c.RetryBudgetMin = -1 })
		assert.Equal(t, []string{"b", "Bad Gateway"}, seq(t, b, 2, nil), "b, then a fails: no minimum")
	},
	"ReplayBuffer": func(t *testing.T) {
		// a reads the body, then the connection is lost.
		st := newStub()
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.URL.Host == "a" {
				io.Copy(io.Discard, r.Body)
				return nil, errSentFailure
			}
			return st.RoundTrip(r)
		})
		put := func(r *http.Request) {
			r.Method = http.MethodPut
			r.Header.Set("Idempotency-Key", "k")
			r.Body = io.NopCloser(strings.NewReader("body"))
			r.ContentLength = 4
		}
		b := mustNew(t, balancer.Config{Members: members("a", "b"), Transport: rt})
		assert.Equal(t, []string{"b"}, seq(t, b, 1, put), "the body was kept and re-sent")
		reconfigure(t, b, func(c *balancer.Config) { c.ReplayBuffer = -1 })
		assert.Equal(t, []string{"b", "Bad Gateway"}, seq(t, b, 2, put), "b, then a fails: nothing kept")
	},
	"DisableForceRecovery": func(t *testing.T) {
		b := mustNew(t, balancer.Config{Members: members("a", "b"), Transport: newStub()})
		errorState := func() {
			for _, m := range []string{"http://a", "http://b"} {
				require.NoError(t, b.SetStatus(m, balancer.StatusError, 0))
			}
		}
		errorState()
		assert.Equal(t, []string{"a"}, seq(t, b, 1, nil), "forced recovery")
		errorState()
		reconfigure(t, b, func(c *balancer.Config) { c.DisableForceRecovery = true })
		assert.Equal(t, []string{"Service Unavailable"}, seq(t, b, 1, nil))
	},
	"Transport": func(t *testing.T) {
		one, two := newStub(), newStub()
		b := mustNew(t, balancer.Config{Members: members("a"), Transport: one})
		seq(t, b, 1, nil)
		reconfigure(t, b, func(c *balancer.Config) { c.Transport = two })
		seq(t, b, 2, nil)
		assert.Len(t, one.Attempts(), 1)
		assert.Len(t, two.Attempts(), 2)
	},
	"WrapTransport": func(t *testing.T) {
		var wrapped atomic.Int64
		b := mustNew(t, balancer.Config{Members: members("a"), Transport: newStub()})
		seq(t, b, 1, nil)
		reconfigure(t, b, func(c *balancer.Config) {
			c.WrapTransport = func(member string, rt http.RoundTripper) http.RoundTripper {
				return roundTripFunc(func(r *http.Request) (*http.Response, error) {
					wrapped.Add(1)
					return rt.RoundTrip(r)
				})
			}
		})
		seq(t, b, 2, nil)
		assert.EqualValues(t, 2, wrapped.Load())
		reconfigure(t, b, func(c *balancer.Config) { c.NoFailover = true })
		seq(t, b, 1, nil)
		assert.EqualValues(t, 3, wrapped.Load(), "kept by an unrelated change")
		reconfigure(t, b, func(c *balancer.Config) { c.WrapTransport = nil })
		seq(t, b, 1, nil)
		assert.EqualValues(t, 3, wrapped.Load(), "unwrapped")
	},
	"Rewrite": func(t *testing.T) {
		st := newStub()
		b := mustNew(t, balancer.Config{Members: members("a"), Transport: st})
		reconfigure(t, b, func(c *balancer.Config) {
			c.Rewrite = func(pr *httputil.ProxyRequest) { pr.Out.Header.Set("X-Rewritten", "yes") }
		})
		seq(t, b, 1, nil)
		assert.Equal(t, "yes", st.Last().Header.Get("X-Rewritten"))
	},
	"ModifyResponse": func(t *testing.T) {
		b := mustNew(t, balancer.Config{Members: members("a"), Transport: newStub()})
		reconfigure(t, b, func(c *balancer.Config) {
			c.ModifyResponse = func(res *http.Response) error { res.Header.Set("X-Modified", "yes"); return nil }
		})
		assert.Equal(t, "yes", fetch(b, "/", "").Header().Get("X-Modified"))
	},
	"ErrorHandler": func(t *testing.T) {
		b := mustNew(t, balancer.Config{Members: members("a status=D"), Transport: newStub()})
		reconfigure(t, b, func(c *balancer.Config) {
			c.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) { w.WriteHeader(http.StatusTeapot) }
		})
		assert.Equal(t, http.StatusTeapot, fetch(b, "/", "").Code)
	},
	"FlushInterval": func(t *testing.T) {
		b := mustNew(t, balancer.Config{Members: members("a"), Transport: newStub()})
		assert.False(t, fetch(b, "/", "").Flushed)
		reconfigure(t, b, func(c *balancer.Config) { c.FlushInterval = -1 })
		assert.True(t, fetch(b, "/", "").Flushed, "flushed after every write")
	},
	"ErrorLog": func(t *testing.T) {
		broken := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 200, Header: http.Header{}, Request: r,
				Body: io.NopCloser(io.MultiReader(strings.NewReader("part"), errReader{}))}, nil
		})
		b := mustNew(t, balancer.Config{Members: members("a"), Transport: broken})
		var buf bytes.Buffer
		reconfigure(t, b, func(c *balancer.Config) { c.ErrorLog = log.New(&buf, "", 0) })
		fetch(b, "/", "")
		assert.Contains(t, buf.String(), "body copy")
	},
	"SlowStart": func(t *testing.T) {
		clk := newClock()
		b := mustNew(t, balancer.Config{Members: members("a", "b"), Transport: newStub(), Now: clk.Now})
		reconfigure(t, b, func(c *balancer.Config) {
			c.SlowStart = time.Hour
			c.Members = members("a", "b", "c")
		})
		n := 0
		for _, h := range seq(t, b, 300, nil) {
			if h == "c" {
				n++
			}
		}
		assert.LessOrEqual(t, n, 3, "c ramps from 1%%: %d of 300", n)
	},
	"Logger": func(t *testing.T) {
		b := mustNew(t, balancer.Config{Members: members("a"), Transport: newStub()})
		var buf bytes.Buffer
		reconfigure(t, b, func(c *balancer.Config) {
			c.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		})
		seq(t, b, 1, nil)
		assert.Contains(t, buf.String(), "balancer decision")
	},
	"Observer": func(t *testing.T) {
		b := mustNew(t, balancer.Config{Members: members("a"), Transport: newStub()})
		var ev events
		reconfigure(t, b, func(c *balancer.Config) { c.Observer = ev.observer() })
		seq(t, b, 1, nil)
		assert.Len(t, ev.picked, 1)
		assert.Len(t, ev.done, 1)
	},
	"Now": func(t *testing.T) {
		clk := newClock()
		b := mustNew(t, balancer.Config{Members: members("a"), Transport: newStub(), Now: clk.Now})
		other := newClock()
		err := b.Reconfigure(func(c *balancer.Config) error { c.Now = other.Now; return nil })
		assert.ErrorContains(t, err, "now:")
		err = b.Reconfigure(func(c *balancer.Config) error { c.Now = nil; return nil })
		assert.ErrorContains(t, err, "now:")
		b2 := mustNew(t, balancer.Config{Members: members("a"), Transport: newStub()})
		err = b2.Reconfigure(func(c *balancer.Config) error { c.Now = clk.Now; return nil })
		assert.ErrorContains(t, err, "now:")
		// Leaving it (or calling it) is no change.
		require.NoError(t, b.Reconfigure(func(c *balancer.Config) error { _ = c.Now(); c.NoFailover = true; return nil }))
		assert.Equal(t, clk.Now(), b.Config().Now(), "Config reports the clock given to New")
	},
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("member went away") }

// firstScheduler picks the first candidate and counts its picks.
type firstScheduler struct{ picks *atomic.Int64 }

func (f firstScheduler) Pick([]*lbmethod.Member) int                  { f.picks.Add(1); return 0 }
func (firstScheduler) StickyHit(*lbmethod.Member, []*lbmethod.Member) {}
func (firstScheduler) Done(*lbmethod.Member, lbmethod.DoneInfo)       {}
func (firstScheduler) Reset([]*lbmethod.Member)                       {}

func TestReconfigureEveryField(t *testing.T) {
	ct := reflect.TypeFor[balancer.Config]()
	for i := range ct.NumField() {
		name := ct.Field(i).Name
		test, ok := reconfigureTests[name]
		if !assert.True(t, ok, "Config.%s has no Reconfigure test", name) {
			continue
		}
		t.Run(name, test)
	}
}

// An Update after a Reconfigure keeps what Reconfigure set: hooks live in
// the configuration, not in the balancer.
func TestReconfigureThenUpdateKeepsHooks(t *testing.T) {
	b := mustNew(t, balancer.Config{Members: members("a"), Transport: newStub()})
	reconfigure(t, b, func(c *balancer.Config) {
		c.ModifyResponse = func(res *http.Response) error { res.Header.Set("X-Modified", "yes"); return nil }
	})
	require.NoError(t, b.Update(members("b")))
	w := fetch(b, "/", "")
	assert.Equal(t, "b", w.Body.String())
	assert.Equal(t, "yes", w.Header().Get("X-Modified"))
}
