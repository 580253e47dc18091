package balancer_test

// End-to-end sticky sessions over real loopback HTTP, as they are deployed:
// Tomcat-style backends that issue JSESSIONID=<id>.<jvmRoute> (cookie and
// ;jsessionid= URL forms), and the ROUTEID recipe where the balancer issues
// the cookie for backends that set none. Clients are net/http clients with
// cookie jars.

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/proxybalancer/balancer"
)

// tomcat is a backend that keeps sessions as Tomcat does: a request without
// a session it knows gets a new one, JSESSIONID=<random>.<jvmRoute>, in a
// Set-Cookie header (and in X-Session, for clients that rewrite URLs). It
// finds the session in the JSESSIONID cookie or the ;jsessionid= path
// parameter, and answers with its jvmRoute.
type tomcat struct {
	jvmRoute string
	url      string

	mu       sync.Mutex
	sessions map[string]int // session id -> requests seen
	created  int
}

var tomcatPathID = regexp.MustCompile(`;jsessionid=([^;?/]*)`)

func newTomcat(t *testing.T, jvmRoute string) *tomcat {
	t.Helper()
	tc := &tomcat{jvmRoute: jvmRoute, sessions: map[string]int{}}
	srv := httptest.NewServer(tc)
	t.Cleanup(srv.Close)
	tc.url = srv.URL
	return tc
}

func (tc *tomcat) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := ""
	if m := tomcatPathID.FindStringSubmatch(r.URL.Path); m != nil {
		id = m[1]
	} else if c, err := r.Cookie("JSESSIONID"); err == nil {
		id = c.Value
	}
	tc.mu.Lock()
	if _, ok := tc.sessions[id]; !ok {
		b := make([]byte, 8)
		rand.Read(b)
		id = strings.ToUpper(hex.EncodeToString(b)) + "." + tc.jvmRoute
		tc.created++
		http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: id, Path: "/", HttpOnly: true})
	}
	tc.sessions[id]++
	tc.mu.Unlock()
	w.Header().Set("X-Session", id)
	io.WriteString(w, tc.jvmRoute)
}

// stats returns how many sessions the backend created and how many
// requests each session made.
func (tc *tomcat) stats() (created int, hits map[string]int) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	hits = map[string]int{}
	for id, n := range tc.sessions {
		hits[id] = n
	}
	return tc.created, hits
}

// tomcatCluster starts n Tomcat-style backends node1..noden and a balancer
// in front of them, serving on loopback.
func tomcatCluster(t *testing.T, n int, cfg balancer.Config) ([]*tomcat, *balancer.Balancer, string) {
	t.Helper()
	var tcs []*tomcat
	for i := 1; i <= n; i++ {
		tc := newTomcat(t, fmt.Sprintf("node%d", i))
		tcs = append(tcs, tc)
		cfg.Members = append(cfg.Members, balancer.Member{URL: tc.url, Route: tc.jvmRoute})
	}
	cfg.Name = "tomcat"
	b := mustNew(t, cfg)
	front := httptest.NewServer(b)
	t.Cleanup(front.Close)
	return tcs, b, front.URL
}

// tcBrowser is a browser: a client with its own cookie jar.
func tcBrowser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

