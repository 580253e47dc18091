package httpdconf_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/httpdconf"
	"github.com/proxybalancer/balancer/internal/balancertest"
)

// reloadMembers starts n echo members answering with their index.
func reloadMembers(t *testing.T, n int) []string {
	var urls []string
	for i := range n {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "m%d", i+1)
		}))
		t.Cleanup(srv.Close)
		urls = append(urls, srv.URL)
	}
	return urls
}

// deadURL is a loopback address nobody listens on.
var deadURL = balancertest.ClosedURL

func memberStats(b *balancer.Balancer) map[string]balancer.MemberStats {
	out := map[string]balancer.MemberStats{}
	for _, m := range b.Members() {
		out[m.URL] = m
	}
	return out
}

// A reload under 50 clients fails no request; members that stay keep
// their counters, their error state and the manager's edits; removed
// members drain; added ones serve.
func TestReloadUnderLoad(t *testing.T) {
	m := reloadMembers(t, 4)
	dead := deadURL(t)
	other := "other"
	conf := func(members ...string) *httpdconf.Config {
		var b strings.Builder
		// /o is served by a balancer whose name changes at each reload:
		// the old one is removed while requests are in flight on it.
		fmt.Fprintf(&b, "ProxyPass /o balancer://%s/\nBalancerMember balancer://%s %s\n", other, other, m[3])
		b.WriteString("ProxyPass / balancer://app/\n<Proxy balancer://app>\n")
		for _, mem := range members {
			fmt.Fprintf(&b, "BalancerMember %s\n", mem)
		}
		b.WriteString("</Proxy>\n<Location /balancer-manager>\nSetHandler balancer-manager\nRequire local\n</Location>\nProxyPass /balancer-manager !\n")
		c, err := httpdconf.ReadReader("app.conf", strings.NewReader(b.String()), httpdconf.Options{})
		require.NoError(t, err)
		return c
	}
	c1 := conf(m[0], m[1], m[2], dead+" retry=600")
	l, err := c1.Build(nil)
	require.NoError(t, err)
	b := l.Balancer("app")
	front := httptest.NewServer(l.Handler)
	t.Cleanup(front.Close)

	var ok, failed atomic.Int64
	var failures sync.Map
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer client.CloseIdleConnections()
			for {
				select {
				case <-stop:
					return
				default:
				}
				path := "/x"
				if ok.Load()%2 == 0 {
					path = "/o/x"
				}
				res, err := client.Get(front.URL + path)
				if err != nil {
					failed.Add(1)
					failures.Store(err.Error(), true)
					continue
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					failed.Add(1)
					failures.Store(fmt.Sprintf("%d %s", res.StatusCode, body), true)
					continue
				}
				ok.Add(1)
			}
		})
	}
	waitFor := func(n int64) {
		for ok.Load()+failed.Load() < n {
			runtime.Gosched()
		}
	}
	waitFor(600)

	// The manager's edit: m3 disabled. The dead member is in error.
	norm := func(u string) string { s, _ := balancer.NormalizeURL(u); return s }
	require.NoError(t, b.Apply(balancer.Change{Source: "manager", Members: []balancer.MemberChange{{URL: m[2], Set: "D"}}}))
	before := memberStats(b)
	require.True(t, before[norm(dead)].Status.Has(balancer.StatusError), "the dead member is in error: %v", before[norm(dead)].Status)

	// Reload: m2 removed, m4 added, m1's load factor changed; /o served
	// by another balancer.
	other = "other2"
	l2, err := l.Reload(conf(m[0]+" loadfactor=2", m[2], dead+" retry=600", m[3]), nil)
	require.NoError(t, err)
	waitFor(ok.Load() + failed.Load() + 600)
	// Reload back to the first configuration.
	oldOther := l2.Balancer("other2")
	l3, err := l2.Reload(c1, nil)
	require.NoError(t, err)
	waitFor(ok.Load() + failed.Load() + 600)
	close(stop)
	wg.Wait()

	t.Logf("reloads under 50 clients: %d requests, %d failed", ok.Load()+failed.Load(), failed.Load())
	failures.Range(func(k, _ any) bool { t.Logf("failure: %v", k); return true })
	assert.Zero(t, failed.Load(), "failed requests")

	assert.Same(t, b, l3.Balancer("app"), "the balancer stays the same")
	after := memberStats(b)
	assert.Greater(t, after[norm(m[0])].Elected, before[norm(m[0])].Elected, "m1 keeps counting from where it was")
	assert.True(t, after[norm(m[2])].Status.Has(balancer.StatusDisabled), "m3 stays disabled (the manager's edit)")
	assert.Equal(t, before[norm(m[2])].Elected, after[norm(m[2])].Elected, "a disabled member gets nothing")
	assert.True(t, after[norm(dead)].Status.Has(balancer.StatusError), "the dead member stays in error")
	assert.Equal(t, before[norm(dead)].ErrorSince, after[norm(dead)].ErrorSince, "its error state is the same one")
	assert.Contains(t, after, norm(m[1]), "m2 is back")
	assert.NotContains(t, after, norm(m[3]), "m4 is gone again")
	assert.Nil(t, l3.Balancer("other2"))
	require.NotNil(t, oldOther)
	assert.NotNil(t, l3.Balancer("other"), "a new balancer of the name")
}

