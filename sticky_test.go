package balancer_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/proxybalancer/balancer"
)

// serve sends one request with the given cookie header through h and
// returns what the client got and the BALANCER_* values an outer
// middleware sees.
func serve(t *testing.T, h http.Handler, target, cookie string) (string, balancer.Info) {
	t.Helper()
	r := httptest.NewRequest("GET", target, nil)
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	r, info := balancer.Capture(r)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 {
		return http.StatusText(w.Code), *info
	}
	return w.Body.String(), *info
}

// Spec §3: a sticky route naming a member that cannot take it, with
// nofailover off and on; and §2.6: draining, standby and higher-lbset owners
// keep their sessions, redirect chains are followed.
func TestStickyRouteTable(t *testing.T) {
	type want struct {
		answer       string
		routeChanged bool
		session      bool // SESSION_* set
		workerRoute  string
	}
	sched := func(route string) want { return want{"m0", true, true, ""} } // m0 has no route: scheduler's first pick
	noVars := want{answer: "Service Unavailable"}
	tests := []struct {
		name       string
		r2         string // extra member spec for the route owner
		cookie     string
		off, on    want
		errorState bool // put r2 into error state first (retry 60 s)
		elapse     bool // let the retry pass
	}{
		{name: "usable owner", r2: "r2 route=r2", cookie: "SID=a.r2",
			off: want{"r2", false, true, "r2"}, on: want{"r2", false, true, "r2"}},
		{name: "route unknown", r2: "r2 route=r2", cookie: "SID=a.zz",
			off: sched("zz"), on: sched("zz")},
		{name: "disabled", r2: "r2 route=r2 status=D", cookie: "SID=a.r2", off: sched("r2"), on: noVars},
		{name: "stopped", r2: "r2 route=r2 status=S", cookie: "SID=a.r2", off: sched("r2"), on: noVars},
		{name: "health-check failed", r2: "r2 route=r2 status=C", cookie: "SID=a.r2", off: sched("r2"), on: noVars},
		{name: "in error, retry not elapsed", r2: "r2 route=r2", cookie: "SID=a.r2", errorState: true, off: sched("r2"), on: noVars},
		{name: "in error, retry elapsed", r2: "r2 route=r2", cookie: "SID=a.r2", errorState: true, elapse: true,
			off: want{"r2", false, true, "r2"}, on: want{"r2", false, true, "r2"}},
		{name: "draining owner used", r2: "r2 route=r2 status=N", cookie: "SID=a.r2",
			off: want{"r2", false, true, "r2"}, on: want{"r2", false, true, "r2"}},
		{name: "hot standby owner used", r2: "r2 route=r2 status=H", cookie: "SID=a.r2",
			off: want{"r2", false, true, "r2"}, on: want{"r2", false, true, "r2"}},
		{name: "higher lbset owner used", r2: "r2 route=r2 lbset=3", cookie: "SID=a.r2",
			off: want{"r2", false, true, "r2"}, on: want{"r2", false, true, "r2"}},
		{name: "case-sensitive", r2: "r2 route=r2", cookie: "SID=a.R2", off: sched("R2"), on: sched("R2")},
		{name: "empty route matches nothing", r2: "r2 route=r2", cookie: "SID=abc.", off: sched(""), on: sched("")},
		{name: "no separator, no session", r2: "r2 route=r2", cookie: "SID=abc",
			off: want{"m0", true, false, ""}, on: want{"m0", true, false, ""}},
		{name: "no cookie", r2: "r2 route=r2",
			off: want{"m0", true, false, ""}, on: want{"m0", true, false, ""}},
	}
	for _, tt := range tests {
		for _, nofailover := range []bool{false, true} {
			name := tt.name + "/nofailover=off"
			w := tt.off
			if nofailover {
				name, w = tt.name+"/nofailover=on", tt.on
			}
			t.Run(name, func(t *testing.T) {
				clk := newClock()
				st := newStub()
				b := mustNew(t, balancer.Config{
					Members:       members("m0", tt.r2),
					StickySession: "SID",
					NoFailover:    nofailover,
					Transport:     st,
					Now:           clk.Now,
				})
				if tt.errorState {
					// Make r2 fail once with a session so it goes into error state.
					st.SetDead("r2", true)
					serve(t, b, "/", "SID=a.r2")
					st.SetDead("r2", false)
					if s := b.Members()[1].Status; !s.Has(balancer.StatusError) {
						t.Fatalf("r2 status = %v, want Err", s)
					}
					clk.Advance(30 * time.Second)
					if tt.elapse {
						clk.Advance(31 * time.Second)
					}
				}
				// The dry run must agree with the real request.
				dr := httptest.NewRequest("GET", "/", nil)
				if tt.cookie != "" {
					dr.Header.Set("Cookie", tt.cookie)
				}
				d := b.Decide(dr)
				answer, info := serve(t, b, "/", tt.cookie)
				if answer != w.answer {
					t.Fatalf("answer %q, want %q (info %+v)", answer, w.answer, info)
				}
				if d.Member != info.WorkerName || d.Info != info {
					t.Errorf("Decide = %+v, request saw %+v", d, info)
				}
				if w.answer == "Service Unavailable" {
					if info != (balancer.Info{}) {
						t.Errorf("503 with values set: %+v", info)
					}
					if d.Reason != balancer.ReasonNoFailover {
						t.Errorf("Decide reason %v, want nofailover", d.Reason)
					}
					return
				}
				if info.RouteChanged != w.routeChanged || info.Session != w.session || info.WorkerRoute != w.workerRoute {
					t.Errorf("info %+v, want routeChanged %v session %v workerRoute %q", info, w.routeChanged, w.session, w.workerRoute)
				}
				if info.Name != "balancer://test" || info.WorkerName != "http://"+answer {
					t.Errorf("names %q %q", info.Name, info.WorkerName)
				}
				if w.session && info.SessionSticky != "SID" {
					t.Errorf("SessionSticky %q, want SID", info.SessionSticky)
				}
			})
		}
	}
}