// tcGet sends GET url with c and returns the body (the member's route) and
// the Set-Cookie headers of the response.
func tcGet(c *http.Client, url string) (string, []string, error) {
	res, err := c.Get(url)
	if err != nil {
		return "", nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return "", nil, err
	}
	if res.StatusCode != 200 {
		return "", nil, fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return string(body), res.Header.Values("Set-Cookie"), nil
}

// tcNewBrowsers has n fresh browsers make their first request at once and
// returns the clients and the member each landed on. First requests carry
// no session, so byrequests deals them out in strict rotation from a fresh
// balancer, whatever order they arrive in.
func tcNewBrowsers(t *testing.T, n int, url string) ([]*http.Client, []string, [][]string) {
	t.Helper()
	clients := make([]*http.Client, n)
	landed := make([]string, n)
	cookies := make([][]string, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range clients {
		clients[i] = tcBrowser(t)
		wg.Go(func() { landed[i], cookies[i], errs[i] = tcGet(clients[i], url) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return clients, landed, cookies
}

func tcCount(landed []string) map[string]int {
	n := map[string]int{}
	for _, m := range landed {
		n[m]++
	}
	return n
}

// tcFollowUps has every client make k more requests at once and reports a
// request that landed anywhere but where the client's first one did, or
// that was given a cookie.
func tcFollowUps(t *testing.T, clients []*http.Client, landed []string, k int, url string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(clients))
	for i, c := range clients {
		wg.Go(func() {
			for range k {
				got, setCookie, err := tcGet(c, url)
				if err != nil {
					errs[i] = err
					return
				}
				if got != landed[i] || len(setCookie) != 0 {
					errs[i] = fmt.Errorf("client %d (on %s): follow-up answered by %s with Set-Cookie %q", i, landed[i], got, setCookie)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// Tomcat's jvmRoute with the JSESSIONID cookie: 30 new browsers are dealt
// out 10/10/10 by byrequests and each stays with the member that created its
// session; one browser making 100 requests never leaves its member, and no
// backend ever creates a second session for a browser.
func TestTomcatJvmRouteCookie(t *testing.T) {
	tcs, b, url := tomcatCluster(t, 3, balancer.Config{StickySession: "JSESSIONID|jsessionid"})

	clients, landed, cookies := tcNewBrowsers(t, 30, url+"/app")
	if diff := cmp.Diff(map[string]int{"node1": 10, "node2": 10, "node3": 10}, tcCount(landed)); diff != "" {
		t.Fatalf("new clients per member (-want +got):\n%s", diff)
	}
	for i, sc := range cookies {
		if len(sc) != 1 || !strings.HasPrefix(sc[0], "JSESSIONID=") || !strings.Contains(sc[0], "."+landed[i]+";") {
			t.Errorf("client %d on %s got Set-Cookie %q, want one JSESSIONID=<id>.%[2]s", i, landed[i], sc)
		}
	}
	tcFollowUps(t, clients, landed, 3, url+"/app")

	long := tcBrowser(t)
	first := ""
	for i := range 100 {
		got, _, err := tcGet(long, url+"/app/page")
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = got
		}
		if got != first {
			t.Fatalf("request %d answered by %s, the session lives on %s", i+1, got, first)
		}
	}

	// Every browser has exactly one session, on the member it landed on,
	// which saw all of its requests.
	hits := map[string]int{}
	for _, tc := range tcs {
		created, sessions := tc.stats()
		wantCreated := tcCount(landed)[tc.jvmRoute]
		if tc.jvmRoute == first {
			wantCreated++
		}
		if created != wantCreated {
			t.Errorf("%s created %d sessions, want %d (one per browser it got)", tc.jvmRoute, created, wantCreated)
		}
		for id, n := range sessions {
			if !strings.HasSuffix(id, "."+tc.jvmRoute) {
				t.Errorf("%s holds session %s of another node", tc.jvmRoute, id)
			}
			hits[tc.jvmRoute] += n
		}
	}
	want := map[string]int{"node1": 40, "node2": 40, "node3": 40}
	want[first] += 100
	if diff := cmp.Diff(want, hits); diff != "" {
		t.Errorf("requests per member (-want +got):\n%s", diff)
	}
	// Every request elected its member once, sticky or scheduled.
	var elected int64
	for _, m := range b.Members() {
		elected += m.Elected
	}
	if elected != 30*4+100 {
		t.Errorf("elected %d in all, want %d", elected, 30*4+100)
	}
}

// Tomcat's URL rewriting: a browser without cookies carries the session in
// ;jsessionid=<id>.<jvmRoute>. The route is found in the path parameter, and
// with ScolonPathDelim it also ends at a following ';' parameter.
func TestTomcatJvmRouteURL(t *testing.T) {
	for _, scolon := range []bool{true, false} {
		t.Run(fmt.Sprintf("scolonpathdelim=%v", scolon), func(t *testing.T) {
			tcs, b, url := tomcatCluster(t, 3, balancer.Config{StickySession: "JSESSIONID|jsessionid", ScolonPathDelim: scolon})
			c := &http.Client{} // no jar: cookies are never sent back
			res, err := c.Get(url + "/app")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			id := res.Header.Get("X-Session")
			route := id[strings.IndexByte(id, '.')+1:]
			if route != "node1" {
				t.Fatalf("first request: session %q, want one on node1 (byrequests' first pick)", id)
			}
			sticky := []string{
				"/app;jsessionid=" + id,
				"/app/cart;jsessionid=" + id + "?item=3",
				"/static/logo.png;jsessionid=" + id,
			}
			// Only with scolonpathdelim does ';' end the value.
			semicolon := []string{
				"/app;jsessionid=" + id + ";lang=en",
				"/app;jsessionid=" + id + ";lang=en?item=4",
			}
			if scolon {
				sticky = append(sticky, semicolon...)
			}
			for i := range 20 {
				p := sticky[i%len(sticky)]
				got, _, err := tcGet(c, url+p)
				if err != nil {
					t.Fatal(err)
				}
				if got != route {
					t.Fatalf("GET %s answered by %s, the session lives on %s", p, got, route)
				}
			}
			if created, sessions := tcs[0].stats(); created != 1 || sessions[id] != 21 {
				t.Errorf("node1 created %d sessions, session %s saw %d requests; want 1 and 21", created, id, sessions[id])
			}
			for _, p := range semicolon {
				d := b.Decide(httptest.NewRequest("GET", p, nil))
				want := balancer.ReasonScheduled
				if scolon {
					want = balancer.ReasonSticky
				}
				if d.Reason != want || d.Info.SessionSticky != "jsessionid" {
					t.Errorf("Decide(%s) = %v from %q, want %v from jsessionid", p, d.Reason, d.Info.SessionSticky, want)
				}
				if !scolon && d.Info.SessionRoute != route+";lang=en" {
					t.Errorf("Decide(%s): route %q, want %q (';' does not end it)", p, d.Info.SessionRoute, route+";lang=en")
				}
			}
		})
	}
}

// The ROUTEID recipe for backends that set no cookie: the balancer issues
// ROUTEID=.<route> whenever the route changed. New browsers are dealt out
// 10/10/10 and keep their member; when a member is disabled its browsers
// move, get a new cookie once, and stay on their new member even after the
// old one is back.
func TestRouteIDRecipe(t *testing.T) {
	var urls []string
	for i := 1; i <= 3; i++ {
		srv, _ := namedBackend(t, fmt.Sprintf("node%d", i))
		urls = append(urls, srv.URL)
	}
	cfg := balancer.Config{
		Name:          "routeid",
		StickySession: "ROUTEID",
		RouteCookie:   &balancer.RouteCookie{Name: "ROUTEID", Path: "/"},
	}
	for i, u := range urls {
		cfg.Members = append(cfg.Members, balancer.Member{URL: u, Route: fmt.Sprintf("node%d", i+1)})
	}
	b := mustNew(t, cfg)
	front := httptest.NewServer(b)
	t.Cleanup(front.Close)

	clients, landed, cookies := tcNewBrowsers(t, 30, front.URL+"/")
	if diff := cmp.Diff(map[string]int{"node1": 10, "node2": 10, "node3": 10}, tcCount(landed)); diff != "" {
		t.Fatalf("new clients per member (-want +got):\n%s", diff)
	}
	for i, sc := range cookies {
		if want := "ROUTEID=." + landed[i] + "; Path=/"; len(sc) != 1 || sc[0] != want {
			t.Errorf("client %d on %s got Set-Cookie %q, want %q", i, landed[i], sc, want)
		}
	}
	tcFollowUps(t, clients, landed, 3, front.URL+"/")

	// One browser, 100 requests: one cookie, one member.
	long := tcBrowser(t)
	first, sc, err := tcGet(long, front.URL+"/a")
	if err != nil {
		t.Fatal(err)
	}
	if len(sc) != 1 {
		t.Fatalf("first response Set-Cookie %q, want one ROUTEID", sc)
	}
	for i := range 99 {
		got, sc, err := tcGet(long, front.URL+"/a")
		if err != nil {
			t.Fatal(err)
		}
		if got != first || len(sc) != 0 {
			t.Fatalf("request %d answered by %s with Set-Cookie %q, want %s and none", i+2, got, sc, first)
		}
	}

	// Its member is disabled: it moves once, with a new cookie, and stays.
	var firstURL string
	for i, m := range cfg.Members {
		if m.Route == first {
			firstURL = urls[i]
		}
	}
	if err := b.SetStatus(firstURL, balancer.StatusDisabled, 0); err != nil {
		t.Fatal(err)
	}
	moved, sc, err := tcGet(long, front.URL+"/a")
	if err != nil {
		t.Fatal(err)
	}
	if moved == first || len(sc) != 1 || sc[0] != "ROUTEID=."+moved+"; Path=/" {
		t.Fatalf("after disabling %s: answered by %s with Set-Cookie %q, want another member and its cookie", first, moved, sc)
	}
	if err := b.SetStatus(firstURL, 0, balancer.StatusDisabled); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		got, sc, err := tcGet(long, front.URL+"/a")
		if err != nil {
			t.Fatal(err)
		}
		if got != moved || len(sc) != 0 {
			t.Fatalf("request %d after the move: %s with Set-Cookie %q, want %s and none", i+1, got, sc, moved)
		}
	}
}
