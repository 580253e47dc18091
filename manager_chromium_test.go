//go:build chromium

// The balancer-manager in a real headless Chromium (Debian's package
// "chromium"), driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe), with the standard library only. Run with
//
//	go test -tags chromium -run Chromium .
//
// Screenshots go to $BALANCER_ARTIFACTS when set, else to the test's
// temporary directory; their paths are logged.

package balancer_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"

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

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/healthcheck"
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
	mgr, err := balancer.NewManager(balancer.ManagerConfig{Balancers: []*balancer.Balancer{b}, Growth: 1})
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

// browser is one headless Chromium page driven over the DevTools pipe.
type browser struct {
	t       *testing.T
	w       io.Writer
	session string
	dir     string // where screenshots go

	mu      sync.Mutex
	nextID  int
	waiting map[int]chan cdpMessage
	events  chan cdpMessage
}

type cdpMessage struct {
	ID        int             `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *cdpError       `json:"error,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
}

type cdpError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// startChromium starts Chromium with a fresh profile, no network access
// beyond loopback, and the DevTools protocol on fds 3 and 4, and opens a
// page. Chromium is stopped at the end of the test.
func startChromium(ctx context.Context, t *testing.T, path string) *browser {
	t.Helper()
	profile := t.TempDir()
	toChrome, chromeIn, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	chromeOut, fromChrome, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(path,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--disable-quic", "--no-first-run", "--no-default-browser-check",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-default-apps", "--disable-extensions", "--hide-scrollbars", "--mute-audio",
		"--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
		"--user-data-dir="+profile, "--remote-debugging-pipe", "about:blank")
	cmd.ExtraFiles = []*os.File{toChrome, fromChrome} // fd 3: its input, fd 4: its output
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	toChrome.Close()
	fromChrome.Close()
	done := make(chan struct{})
	t.Cleanup(func() {
		chromeIn.Close()
		cmd.Process.Kill()
		cmd.Wait()
		chromeOut.Close()
		<-done
		if t.Failed() {
			t.Logf("chromium stderr:\n%s", stderr.String())
		}
	})
	br := &browser{t: t, w: chromeIn, waiting: map[int]chan cdpMessage{}, events: make(chan cdpMessage, 256)}
	br.dir = os.Getenv("BALANCER_ARTIFACTS")
	if br.dir == "" {
		br.dir = t.TempDir()
	} else if err := os.MkdirAll(br.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	go br.read(chromeOut, done)

	var target struct{ TargetID string }
	br.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var attached struct{ SessionID string }
	br.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached)
	br.session = attached.SessionID
	br.call(ctx, br.session, "Page.enable", nil, nil)
	return br
}

// read delivers Chromium's messages: answers to their callers, events to
// the events channel (dropping them when nobody keeps up).
func (br *browser) read(r io.Reader, done chan struct{}) {
	defer close(done)
	buf := make([]byte, 0, 1<<20)
	chunk := make([]byte, 64<<10)
	for {
		n, err := r.Read(chunk)
		buf = append(buf, chunk[:n]...)
		for {
			i := bytes.IndexByte(buf, 0)
			if i < 0 {
				break
			}
			var m cdpMessage
			if json.Unmarshal(buf[:i], &m) == nil {
				if m.ID != 0 {
					br.mu.Lock()
					ch := br.waiting[m.ID]
					delete(br.waiting, m.ID)
					br.mu.Unlock()
					if ch != nil {
						ch <- m
					}
				} else if m.SessionID == br.sessionID() {
					select {
					case br.events <- m:
					default:
					}
				}
			}
			buf = buf[i+1:]
		}
		if err != nil {
			return
		}
	}
}

func (br *browser) sessionID() string {
	br.mu.Lock()
	defer br.mu.Unlock()
	return br.session
}

