//go:build chromium

// The balancer-manager in a real headless Chromium (Debian's package
// "chromium"), driven with github.com/chromedp/chromedp. Run with
//
//	go test -tags chromium -run Chromium ./manager
//
// Screenshots go to $BALANCER_ARTIFACTS when set, else to the test's
// temporary directory; their paths are logged.

package manager_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/healthcheck"
	"github.com/proxybalancer/balancer/internal/balancertest"
	"github.com/proxybalancer/balancer/manager"
)

func TestManagerChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium not found (apt-get install chromium): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// Two loopback backends that count the requests proxied to them. b's
	// health checks (GET /health) are not counted: they go on while b is
	// disabled, as in Apache.
	var hitsA, hitsB atomic.Int64
	counting := func(hits *atomic.Int64, body string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/health" {
				hits.Add(1)
			}
			io.WriteString(w, body)
		})
	}
	backA := httptest.NewServer(counting(&hitsA, "a"))
	t.Cleanup(backA.Close)
	backB := httptest.NewServer(counting(&hitsB, "b"))
	t.Cleanup(backB.Close)
	// A third member, a hot standby that never takes part here, has no
	// server: its health checks fail, so the page shows a failing check.
	dead := closedPort(t)
	b, err := balancer.New(balancer.Config{
		Name:          "shop",
		StickySession: "JSESSIONID|jsessionid",
		Members: []balancer.Member{
			{URL: backA.URL, Route: "a1"},
			{URL: backB.URL, Route: "b1", LoadFactor: 2,
				HealthCheck: healthcheck.Check{Method: healthcheck.MethodGet, URI: "/health", Interval: 200 * time.Millisecond}},
			{URL: dead, Route: "c1", Status: "+H",
				HealthCheck: healthcheck.Check{Method: healthcheck.MethodTCP, Interval: 200 * time.Millisecond}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	hcCtx, hcStop := context.WithCancel(ctx)
	hcDone := make(chan error, 1)
	go func() { hcDone <- b.RunHealthChecks(hcCtx) }()
	t.Cleanup(func() { hcStop(); <-hcDone })
	mgr, err := manager.New(manager.Config{Balancers: []*balancer.Balancer{b}, Growth: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Record the headers of the browser's POSTs, to see what the
	// same-origin check saw.
	var postMu sync.Mutex
	var posts []http.Header
	mux := http.NewServeMux()
	mux.Handle("/app/", b)
	mux.Handle("/balancer-manager", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			postMu.Lock()
			posts = append(posts, r.Header.Clone())
			postMu.Unlock()
		}
		mgr.ServeHTTP(w, r)
	}))
	front := httptest.NewServer(mux)
	t.Cleanup(front.Close)
	pageURL := front.URL + "/balancer-manager"
	memberB := backB.URL

	send := func(n int) {
		t.Helper()
		for range n {
			res, err := front.Client().Get(front.URL + "/app/x")
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Fatalf("GET /app/x: %d", res.StatusCode)
			}
		}
	}
	send(6)
	if hitsA.Load() == 0 || hitsB.Load() == 0 {
		t.Fatalf("before: a %d, b %d requests; want both used", hitsA.Load(), hitsB.Load())
	}

	br := startChromium(ctx, t, chromium)
	br.viewport(ctx, 1280, 900, false)
	br.navigate(ctx, pageURL)
	if n := br.eval(ctx, `document.querySelectorAll("tr[data-member]").length`); n != float64(3) {
		t.Fatalf("member rows on the page: %v", n)
	}
	br.screenshot(ctx, "manager-1280.png")

	// Disable b with its form, as a person would: a mouse click on the
	// row's Disable button.
	br.click(ctx, fmt.Sprintf(`tr[data-member=%q] button[data-action="disable"]`, memberB))
	if got := br.eval(ctx, fmt.Sprintf(`document.querySelector('tr[data-member=%q] .badge').textContent`, memberB)); got != "Init Dis" {
		t.Fatalf("b's status on the page after Disable: %q", got)
	}
	if got := br.eval(ctx, `document.querySelector(".msg.ok") ? document.querySelector(".msg.ok").textContent : ""`); !strings.Contains(fmt.Sprint(got), "Changes applied") {
		t.Errorf("note after the change: %q", got)
	}
	if st := memberStatus(t, b, memberB); !st.Has(balancer.StatusDisabled) {
		t.Fatalf("b after Disable: %v", st)
	}
	beforeB := hitsB.Load()
	send(8)
	if got := hitsB.Load(); got != beforeB {
		t.Errorf("disabled b got %d new requests; want none", got-beforeB)
	}
	br.screenshot(ctx, "manager-disabled-1280.png")
	br.viewport(ctx, 390, 844, true)
	br.navigate(ctx, pageURL)
	br.screenshot(ctx, "manager-phone.png")
	br.viewport(ctx, 1280, 900, false)
	br.navigate(ctx, pageURL)

	// Re-enable b: requests reach it again.
	br.click(ctx, fmt.Sprintf(`tr[data-member=%q] button[data-action="enable"]`, memberB))
	if got := br.eval(ctx, fmt.Sprintf(`document.querySelector('tr[data-member=%q] .badge').textContent`, memberB)); got != "Init Ok" {
		t.Fatalf("b's status on the page after Enable: %q", got)
	}
	beforeB = hitsB.Load()
	send(6)
	if hitsB.Load() == beforeB {
		t.Errorf("re-enabled b got no requests")
	}

	// The member edit form: set b's load factor and route in one change.
	br.navigate(ctx, pageURL+"?b=shop&w="+memberB)
	br.eval(ctx, `(() => { const f = document.querySelector('form[data-form="member"]');
		f.w_lf.value = "3.5"; f.w_wr.value = "b2"; return true })()`)
	br.click(ctx, `form[data-form="member"] button[type="submit"]`)
	for _, ms := range b.Members() {
		if ms.URL == memberB && (ms.LoadFactor != 3.5 || ms.Route != "b2") {
			t.Errorf("b after the edit form: factor %v route %q", ms.LoadFactor, ms.Route)
		}
	}
	br.screenshot(ctx, "manager-edit-1280.png")

	postMu.Lock()
	defer postMu.Unlock()
	if len(posts) != 3 {
		t.Fatalf("%d POSTs reached the manager; want 3", len(posts))
	}
	for _, h := range posts {
		if h.Get("Sec-Fetch-Site") != "same-origin" || h.Get("Origin") != front.URL {
			t.Errorf("browser POST: Sec-Fetch-Site %q Origin %q", h.Get("Sec-Fetch-Site"), h.Get("Origin"))
		}
	}
}

func memberStatus(t *testing.T, b *balancer.Balancer, url string) balancer.Status {
	t.Helper()
	for _, ms := range b.Members() {
		if ms.URL == url {
			return ms.Status
		}
	}
	t.Fatalf("no member %s", url)
	return 0
}

// browser is a headless Chromium tab driven by chromedp; every step fails
// the test on error.
type browser struct {
	t   *testing.T
	ctx context.Context // the tab's
}

// startChromium starts a headless Chromium (the executable at path) with
// one tab; it is stopped when the test ends.
func startChromium(ctx context.Context, t *testing.T, path string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // CI runs as root
		chromedp.Flag("disable-gpu", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	require.NoError(t, chromedp.Do(tctx), "start chromium")
	// Record every Content-Security-Policy violation of every page, from
	// its first byte on (a script DevTools adds is not itself subject to
	// the page's policy); cspViolations reads them.
	require.NoError(t, chromedp.Do(tctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `window.cspViolations = [];
				document.addEventListener("securitypolicyviolation", e => window.cspViolations.push(e.violatedDirective + " " + e.blockedURI));`,
		})
		return err
	})), "watch CSP violations")
	return &browser{t: t, ctx: tctx}
}