// §2.6: redirect chains are followed, bounded by the member count; a cycle
// ends at the scheduler.
func TestStickyRedirect(t *testing.T) {
	b := mustNew(t, balancer.Config{
		Members: members("m0 status=D", "r1 route=r1 redirect=r2 status=D", "r2 route=r2 redirect=r3 status=D", "r3 route=r3",
			"r4 route=r4 redirect=r5 status=D", "r5 route=r5 redirect=r4 status=D"),
		StickySession: "SID",
		Transport:     newStub(),
	})
	answer, info := serve(t, b, "/", "SID=x.r1")
	want := balancer.Info{Name: "balancer://test", WorkerName: "http://r3", WorkerRoute: "r3", RouteChanged: true,
		Session: true, SessionSticky: "SID", SessionRoute: "r1"}
	if answer != "r3" || info != want {
		t.Errorf("SID=x.r1: answer %s info %+v, want r3 %+v", answer, info, want)
	}
	if d := b.Decide(withCookie("SID=x.r1")); d.Reason != balancer.ReasonRedirected {
		t.Errorf("reason %v, want redirected", d.Reason)
	}
	// The r4 <-> r5 cycle ends and the scheduler picks r3 (the only usable one).
	if answer, info := serve(t, b, "/", "SID=x.r4"); answer != "r3" || !info.RouteChanged || info.SessionRoute != "r4" {
		t.Errorf("cycle: answer %s info %+v", answer, info)
	}
	// A usable member's redirect is ignored.
	b2 := mustNew(t, balancer.Config{Members: members("r1 route=r1 redirect=r2", "r2 route=r2"), StickySession: "SID", Transport: newStub()})
	if answer, _ := serve(t, b2, "/", "SID=x.r1"); answer != "r1" {
		t.Errorf("usable r1 with redirect answered by %s", answer)
	}
}

func withCookie(c string) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", c)
	return r
}

// §3 last row: the sticky member fails at connect time. It goes into error
// state and the failover attempt goes to the scheduler with RouteChanged;
// under nofailover the failover attempt is refused with 503 and the values
// of the first attempt stay set.
func TestStickyMemberFailsAtConnect(t *testing.T) {
	for _, nofailover := range []bool{false, true} {
		st := newStub("r2")
		b := mustNew(t, balancer.Config{Members: members("m0", "r2 route=r2"), StickySession: "SID", NoFailover: nofailover, Transport: st})
		answer, info := serve(t, b, "/", "SID=a.r2")
		if !b.Members()[1].Status.Has(balancer.StatusError) {
			t.Errorf("nofailover=%v: r2 not in error state", nofailover)
		}
		if !nofailover {
			want := balancer.Info{Name: "balancer://test", WorkerName: "http://m0", WorkerRoute: "", RouteChanged: true,
				Session: true, SessionSticky: "SID", SessionRoute: "r2"}
			if answer != "m0" || info != want {
				t.Errorf("failover: %s %+v, want m0 %+v", answer, info, want)
			}
			continue
		}
		want := balancer.Info{Name: "balancer://test", WorkerName: "http://r2", WorkerRoute: "r2",
			Session: true, SessionSticky: "SID", SessionRoute: "r2"}
		if answer != "Service Unavailable" || info != want {
			t.Errorf("nofailover: %s %+v, want 503 with the first attempt's %+v", answer, info, want)
		}
		if diff := cmp.Diff([]string{"r2"}, st.Attempts()); diff != "" {
			t.Errorf("attempts (-want +got):\n%s", diff)
		}
	}
}

