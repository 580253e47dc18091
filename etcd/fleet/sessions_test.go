package fleet

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/etcd/internal/etcdtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sessionMember is an application member with a route, answering with its
// route in X-Member. With appCookie it behaves as Tomcat with a jvmRoute:
// a session cookie JSESSIONID=<id>.<route> naming another route (or none)
// is rewritten to its own route.
func sessionMember(t *testing.T, route string, appCookie bool) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if appCookie {
			id := "s"
			if c, err := r.Cookie("JSESSIONID"); err == nil {
				id, _, _ = strings.Cut(c.Value, ".")
			} else {
				id = r.URL.Query().Get("id")
			}
			if c, err := r.Cookie("JSESSIONID"); err != nil || !strings.HasSuffix(c.Value, "."+route) {
				http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: id + "." + route, Path: "/"})
			}
		}
		w.Header().Set("X-Member", route)
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// sessionRun is 1,000 sessions of 10 requests each over 3 replicas, in
// turn. After every session's first request, m0 (route r0) is disabled on
// gw0's manager. It counts the sessions that were served by more than one
// member, among them those that did not start on r0, and the requests
// that r0 served after it was disabled.
func sessionRun(t *testing.T, withFleet, routeCookie bool) (moved, movedOff, toDisabled int) {
	srv := etcdtest.Start(t)
	cfg := balancer.Config{Name: "app", StickySession: "JSESSIONID"}
	if routeCookie {
		cfg.StickySession = "ROUTEID"
		cfg.RouteCookie = &balancer.RouteCookie{Name: "ROUTEID", Path: "/"}
	}
	for i := range 3 {
		route := fmt.Sprint("r", i)
		cfg.Members = append(cfg.Members, balancer.Member{URL: sessionMember(t, route, !routeCookie), Route: route})
	}
	var bs []*balancer.Balancer
	var others []*replica
	for i := range 3 {
		if withFleet {
			r := startReplica(t, srv, fmt.Sprint("gw", i), cfg)
			bs = append(bs, r.b)
			if i > 0 {
				others = append(others, r)
			}
			continue
		}
		b, err := balancer.New(cfg)
		require.NoError(t, err)
		bs = append(bs, b)
	}
	var fronts []string
	for _, b := range bs {
		s := httptest.NewServer(b)
		t.Cleanup(s.Close)
		fronts = append(fronts, s.URL)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	t.Cleanup(client.CloseIdleConnections)

	const sessions, requests = 1000, 10
	type session struct {
		cookies map[string]string
		served  []string
	}
	ss := make([]session, sessions)
	do := func(s, k int) {
		sess := &ss[s]
		req, err := http.NewRequest("GET", fronts[(s+k)%3]+"/?id="+fmt.Sprint("id", s), nil)
		require.NoError(t, err)
		for n, v := range sess.cookies {
			req.AddCookie(&http.Cookie{Name: n, Value: v})
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		for _, c := range resp.Cookies() {
			sess.cookies[c.Name] = c.Value
		}
		sess.served = append(sess.served, resp.Header.Get("X-Member"))
	}
	parallel := func(fn func(s int)) {
		var wg sync.WaitGroup
		work := make(chan int)
		for range 16 {
			wg.Go(func() {
				for s := range work {
					fn(s)
				}
			})
		}
		for s := range sessions {
			work <- s
		}
		close(work)
		wg.Wait()
	}
	parallel(func(s int) {
		ss[s].cookies = map[string]string{}
		do(s, 0)
	})

	// Disable m0 on gw0's manager.
	require.NoError(t, bs[0].Apply(balancer.Change{Source: "balancer-manager", Who: "operator",
		Members: []balancer.MemberChange{{URL: cfg.Members[0].URL, Set: "D"}}}))
	for _, r := range others {
		waitFor(t, r, func() bool { return r.b.State().Members[0].Flags == "D" })
	}

	parallel(func(s int) {
		for k := 1; k < requests; k++ {
			do(s, k)
		}
	})
	for _, s := range ss {
		for _, m := range s.served[1:] {
			if m == "r0" {
				toDisabled++
			}
		}
		for _, m := range s.served[1:] {
			if m != s.served[0] {
				moved++
				if s.served[0] != "r0" {
					movedOff++
				}
				break
			}
		}
	}
	return moved, movedOff, toDisabled
}

// TestSessionsWhenAMemberIsDisabled is the fleet's session test: 3
// replicas, 1,000 sessions × 10 requests spread over them, m0 disabled on
// one replica's manager. With the fleet only m0's sessions may move; the
// run without the fleet shows the problem it solves.
func TestSessionsWhenAMemberIsDisabled(t *testing.T) {
	for _, rc := range []bool{false, true} {
		name := "application cookie"
		if rc {
			name = "route-cookie recipe"
		}
		t.Run(name, func(t *testing.T) {
			moved, off, to := sessionRun(t, true, rc)
			t.Logf("with the fleet: %d of 1000 sessions moved, %d of them not on the disabled member; %d requests to the disabled member after the edit", moved, off, to)
			assert.Zero(t, off, "only the disabled member's sessions may move")
			assert.Positive(t, moved, "the disabled member's sessions move")
			assert.Zero(t, to, "no replica sends to the disabled member")
			moved, off, to = sessionRun(t, false, rc)
			t.Logf("without the fleet (the edit on one replica only): %d of 1000 sessions moved, %d of them not on the disabled member; %d requests to the disabled member after the edit", moved, off, to)
		})
	}
}
