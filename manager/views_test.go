package manager_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/healthcheck"
	"github.com/proxybalancer/balancer/manager"
)

func TestManagerPage(t *testing.T) {
	b, mg, _ := managed(t)
	// Everything shown is escaped: a route is free text.
	if err := b.Update([]balancer.Member{{URL: "http://a", Route: `<script>alert(1)</script>`}, {URL: "http://b"}}); err != nil {
		t.Fatal(err)
	}
	w := get(t, mg, "/")
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("%d %s", w.Code, w.Header().Get("Content-Type"))
	}
	body := w.Body.String()
	if strings.Contains(body, "<script>") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("route not escaped")
	}
	for _, want := range []string{"balancer://shop", "http://a", "http://b", `name="w_status_D" value="1"`, testNonce, "JSESSIONID | jsessionid"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// The page loads one thing: its chart script, from the manager
	// itself, allowed by its hash.
	script := regexp.MustCompile(`<script src="\?asset=charts\.js" integrity="(sha256-[A-Za-z0-9+/=]+)" defer></script>`).FindStringSubmatch(body)
	if script == nil || strings.Count(body, "src=") != 1 || strings.Count(body, "<script") != 1 || strings.Contains(body, "<link") {
		t.Errorf("page loads something else than its own chart script")
	}
	h := w.Header()
	csp := h.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	if script != nil && !strings.Contains(csp, "script-src '"+script[1]+"';") {
		t.Errorf("CSP %q does not allow the script %s, or allows more", csp, script[1])
	}
	js := get(t, mg, "/?asset=charts.js")
	sum := sha256.Sum256(js.Body.Bytes())
	if js.Code != 200 || js.Header().Get("Content-Type") != "text/javascript; charset=utf-8" ||
		script == nil || "sha256-"+base64.StdEncoding.EncodeToString(sum[:]) != script[1] {
		t.Errorf("?asset=charts.js: %d %q, not the script the page names", js.Code, js.Header().Get("Content-Type"))
	}
	if w := get(t, mg, "/?asset=evil.js"); w.Code != 404 {
		t.Errorf("?asset=evil.js: %d", w.Code)
	}
	if h.Get("X-Frame-Options") != "DENY" || h.Get("Cache-Control") != "no-store" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("security headers: %v", h)
	}
	// ?b=&w= opens the member's edit form.
	edit := get(t, mg, "/?b=shop&w=http://b").Body.String()
	if !strings.Contains(edit, `id="edit"`) || !strings.Contains(edit, `name="w_lf"`) {
		t.Errorf("no edit form for ?b=shop&w=http://b")
	}
	if w := get(t, mg, "/?b=nope"); w.Code != 404 || !strings.Contains(w.Body.String(), "nope") {
		t.Errorf("unknown balancer: %d", w.Code)
	}
	if w := get(t, mg, "/?b=shop&w=http://nope"); w.Code != 404 {
		t.Errorf("unknown member: %d", w.Code)
	}
	if w := get(t, mg, "/"); w.Code != 200 {
		t.Errorf("HEAD-less GET: %d", w.Code)
	}
}

