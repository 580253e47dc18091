package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer/httpdconf"
)

// syncBuffer is a strings.Builder safe for the concurrent writes of run.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// listen opens a loopback listener closed at the end of the test.
func listen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// The shipped balancer.conf, with its member addresses moved to free
// loopback ports, serves through the demo backends: sticky routing by
// cookie and URL, scheduling, the route cookie, an exclusion, and the
// manager for loopback clients.
func TestShippedConfig(t *testing.T) {
	src, err := os.ReadFile("balancer.conf")
	if err != nil {
		t.Fatal(err)
	}
	listeners := map[string]net.Listener{}
	conf := regexp.MustCompile(`127\.0\.0\.1:18\d\d\d`).ReplaceAllStringFunc(string(src), func(addr string) string {
		l := listen(t)
		listeners[l.Addr().String()] = l
		return l.Addr().String()
	})
	if len(listeners) != 6 {
		t.Fatalf("%d member addresses in balancer.conf, want 6", len(listeners))
	}
	path := filepath.Join(t.TempDir(), "balancer.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	front := listen(t)
	base := "http://" + front.Addr().String()
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	reload := make(chan struct{})
	go func() {
		done <- run(ctx, front, options{conf: path, backends: true, listeners: listeners, reload: reload}, &out)
	}()

	client := &http.Client{}
	get := func(target, cookie string) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+target, nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		res, err := client.Do(req) // the listener is open: the request waits in its backlog
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b), res.Header.Get("Set-Cookie")
	}
	steps := []struct {
		name, target, cookie string
		status               int
		body, setCookie      string
	}{
		{"Tomcat session cookie", "/shop/cart", "JSESSIONID=abc.tc2", 200, "tc2 served GET /app/shop/cart", ""},
		{"Tomcat ;jsessionid path parameter", "/shop/cart;jsessionid=abc.tc1;x=1", "", 200, "tc1 served GET /app/shop/cart;jsessionid=abc.tc1;x=1", ""},
		{"the standby's own session", "/shop/cart", "JSESSIONID=abc.tc3", 200, "tc3 served", ""},
		{"PHP first visit: route cookie", "/index.php", "", 200, "1 served GET /index.php", "ROUTEID=.1; path=/"},
		{"PHP second visitor", "/index.php", "", 200, "2 served GET /index.php", "ROUTEID=.2; path=/"},
		{"PHP session", "/page", "ROUTEID=.2", 200, "2 served GET /page (Cookie: ROUTEID=.2)", ""},
		{"the second tier's session", "/page", "ROUTEID=.3", 200, "3 served", ""},
		{"excluded", "/shop/static/logo.png", "", 404, "404 not proxied", ""},
		{"manager", "/balancer-manager", "", 200, "", ""},
	}
	for _, s := range steps {
		status, body, set := get(s.target, s.cookie)
		if status != s.status || !strings.HasPrefix(body, s.body) || set != s.setCookie {
			t.Errorf("%s: GET %s = %d %q Set-Cookie %q; want %d %q... Set-Cookie %q",
				s.name, s.target, status, body, set, s.status, s.body, s.setCookie)
		}
	}
	// The manager page lists both balancers.
	if _, body, _ := get("/balancer-manager?json", ""); !strings.Contains(body, "tomcat") || !strings.Contains(body, "php") {
		t.Errorf("manager JSON does not list the balancers:\n%.300s", body)
	}
	// SIGHUP: the configuration without the /shop/static exclusion is
	// applied; the same balancers serve it.
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(conf, `ProxyPass        "/shop/static" "!"`, "", 1)), 0o644))
	reload <- struct{}{}
	for !strings.Contains(out.String(), "reloaded ") {
		runtime.Gosched()
	}
	if status, body, _ := get("/shop/static/logo.png", "JSESSIONID=abc.tc2"); status != 200 || !strings.HasPrefix(body, "tc2 served GET /app/shop/static/logo.png") {
		t.Errorf("after the reload: GET /shop/static/logo.png = %d %q", status, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	printed := out.String()
	for _, want := range []string{
		"balancer-manager on " + base + "/balancer-manager",
		"/shop/ -> balancer://tomcat/shop/",
		"demo backend tc1 on ",
	} {
		if !strings.Contains(printed, want) {
			t.Errorf("output lacks %q:\n%s", want, printed)
		}
	}
}

// The shipped configuration's "Require ip 127.0.0.1" keeps the manager
// from other clients.
func TestManagerRequire(t *testing.T) {
	l, err := httpdconf.Load("balancer.conf", httpdconf.Options{StateFile: filepath.Join(t.TempDir(), "state.json")})
	require.NoError(t, err)
	for _, tt := range []struct {
		remote string
		want   int
	}{
		{"127.0.0.1:5000", http.StatusOK},
		{"[::ffff:127.0.0.1]:5000", http.StatusOK},
		{"127.1.2.3:5000", http.StatusForbidden},
		{"[::1]:5000", http.StatusForbidden},
		{"192.0.2.7:5000", http.StatusForbidden},
		{"garbage", http.StatusForbidden},
	} {
		req := httptest.NewRequest("GET", "http://127.0.0.1/balancer-manager", nil)
		req.RemoteAddr = tt.remote
		rec := httptest.NewRecorder()
		l.Handler.ServeHTTP(rec, req)
		assert.Equal(t, tt.want, rec.Code, "from %s", tt.remote)
	}
}

// A configuration error stops run, naming the file, the line and the
// directive.
func TestConfigError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.conf")
	if err := os.WriteFile(path, []byte("<Proxy balancer://c>\nBalancerMember ajp://h:8009\n</Proxy>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), listen(t), options{conf: path}, io.Discard)
	if err == nil || !strings.HasPrefix(err.Error(), path+":2: BalancerMember: ") {
		t.Errorf("run = %v, want an error at %s:2 naming BalancerMember", err, path)
	}
}