// With BalancerPersist On, the manager's edits of members that stay win
// over the reloaded configuration, as httpd's persisted state does.
func TestReloadPersist(t *testing.T) {
	m := reloadMembers(t, 2)
	state := filepath.Join(t.TempDir(), "state.json")
	src := "BalancerPersist On\nProxyPass / balancer://app/ stickysession=S\n<Proxy balancer://app>\nBalancerMember " + m[0] + " route=a\nBalancerMember " + m[1] + " route=b loadfactor=%s\n</Proxy>\n"
	read := func(lf string) *httpdconf.Config {
		c, err := httpdconf.ReadReader("app.conf", strings.NewReader(fmt.Sprintf(src, lf)), httpdconf.Options{StateFile: state})
		require.NoError(t, err)
		return c
	}
	l, err := read("1").Build(nil)
	require.NoError(t, err)
	b := l.Balancer("app")
	norm, _ := balancer.NormalizeURL(m[1])
	require.NoError(t, b.Apply(balancer.Change{Source: "manager", Members: []balancer.MemberChange{{URL: m[1], LoadFactor: ptr(7.0), Route: ptr("z")}}}))

	_, err = l.Reload(read("3"), nil)
	require.NoError(t, err)
	got := memberStats(b)[norm]
	assert.Equal(t, 7.0, got.LoadFactor, "the manager's load factor wins")
	assert.Equal(t, "z", got.Route, "the manager's route wins")

	// Without BalancerPersist the configuration wins.
	srcOff := strings.Replace(src, "BalancerPersist On\n", "", 1)
	c, err := httpdconf.ReadReader("app.conf", strings.NewReader(fmt.Sprintf(srcOff, "3")), httpdconf.Options{})
	require.NoError(t, err)
	_, err = l.Reload(c, nil)
	require.NoError(t, err)
	got = memberStats(b)[norm]
	assert.Equal(t, 3.0, got.LoadFactor)
	assert.Equal(t, "b", got.Route)
}

func ptr[T any](v T) *T { return &v }

// A reload that the new configuration makes invalid changes nothing.
func TestReloadError(t *testing.T) {
	m := reloadMembers(t, 1)
	c, err := httpdconf.ReadReader("a.conf", strings.NewReader("ProxyPass / balancer://app/\nBalancerMember balancer://app "+m[0]+"\n"), httpdconf.Options{})
	require.NoError(t, err)
	l, err := c.Build(nil)
	require.NoError(t, err)
	next, err := httpdconf.ReadReader("b.conf", strings.NewReader("ProxyPass /y balancer://app/\nBalancerMember balancer://app "+m[0]+"\n"), httpdconf.Options{})
	require.NoError(t, err)
	_, err = l.Reload(next, func(cfg *balancer.Config) { cfg.RoutePattern = "(" })
	require.Error(t, err)
	t.Log(err)
	rec := httptest.NewRecorder()
	l.Handler.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "m1", rec.Body.String())
}
