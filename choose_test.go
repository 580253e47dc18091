package balancer_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/proxybalancer/balancer"
)

// Candidate selection, spec §5.0: tiers, spares, standbys, drain.
func TestSelection(t *testing.T) {
	tests := []struct {
		name    string
		members []string
		dead    []string
		want    string // the repeating sequence of members
	}{
		{"all usable", []string{"m1", "m2"}, nil, "m1 m2 m1 m2"},
		// §5.0 verified: m1 m2 +R s1 +H h1 +R s2.
		{"spares idle while regulars usable", []string{"m1", "m2", "s1 status=+R", "h1 status=+H", "s2 status=+R"}, nil, "m1 m2 m1 m2"},
		{"one spare for one disabled", []string{"m1 status=D", "m2", "s1 status=+R", "h1 status=+H", "s2 status=+R"}, nil, "m2 s1 m2 s1"},
		{"two spares for two disabled", []string{"m1 status=D", "m2 status=D", "s1 status=+R", "h1 status=+H", "s2 status=+R"}, nil, "s1 s2 s1 s2"},
		{"second spare when first disabled", []string{"m1 status=D", "m2 status=D", "s1 status=RD", "h1 status=+H", "s2 status=+R"}, nil, "s2 s2 s2"},
		{"standby last", []string{"m1 status=D", "m2 status=D", "s1 status=RD", "h1 status=+H", "s2 status=RD"}, nil, "h1 h1 h1"},
		{"standbys share", []string{"m1 status=S", "h1 status=H", "h2 status=H"}, nil, "h1 h2 h1 h2"},
		// A hot standby in lbset 0 comes before members of lbset 1 (verified).
		{"standby before higher lbset", []string{"m1 status=D", "h1 status=H", "n1 lbset=1"}, nil, "h1 h1"},
		{"higher lbset when set 0 is empty", []string{"m1 status=D", "h1 status=HD", "n1 lbset=1", "n2 lbset=1"}, nil, "n1 n2 n1 n2"},
		{"sets skipped when empty", []string{"a lbset=5", "b lbset=2"}, nil, "b b b"},
		// Draining members are never scheduled, and count as unusable for spares.
		{"drain skipped", []string{"m1 status=N", "m2"}, nil, "m2 m2 m2"},
		{"drain makes room for a spare", []string{"m1 status=N", "m2", "s1 status=R"}, nil, "m2 s1 m2 s1"},
		{"draining spare is no spare", []string{"m1 status=D", "s1 status=RN", "s2 status=R"}, nil, "s2 s2"},
		{"nothing usable", []string{"m1 status=D", "m2 status=S", "m3 status=C"}, nil, "Service Unavailable Service Unavailable"},
		{"ignore-errors is usable", []string{"m1 status=I", "m2"}, nil, "m1 m2"},
		{"weights", []string{"b1 lf=1", "b2 lf=2", "b3 lf=3"}, nil, "b3 b2 b1 b3 b2 b3 b3 b2 b1 b3 b2 b3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mustNew(t, balancer.Config{Members: members(tt.members...), Transport: newStub(tt.dead...)})
			want := strings.Fields(tt.want)
			if strings.Contains(tt.want, "Unavailable") {
				want = []string{"Service Unavailable", "Service Unavailable"}
			}
			got := seq(t, b, len(want), nil)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("sequence (-want +got):\n%s", diff)
			}
		})
	}
}

// A member that cannot be reached goes into error state; it is tried again
// once its retry has passed, not before (§6.2).
func TestErrorStateAndRetry(t *testing.T) {
	clk := newClock()
	st := newStub("m1")
	ms := members("m1", "m2", "m3")
	ms[0].Retry = 30 * time.Second
	b := mustNew(t, balancer.Config{Members: ms, Transport: st, Now: clk.Now})

	if got := seq(t, b, 1, nil); got[0] != "m2" {
		t.Fatalf("first request answered by %s, want m2 after failover", got[0])
	}
	if diff := cmp.Diff([]string{"m1", "m2"}, st.Attempts()); diff != "" {
		t.Fatalf("attempts (-want +got):\n%s", diff)
	}
	d := b.Decide(httptest.NewRequest("GET", "/", nil))
	if d.Member == "http://m1" {
		t.Fatalf("m1 chosen while in error state")
	}
	st.Reset()
	seq(t, b, 4, nil)
	for _, h := range st.Attempts() {
		if h == "m1" {
			t.Fatalf("m1 tried during its retry period: %v", st.Attempts())
		}
	}
	clk.Advance(30 * time.Second) // not yet: retry must have *passed*
	st.Reset()
	seq(t, b, 2, nil)
	if strings.Contains(strings.Join(st.Attempts(), " "), "m1") {
		t.Fatalf("m1 tried at exactly its retry time: %v", st.Attempts())
	}
	clk.Advance(time.Millisecond)
	st.SetDead("m1", false)
	got := seq(t, b, 6, nil)
	if !strings.Contains(strings.Join(got, " "), "m1") {
		t.Fatalf("m1 not back after its retry: %v", got)
	}
}

