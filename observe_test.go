package balancer_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/proxybalancer/balancer"
)

type events struct {
	mu     sync.Mutex
	picked []balancer.PickEvent
	retry  []balancer.RetryEvent
	state  []balancer.StateEvent
	done   []balancer.DoneEvent
}

func (e *events) observer() *balancer.Observer {
	return &balancer.Observer{
		Picked:       func(ev balancer.PickEvent) { e.mu.Lock(); e.picked = append(e.picked, ev); e.mu.Unlock() },
		Retried:      func(ev balancer.RetryEvent) { e.mu.Lock(); e.retry = append(e.retry, ev); e.mu.Unlock() },
		StateChanged: func(ev balancer.StateEvent) { e.mu.Lock(); e.state = append(e.state, ev); e.mu.Unlock() },
		Done:         func(ev balancer.DoneEvent) { e.mu.Lock(); e.done = append(e.done, ev); e.mu.Unlock() },
	}
}

func TestObserverEvents(t *testing.T) {
	var ev events
	b := mustNew(t, balancer.Config{Members: members("a route=ra", "b route=rb"), StickySession: "S",
		Transport: newStub("a"), Observer: ev.observer()})
	w := httptest.NewRecorder()
	b.ServeHTTP(w, httptest.NewRequest("POST", "/x", strings.NewReader("12345")))
	if w.Body.String() != "b" {
		t.Fatalf("answer %q", w.Body.String())
	}
	if len(ev.picked) != 2 || ev.picked[0].Member != "http://a" || ev.picked[0].Attempt != 0 ||
		ev.picked[1].Member != "http://b" || ev.picked[1].Attempt != 1 || ev.picked[1].Reason != balancer.ReasonScheduled {
		t.Errorf("picked: %+v", ev.picked)
	}
	if len(ev.retry) != 1 || ev.retry[0].Member != "http://a" || ev.retry[0].Sent || ev.retry[0].Err == nil {
		t.Errorf("retried: %+v", ev.retry)
	}
	if len(ev.state) != 1 || ev.state[0].Member != "http://a" || ev.state[0].To != balancer.StatusInit|balancer.StatusError ||
		ev.state[0].Why != "connection failed" {
		t.Errorf("state: %+v", ev.state)
	}
	if len(ev.done) != 1 {
		t.Fatalf("done: %+v", ev.done)
	}
	if a := b.Members()[0]; a.StatusSince.IsZero() || !a.StatusSince.Equal(a.ErrorSince) {
		t.Errorf("member a: status since %v, error since %v; want both set and equal", a.StatusSince, a.ErrorSince)
	}
	d := ev.done[0]
	if d.Member != "http://b" || d.Status != 200 || d.Attempts != 2 || d.BytesIn != 5 || d.BytesOut != 1 || d.Info.WorkerRoute != "rb" {
		t.Errorf("done: %+v", d)
	}
	// A sticky request.
	b.ServeHTTP(httptest.NewRecorder(), withCookie("S=x.rb"))
	if last := ev.picked[len(ev.picked)-1]; last.Reason != balancer.ReasonSticky || last.LBSet != -1 {
		t.Errorf("sticky pick: %+v", last)
	}
}

func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b := mustNew(t, balancer.Config{Members: members("a route=ra", "b route=rb"), StickySession: "S",
		Transport: newStub("a"), Logger: log})
	b.ServeHTTP(httptest.NewRecorder(), withCookie("S=x.ra"))
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		lines = append(lines, m)
	}
	want := []map[string]any{
		{"level": "DEBUG", "msg": "balancer decision", "member": "http://a", "reason": "sticky", "route": "ra", "sticky": "S"},
		{"level": "WARN", "msg": "member state changed", "member": "http://a", "from": "Init Ok", "to": "Init Err", "why": "connection failed"},
		{"level": "DEBUG", "msg": "balancer decision", "member": "http://b", "reason": "scheduled", "route_changed": "failover", "attempt": float64(1)},
	}
	if len(lines) != len(want) {
		t.Fatalf("log lines:\n%s", buf.String())
	}
	for i, w := range want {
		for k, v := range w {
			if lines[i][k] != v {
				t.Errorf("line %d %s = %v, want %v\n%s", i, k, lines[i][k], v, buf.String())
			}
		}
	}
}