// checkCSP fails the test if the open page broke a rule of its
// Content-Security-Policy.
func (br *browser) checkCSP() {
	br.t.Helper()
	v, err := chromedp.Run(br.ctx, chromedp.Evaluate[[]string](`window.cspViolations || ["not watched"]`))
	require.NoError(br.t, err)
	assert.Empty(br.t, v, "Content-Security-Policy violations")
}

func (br *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	br.t.Helper()
	require.NoError(br.t, chromedp.Do(br.ctx, actions...), what)
}

func (br *browser) navigate(_ context.Context, url string) {
	br.t.Helper()
	br.run("navigate to "+url, chromedp.Navigate(url))
}

func (br *browser) viewport(_ context.Context, w, h int, mobile bool) {
	br.t.Helper()
	opts := []chromedp.EmulateViewportOption{}
	if mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateScale(3))
	}
	br.run(fmt.Sprintf("viewport %dx%d", w, h), chromedp.EmulateViewport(int64(w), int64(h), opts...))
}

// eval evaluates a JavaScript expression and returns its value as JSON
// decodes it (numbers are float64).
func (br *browser) eval(_ context.Context, expr string) any {
	br.t.Helper()
	v, err := chromedp.Run(br.ctx, chromedp.Evaluate[any](expr))
	require.NoError(br.t, err, "evaluate %s", expr)
	return v
}

// click clicks the element selector names, as a mouse would, and waits
// for the page it submits to load.
func (br *browser) click(_ context.Context, selector string) {
	br.t.Helper()
	res, err := chromedp.RunResponse(br.ctx, chromedp.Click(chromedp.CSS(selector), chromedp.NodeVisible))
	require.NoError(br.t, err, "click %s", selector)
	require.NotNil(br.t, res, "click %s: no page loaded", selector)
	assert.Equal(br.t, int64(200), res.Status, "click %s: the answer's status", selector)
}

// screenshot saves a PNG of the viewport to $BALANCER_ARTIFACTS, or to
// the test's temporary directory, and returns its path.
func (br *browser) screenshot(_ context.Context, name string) string {
	br.t.Helper()
	br.checkCSP()
	png, err := chromedp.Run(br.ctx, chromedp.CaptureScreenshot())
	require.NoError(br.t, err, "screenshot %s", name)
	dir := os.Getenv("BALANCER_ARTIFACTS")
	if dir == "" {
		dir = br.t.TempDir()
	}
	path := filepath.Join(dir, name)
	require.NoError(br.t, os.WriteFile(path, png, 0o644))
	br.t.Logf("screenshot: %s (%d bytes)", path, len(png))
	return path
}

// closedPort returns the URL of a loopback port nothing listens on.
var closedPort = balancertest.ClosedURL

// scrollTo scrolls the first element selector names to the top of the
// viewport.
func (br *browser) scrollTo(ctx context.Context, selector string) {
	br.t.Helper()
	br.eval(ctx, fmt.Sprintf(`document.querySelector(%q).scrollIntoView(); true`, selector))
}