// Decide changes nothing: the next real request goes where Decide said.
func TestDecideIsDry(t *testing.T) {
	b := mustNew(t, balancer.Config{Members: members("b1 lf=1", "b2 lf=2", "b3 lf=3"), Transport: newStub()})
	before := b.Members()
	for range 5 {
		if d := b.Decide(httptest.NewRequest("GET", "/", nil)); d.Member != "http://b3" || d.Reason != balancer.ReasonScheduled || d.LBSet != 0 {
			t.Fatalf("Decide = %+v, want b3 scheduled from lbset 0", d)
		}
	}
	if diff := cmp.Diff(before, b.Members()); diff != "" {
		t.Fatalf("Decide changed member state (-before +after):\n%s", diff)
	}
	if got := seq(t, b, 1, nil); got[0] != "b3" {
		t.Errorf("real request went to %s after Decide said b3", got[0])
	}
}

// The URL parameter wins over the cookie (§2.4), through the whole path.
func TestStickyURLBeatsCookie(t *testing.T) {
	b := mustNew(t, balancer.Config{Members: members("m0", "r2 route=r2", "r3 route=r3"), StickySession: "JSESSIONID|jsessionid", Transport: newStub()})
	answer, info := serve(t, b, "/app;jsessionid=a.r3?x=1", "JSESSIONID=a.r2")
	if answer != "r3" || info.SessionSticky != "jsessionid" || info.RouteChanged {
		t.Errorf("got %s %+v, want r3 via jsessionid", answer, info)
	}
	answer, info = serve(t, b, "/app", "JSESSIONID=a.r2")
	if answer != "r2" || info.SessionSticky != "JSESSIONID" {
		t.Errorf("got %s %+v, want r2 via JSESSIONID", answer, info)
	}
}

// §5.1: sticky hits move byrequests' counters: three hits on r2 in a
// two-member balancer leave lbstatus r1=+300, r2=-300.
func TestStickyHitsMoveLBStatus(t *testing.T) {
	b := mustNew(t, balancer.Config{Members: members("r1 route=r1", "r2 route=r2"), StickySession: "SID", Transport: newStub()})
	for range 3 {
		serve(t, b, "/", "SID=a.r2")
	}
	ms := b.Members()
	if ms[0].Load != 300 || ms[1].Load != -300 {
		t.Errorf("lbstatus %d, %d; want 300, -300", ms[0].Load, ms[1].Load)
	}
	if ms[1].Elected != 3 {
		t.Errorf("r2 elected %d, want 3", ms[1].Elected)
	}
}

// The ROUTEID recipe: a cookie naming the route whenever it changed.
func TestRouteCookie(t *testing.T) {
	b := mustNew(t, balancer.Config{
		Members:       members("a route=ra", "b route=rb"),
		StickySession: "ROUTEID",
		RouteCookie: &balancer.RouteCookie{Name: "ROUTEID", Path: "/", Domain: "example.com", MaxAge: 3600,
			Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode},
		Transport: newStub(),
	})
	w := httptest.NewRecorder()
	b.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	want := "ROUTEID=.ra; Path=/; Domain=example.com; Max-Age=3600; HttpOnly; Secure; SameSite=Lax"
	if got := w.Header().Get("Set-Cookie"); got != want {
		t.Errorf("Set-Cookie %q, want %q", got, want)
	}
	// A request that sticks gets no new cookie.
	w = httptest.NewRecorder()
	b.ServeHTTP(w, withCookie("ROUTEID=.rb"))
	if got := w.Header().Values("Set-Cookie"); len(got) != 0 || w.Body.String() != "b" {
		t.Errorf("sticky request: body %q Set-Cookie %q, want b and none", w.Body.String(), got)
	}
}