func TestStatsCountTraffic(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("x"), 1000))
	}))
	t.Cleanup(srv.Close)
	b := mustNew(t, balancer.Config{Name: "s", Members: []balancer.Member{{URL: srv.URL}}})
	w := httptest.NewRecorder()
	b.ServeHTTP(w, httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("y", 300))))
	m := b.Members()[0]
	// Body bytes plus Apache's request line and headers / status line.
	if m.Transferred < 300 || m.Transferred > 400 || m.Read < 1000 || m.Read > 1030 {
		t.Errorf("transferred %d, read %d; want about 300+head and 1000+status line", m.Transferred, m.Read)
	}
	if m.Elected != 1 || m.Busy != 0 || m.Latency <= 0 {
		t.Errorf("elected %d busy %d latency %v", m.Elected, m.Busy, m.Latency)
	}
}

// clockTransport answers after advancing a fake clock by wait: the only
// time that passes in a request.
type clockTransport struct {
	now  *time.Time
	wait time.Duration
}

func (c clockTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	*c.now = c.now.Add(c.wait)
	return &http.Response{StatusCode: 200, ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{},
		Body: http.NoBody, Request: r}, nil
}

// The latencies a request reports are read on the configured clock: the
// member's (header) latency and the request's, for the observer and the
// member's statistics.
func TestLatencyOnInjectedClock(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var ev events
	b := mustNew(t, balancer.Config{
		Name:      "lat",
		Members:   []balancer.Member{{URL: "http://a"}},
		Now:       func() time.Time { return now },
		Transport: clockTransport{now: &now, wait: 250 * time.Millisecond},
		Observer:  ev.observer(),
	})
	for range 2 {
		w := httptest.NewRecorder()
		b.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		if w.Code != 200 {
			t.Fatalf("status %d", w.Code)
		}
	}
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if len(ev.done) != 2 {
		t.Fatalf("%d done events", len(ev.done))
	}
	for _, d := range ev.done {
		if d.Latency != 250*time.Millisecond {
			t.Errorf("DoneEvent.Latency %v, want 250ms", d.Latency)
		}
	}
	if got := b.Members()[0].Latency; got != 250*time.Millisecond {
		t.Errorf("member latency %v, want 250ms", got)
	}
}

// BenchmarkObserver shows an unset observer costs nothing: compare the
// allocations and time of the two.
func BenchmarkObserver(b *testing.B) {
	for _, withObs := range []bool{false, true} {
		name := "unset"
		var obs *balancer.Observer
		if withObs {
			name = "set"
			obs = &balancer.Observer{Picked: func(balancer.PickEvent) {}, Done: func(balancer.DoneEvent) {}}
		}
		b.Run(name, func(b *testing.B) {
			bl, err := balancer.New(balancer.Config{Name: "o", Members: members("a", "b"), Transport: staticTransport{}, Observer: obs})
			if err != nil {
				b.Fatal(err)
			}
			req := httptest.NewRequest("GET", "/", nil)
			b.ReportAllocs()
			for b.Loop() {
				bl.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}

// A request no member could take is still reported, with its 503.
func TestObserverNoMember(t *testing.T) {
	var ev events
	b := mustNew(t, balancer.Config{Members: members("a status=D"), Transport: newStub(), Observer: ev.observer()})
	b.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if len(ev.done) != 1 || ev.done[0].Status != 503 || ev.done[0].Err == nil || ev.done[0].Member != "" {
		t.Errorf("done: %+v", ev.done)
	}
}

func TestConfigWarningsLogged(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	mustNew(t, balancer.Config{
		Members: []balancer.Member{
			{URL: "http://a/app/", Route: "r1"},
			{URL: "http://b", Route: "r1", Redirect: "zz"},
		},
		StickySession: "JSESSIONID",
		RouteCookie:   &balancer.RouteCookie{Name: "ROUTEID"},
		Transport:     newStub(),
		Logger:        log,
	})
	out := buf.String()
	for _, want := range []string{
		`member \"http://a/app/\": the URL ends in '/'`,
		`route \"r1\" is also the route of \"http://a/app/\"`,
		`redirect \"zz\" names no member's route`,
		`routecookie \"ROUTEID\": not the sticky cookie \"JSESSIONID\"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "level=WARN"); n != 4 {
		t.Errorf("%d warnings, want 4:\n%s", n, out)
	}
}