// call sends a command and decodes its result into out.
func (br *browser) call(ctx context.Context, session, method string, params any, out any) {
	br.t.Helper()
	br.mu.Lock()
	br.nextID++
	id := br.nextID
	ch := make(chan cdpMessage, 1)
	br.waiting[id] = ch
	br.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	data, _ := json.Marshal(msg)
	if _, err := br.w.Write(append(data, 0)); err != nil {
		br.t.Fatalf("%s: %v", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			br.t.Fatalf("%s: %s", method, m.Error.Message)
		}
		if out != nil {
			if err := json.Unmarshal(m.Result, out); err != nil {
				br.t.Fatalf("%s: %v", method, err)
			}
		}
	case <-ctx.Done():
		br.t.Fatalf("%s: %v", method, ctx.Err())
	}
}

// waitEvent waits for the page's next event named method.
func (br *browser) waitEvent(ctx context.Context, method string) {
	br.t.Helper()
	for {
		select {
		case m := <-br.events:
			if m.Method == method {
				return
			}
		case <-ctx.Done():
			br.t.Fatalf("waiting for %s: %v", method, ctx.Err())
		}
	}
}

// drain forgets the events received so far.
func (br *browser) drain() {
	for {
		select {
		case <-br.events:
		default:
			return
		}
	}
}

func (br *browser) navigate(ctx context.Context, url string) {
	br.t.Helper()
	br.drain()
	br.call(ctx, br.session, "Page.navigate", map[string]any{"url": url}, nil)
	br.waitEvent(ctx, "Page.loadEventFired")
}

func (br *browser) viewport(ctx context.Context, w, h int, mobile bool) {
	br.t.Helper()
	br.call(ctx, br.session, "Emulation.setDeviceMetricsOverride",
		map[string]any{"width": w, "height": h, "deviceScaleFactor": 1, "mobile": mobile}, nil)
}

// eval evaluates a JavaScript expression in the page and returns its value.
func (br *browser) eval(ctx context.Context, expr string) any {
	br.t.Helper()
	var res struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	br.call(ctx, br.session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &res)
	if res.ExceptionDetails != nil {
		br.t.Fatalf("evaluate %s: %s", expr, res.ExceptionDetails.Text)
	}
	return res.Result.Value
}

// click scrolls the element into view and clicks its middle with the
// mouse, then waits for the page the click loads.
func (br *browser) click(ctx context.Context, selector string) {
	br.t.Helper()
	js, _ := json.Marshal(selector)
	box := br.eval(ctx, fmt.Sprintf(`(() => { const e = document.querySelector(%s); if (!e) return null;
		e.scrollIntoView({block: "center"}); const r = e.getBoundingClientRect();
		return [r.x + r.width/2, r.y + r.height/2] })()`, js))
	xy, ok := box.([]any)
	if !ok || len(xy) != 2 {
		br.t.Fatalf("click: no element %s", selector)
	}
	br.drain()
	for _, typ := range []string{"mouseMoved", "mousePressed", "mouseReleased"} {
		br.call(ctx, br.session, "Input.dispatchMouseEvent",
			map[string]any{"type": typ, "x": xy[0], "y": xy[1], "button": "left", "clickCount": 1}, nil)
	}
	br.waitEvent(ctx, "Page.loadEventFired")
}

// screenshot saves the whole page as a PNG in the artifacts directory.
func (br *browser) screenshot(ctx context.Context, name string) {
	br.t.Helper()
	var metrics struct {
		CSSContentSize struct{ Width, Height float64 } `json:"cssContentSize"`
	}
	br.call(ctx, br.session, "Page.getLayoutMetrics", nil, &metrics)
	var shot struct{ Data string }
	br.call(ctx, br.session, "Page.captureScreenshot", map[string]any{
		"format": "png", "captureBeyondViewport": true,
		"clip": map[string]any{"x": 0, "y": 0, "width": metrics.CSSContentSize.Width, "height": metrics.CSSContentSize.Height, "scale": 1},
	}, &shot)
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		br.t.Fatalf("screenshot %s: not a PNG (%v)", name, err)
	}
	path := filepath.Join(br.dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		br.t.Fatal(err)
	}
	br.t.Logf("screenshot: %s", path)
}