// The page shows health-check state and error state.
func TestManagerPageHealthAndErrors(t *testing.T) {
	clk := newClock()
	st := newStub("b")
	b := mustNew(t, balancer.Config{Name: "shop", Now: clk.Now, Transport: st, Members: []balancer.Member{
		{URL: "http://a", HealthCheck: healthcheck.Check{Method: healthcheck.MethodHead, URI: "/hc", Passes: 2, Fails: 3}},
		{URL: "http://b", Retry: 30 * time.Second},
	}})
	mg, err := manager.New(manager.Config{Hosts: testHosts, Balancers: []*balancer.Balancer{b}, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	seq(t, b, 2, nil) // b fails to connect: error state for 30 s
	clk.Advance(10 * time.Second)
	body := get(t, mg, "/").Body.String()
	for _, want := range []string{"HEAD /hc every 30s", "–/2", "–/3", "Init Err", "03:04:35", "in 20s"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestManagerJSONRead(t *testing.T) {
	b, mg, _ := managed(t)
	seq(t, b, 3, nil)
	for _, target := range []string{"/?json", "/"} {
		w := get(t, mg, target, "Accept", "application/json")
		if w.Code != 200 || w.Header().Get("Content-Type") != "application/json; charset=utf-8" {
			t.Fatalf("%s: %d %s", target, w.Code, w.Header().Get("Content-Type"))
		}
		var doc struct {
			Balancers []struct {
				Name, Nonce, StickySession, Method string
				MaxAttempts, Growth, GrowthUsed    int
				Members                            []struct {
					URL, Route, Status, Flags string
					LoadFactor                float64
					Elected                   int64
					Usable                    bool
				}
			}
		}
		if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		jb := doc.Balancers[0]
		if jb.Name != "balancer://shop" || jb.Nonce != testNonce || jb.StickySession != "JSESSIONID|jsessionid" ||
			jb.Method != "byrequests" || jb.MaxAttempts != 2 || jb.Growth != 2 || len(jb.Members) != 3 {
			t.Errorf("%s: %+v", target, jb)
		}
		if m := jb.Members[1]; m.URL != "http://b" || m.Route != "r2" || m.LoadFactor != 2 || m.Status != "Init Ok" || !m.Usable || m.Elected == 0 {
			t.Errorf("member b: %+v", m)
		}
	}
	if w := get(t, mg, "/?json&b=nope"); w.Code != 404 || !strings.Contains(w.Body.String(), `"fields": [`) {
		t.Errorf("unknown balancer in JSON: %d %s", w.Code, w.Body)
	}
}

func TestManagerJSONEdit(t *testing.T) {
	b, mg, _ := managed(t)
	w := postJSON(t, mg, `{
		"balancer": "balancer://shop", "nonce": "`+testNonce+`",
		"settings": {"method": "bybusyness", "stickySession": "S|s", "noFailover": true, "maxAttempts": 4, "timeoutMs": 1500},
		"members": [
			{"url": "http://a", "loadFactor": 3, "lbSet": 1, "route": "x", "redirect": "y", "flags": {"N": true, "H": false}},
			{"url": "http://b", "flags": {"D": true}, "healthCheck": {"method": "TCP", "intervalMs": 200, "passes": 2, "fails": 2}}
		],
		"add": ["http://d"]
	}`)
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	c := b.Config()
	if got := []any{methodOf(c), c.StickySession, c.NoFailover, c.MaxAttempts, c.Timeout}; !cmp.Equal(got, []any{"bybusyness", "S|s", true, 4, 1500 * time.Millisecond}) {
		t.Errorf("settings: %v", got)
	}
	a := member(t, b, "http://a")
	if a.LoadFactor != 3 || a.LBSet != 1 || a.Route != "x" || a.Redirect != "y" || a.Status != balancer.StatusInit|balancer.StatusDrain {
		t.Errorf("a: %+v", a)
	}
	bm := member(t, b, "http://b")
	if want := (healthcheck.Check{Method: healthcheck.MethodTCP, Interval: 200 * time.Millisecond, Passes: 2, Fails: 2}); !cmp.Equal(bm.HealthCheck, want, checkOpts) || !bm.Status.Has(balancer.StatusDisabled) {
		t.Errorf("b: %v %+v", bm.Status, bm.HealthCheck)
	}
	if d := member(t, b, "http://d"); d.Status != balancer.StatusInit|balancer.StatusDisabled {
		t.Errorf("added d: %v", d.Status)
	}
	var doc struct {
		Balancers []struct {
			Method  string
			Members []struct {
				URL   string
				Added bool
			}
		}
	}
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil || doc.Balancers[0].Method != "bybusyness" || !doc.Balancers[0].Members[3].Added {
		t.Errorf("answer: %v %s", err, w.Body)
	}
}

func TestManagerJSONRejections(t *testing.T) {
	tests := []struct {
		name, body string
		code       int
		fields     []string
	}{
		{"wrong nonce", `{"balancer":"shop","nonce":"x","members":[{"url":"http://a","lbSet":1}]}`, 403, []string{"nonce"}},
		{"no nonce", `{"balancer":"shop","members":[{"url":"http://a","lbSet":1}]}`, 403, []string{"nonce"}},
		{"out of range", `{"balancer":"shop","nonce":"N","members":[{"url":"http://a","loadFactor":0,"lbSet":100}]}`, 400, []string{"members[0].loadFactor", "members[0].lbSet"}},
		{"unknown member", `{"balancer":"shop","nonce":"N","members":[{"url":"http://a","lbSet":1},{"url":"http://zz","lbSet":1}]}`, 400, []string{"members[1].url"}},
		{"member without url", `{"balancer":"shop","nonce":"N","members":[{"lbSet":1}]}`, 400, []string{"members[0].url"}},
		{"unknown flag", `{"balancer":"shop","nonce":"N","members":[{"url":"http://a","flags":{"E":false}}]}`, 400, []string{"members[0].flags.E"}},
		{"wrong type", `{"balancer":"shop","nonce":"N","members":[{"url":"http://a","loadFactor":"2"}]}`, 400, []string{"members.loadFactor"}},
		{"unknown method", `{"balancer":"shop","nonce":"N","settings":{"method":"random"}}`, 400, []string{"settings.method"}},
		{"timeout", `{"balancer":"shop","nonce":"N","settings":{"timeoutMs":7200001}}`, 400, []string{"settings.timeoutMs"}},
		{"bad add", `{"balancer":"shop","nonce":"N","add":["http://a","mailto:x"]}`, 400, []string{"add[1]"}},
		{"duplicate add", `{"balancer":"shop","nonce":"N","add":["http://a"]}`, 400, []string{"add[0]"}},
		{"unknown field", `{"balancer":"shop","nonce":"N","membres":[]}`, 400, nil},
		{"two documents", `{"balancer":"shop","nonce":"N"}{}`, 400, nil},
		{"not JSON", `b=shop`, 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, mg, _ := managed(t)
			before := stateOf(b)
			w := postJSON(t, mg, strings.ReplaceAll(tt.body, `"N"`, `"`+testNonce+`"`))
			if w.Code != tt.code {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.code, w.Body)
			}
			var je struct {
				Error  string
				Fields []string
			}
			if err := json.Unmarshal(w.Body.Bytes(), &je); err != nil || !strings.HasPrefix(je.Error, "balancer: manager: ") {
				t.Fatalf("answer %v: %s", err, w.Body)
			}
			if tt.fields != nil {
				if diff := cmp.Diff(tt.fields, je.Fields); diff != "" {
					t.Errorf("fields (-want +got):\n%s\n%s", diff, je.Error)
				}
			}
			if diff := cmp.Diff(before, stateOf(b), statsOpts); diff != "" {
				t.Errorf("state changed:\n%s", diff)
			}
		})
	}
}

// A form change can ask for JSON or XML back (scripts).
func TestManagerFormAnswerFormats(t *testing.T) {
	_, mg, _ := managed(t)
	v := form("w", "http://a", "w_ls", "2", "xml", "1")
	if w := post(t, mg, v); w.Code != 200 || w.Header().Get("Content-Type") != "text/xml" || !strings.Contains(w.Body.String(), "<httpd:lbset>2</httpd:lbset>") {
		t.Errorf("xml: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	w := post(t, mg, form("w", "http://a", "w_ls", "3"), "Accept", "application/json")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"lbSet": 3`) {
		t.Errorf("json: %d %s", w.Code, w.Body)
	}
	w = post(t, mg, form("w", "http://a", "w_ls", "300"), "Accept", "application/json")
	if w.Code != 400 || !strings.Contains(w.Body.String(), `"w_ls"`) {
		t.Errorf("json error: %d %s", w.Code, w.Body)
	}
}

// The JSON and the page show what the health checker knows and the error
// state. The test waits for checks to reach the backend, not for time:
// checks of one member never overlap, so once the second arrives the first
// has been reported.
func TestManagerShowsHealth(t *testing.T) {
	checks := make(chan struct{}, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			w.WriteHeader(503)
			checks <- struct{}{}
		}
	}))
	t.Cleanup(srv.Close)
	b := mustNew(t, balancer.Config{Name: "hc", Transport: newStub(), Members: []balancer.Member{
		{URL: srv.URL, HealthCheck: healthcheck.Check{Method: healthcheck.MethodGet, URI: "/health", Interval: 100 * time.Millisecond, Fails: 1}},
		{URL: "http://other"},
	}})
	mg, err := manager.New(manager.Config{Hosts: testHosts, Balancers: []*balancer.Balancer{b}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.RunHealthChecks(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for range 2 {
		select {
		case <-checks:
		case <-time.After(10 * time.Second):
			t.Fatal("no health check arrived within 10s")
		}
	}
	if err := b.SetStatus("http://other", balancer.StatusError, 0); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Balancers []struct {
			Members []struct {
				Status      string
				ErrorSince  *time.Time
				ErrorUntil  *time.Time
				HealthCheck struct {
					Method     string
					IntervalMs int64
				}
				Health *struct {
					Healthy    bool
					Fails      int
					LastCheck  *time.Time
					LastStatus int
					LastError  string
				}
			}
		}
	}
	if err := json.Unmarshal(get(t, mg, "/?json").Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	m := doc.Balancers[0].Members[0]
	if m.Status != "Init HcFl" || m.HealthCheck.Method != "GET" || m.HealthCheck.IntervalMs != 100 || m.Health == nil ||
		m.Health.Healthy || m.Health.LastStatus != 503 || m.Health.LastCheck == nil || !strings.Contains(m.Health.LastError, "503") {
		t.Errorf("checked member: %+v health %+v", m, m.Health)
	}
	if o := doc.Balancers[0].Members[1]; o.Status != "Init Err" || o.ErrorSince == nil || o.ErrorUntil.Sub(*o.ErrorSince) != balancer.DefaultRetry {
		t.Errorf("member in error: %+v", o)
	}
	page := html.UnescapeString(get(t, mg, "/").Body.String())
	if !strings.Contains(page, "Init HcFl") || !strings.Contains(page, "GET /health every 100ms") || !strings.Contains(page, "503") {
		t.Errorf("page lacks the health state")
	}
}