// retry=0 (RetryNow): the dead member is tried on every request before
// failing over (verified on Apache).
func TestRetryNow(t *testing.T) {
	st := newStub("m1")
	ms := members("m1", "m2")
	ms[0].Retry = balancer.RetryNow
	b := mustNew(t, balancer.Config{Members: ms, Transport: st})
	got := seq(t, b, 3, nil)
	if diff := cmp.Diff([]string{"m2", "m2", "m2"}, got); diff != "" {
		t.Fatalf("answers (-want +got):\n%s", diff)
	}
	if n := strings.Count(strings.Join(st.Attempts(), " "), "m1"); n < 2 {
		t.Fatalf("m1 tried %d times over 3 requests, want it retried: %v", n, st.Attempts())
	}
}

// §3 forcerecovery: when every member is in error state they are all
// cleared; one disabled member prevents it.
func TestForceRecovery(t *testing.T) {
	tests := []struct {
		name      string
		members   []string
		disable   bool
		wantCalls []string // connection attempts of the second request
	}{
		// After the first request m2 holds more lbstatus credit (m1 -100, m2 +100),
		// so it is tried first once both are recovered.
		{"all in error recover at once", []string{"m1", "m2"}, false, []string{"m2", "m1"}},
		{"a disabled member blocks recovery", []string{"m1", "m2", "m3 status=D"}, false, nil},
		{"forcerecovery off", []string{"m1", "m2"}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStub("m1", "m2")
			b := mustNew(t, balancer.Config{Members: members(tt.members...), Transport: st, DisableForceRecovery: tt.disable, Now: newClock().Now})
			// First request: both dead members go into error state.
			if got := seq(t, b, 1, nil); got[0] != "Service Unavailable" {
				t.Fatalf("first request: %s, want 503", got[0])
			}
			st.Reset()
			if got := seq(t, b, 1, nil); got[0] != "Service Unavailable" {
				t.Fatalf("second request: %s, want 503", got[0])
			}
			if diff := cmp.Diff(tt.wantCalls, st.Attempts()); diff != "" {
				t.Errorf("second request's attempts (-want +got):\n%s", diff)
			}
		})
	}
}

// §6.3: maxattempts and the number of connection attempts.
func TestMaxAttempts(t *testing.T) {
	tests := []struct {
		name        string
		members     []string
		dead        []string
		maxAttempts int
		want        string
		attempts    int
	}{
		{"default members-1 reaches the third", []string{"m1", "m2", "m3"}, []string{"m1", "m2"}, 0, "m3", 3},
		{"maxattempts 0", []string{"m1", "m2", "m3"}, []string{"m1", "m2"}, -1, "Service Unavailable", 1},
		{"single dead member, one attempt", []string{"m1"}, []string{"m1"}, 0, "Service Unavailable", 1},
		{"forced recovery recycles members", []string{"m1", "m2"}, []string{"m1", "m2"}, 5, "Service Unavailable", 6},
		{"explicit 1 stops early", []string{"m1", "m2", "m3"}, []string{"m1", "m2"}, 1, "Service Unavailable", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStub(tt.dead...)
			b := mustNew(t, balancer.Config{Members: members(tt.members...), Transport: st, MaxAttempts: tt.maxAttempts})
			if got := seq(t, b, 1, nil)[0]; got != tt.want {
				t.Errorf("answer = %s, want %s", got, tt.want)
			}
			if n := len(st.Attempts()); n != tt.attempts {
				t.Errorf("attempts = %d (%v), want %d", n, st.Attempts(), tt.attempts)
			}
		})
	}
}

// §5.1: the scheduler runs on every failover attempt, so three members
// with the first two dead end at lbstatus -200, 0, +200 after one request.
func TestFailoverDebitsLBStatus(t *testing.T) {
	st := newStub("m1", "m2")
	b := mustNew(t, balancer.Config{Members: members("m1", "m2", "m3"), Transport: st})
	seq(t, b, 1, nil)
	got := map[string]int64{}
	for _, m := range b.Members() {
		got[m.URL] = m.Load
	}
	want := map[string]int64{"http://m1": -200, "http://m2": 0, "http://m3": 200}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lbstatus (-want +got):\n%s", diff)
	}
}
