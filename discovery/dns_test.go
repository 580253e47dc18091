package discovery

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/proxybalancer/balancer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newBalancer(t *testing.T, urls ...string) *balancer.Balancer {
	t.Helper()
	cfg := balancer.Config{Name: "disc"}
	for _, u := range urls {
		cfg.Members = append(cfg.Members, balancer.Member{URL: u})
	}
	b, err := balancer.New(cfg)
	require.NoError(t, err)
	return b
}

// memberView is what the tests compare of a member.
type memberView struct {
	URL        string
	LBSet      int
	LoadFactor float64
}

func view(b *balancer.Balancer) []memberView {
	var out []memberView
	for _, m := range b.Members() {
		out = append(out, memberView{m.URL, m.LBSet, m.LoadFactor})
	}
	return out
}

func TestDNSSRVPriorityAndWeight(t *testing.T) {
	srv := startDNS(t)
	srv.set(t,
		"_http._tcp.api.test. 30 IN SRV 10 5 8081 b.api.test.",
		"_http._tcp.api.test. 30 IN SRV 10 300 8080 a.api.test.",
		"_http._tcp.api.test. 30 IN SRV 20 0 9090 spare.api.test.",
	)
	b := newBalancer(t, "http://placeholder:1")
	d := &DNS{Members: &MemberSet{Balancer: b}, SRV: "_http._tcp.api.test.", Resolver: srv.resolver()}
	res := d.Refresh(context.Background())
	require.NoError(t, res.Err)
	want := []memberView{
		{"http://a.api.test:8080", 0, 100}, // weight 300 clamped to 100
		{"http://b.api.test:8081", 0, 5},
		{"http://spare.api.test:9090", 1, 1}, // priority 20 ranks second; weight 0 is 1
	}
	assert.Empty(t, cmp.Diff(want, view(b)))
	assert.Equal(t, []string{"http://a.api.test:8080", "http://b.api.test:8081", "http://spare.api.test:9090"}, res.Diff.Added)
	assert.Equal(t, []string{"http://placeholder:1"}, res.Diff.Removed)

	// The same answer again changes nothing.
	res = d.Refresh(context.Background())
	require.NoError(t, res.Err)
	assert.True(t, res.Diff.Empty(), "%+v", res.Diff)
}

func TestDNSSRVResolveTargets(t *testing.T) {
	srv := startDNS(t)
	srv.set(t,
		"_app._tcp.svc.test. 30 IN SRV 0 1 7000 n1.svc.test.",
		"n1.svc.test. 30 IN A 127.0.0.2",
		"n1.svc.test. 30 IN AAAA ::1",
	)
	b := newBalancer(t, "http://placeholder:1")
	d := &DNS{Members: &MemberSet{Balancer: b}, SRV: "_app._tcp.svc.test", ResolveTargets: true, Scheme: "https", Path: "/app", Resolver: srv.resolver()}
	require.NoError(t, d.Refresh(context.Background()).Err)
	want := []memberView{{"https://127.0.0.2:7000/app", 0, 1}, {"https://[::1]:7000/app", 0, 1}}
	assert.Empty(t, cmp.Diff(want, view(b)))

	d.Network = "ip4"
	require.NoError(t, d.Refresh(context.Background()).Err)
	assert.Empty(t, cmp.Diff(want[:1], view(b)))
}

func TestDNSHostAddresses(t *testing.T) {
	srv := startDNS(t)
	srv.set(t,
		"web.test. 30 IN A 127.0.0.3",
		"web.test. 30 IN A 127.0.0.2",
		"web.test. 30 IN AAAA ::1",
	)
	b := newBalancer(t, "http://placeholder:1")
	tmpl := balancer.Member{LoadFactor: 7, Route: "ignored-by-nobody"}
	d := &DNS{Members: &MemberSet{Balancer: b, Template: tmpl}, Host: "web.test", Port: 8080, Resolver: srv.resolver()}
	require.NoError(t, d.Refresh(context.Background()).Err)
	want := []memberView{{"http://127.0.0.2:8080", 0, 7}, {"http://127.0.0.3:8080", 0, 7}, {"http://[::1]:8080", 0, 7}}
	assert.Empty(t, cmp.Diff(want, view(b)))
}

// logRecords collects log records.
type logRecords struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.msgs = append(l.msgs, r.Level.String()+" "+r.Message)
	l.mu.Unlock()
	return nil
}
func (l *logRecords) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecords) WithGroup(string) slog.Handler      { return l }
func (l *logRecords) count(prefix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if strings.HasPrefix(m, prefix) {
			n++
		}
	}
	return n
}

func TestDNSKeepsLastGoodAnswer(t *testing.T) {
	srv := startDNS(t)
	srv.set(t, "web.test. 30 IN A 127.0.0.2")
	b := newBalancer(t, "http://placeholder:1")
	logs := &logRecords{}
	d := &DNS{Members: &MemberSet{Balancer: b}, Host: "web.test", Port: 80, Resolver: srv.resolver(), Logger: slog.New(logs)}
	require.NoError(t, d.Refresh(context.Background()).Err)
	good := view(b)
	require.Len(t, good, 1)

	cases := []struct {
		name  string
		setup func()
	}{
		{"SERVFAIL", srv.fail},
		{"NXDOMAIN", func() { srv.set(t) }},
		{"no A records", func() { srv.set(t, "web.test. 30 IN TXT \"x\"") }},
	}
	for _, c := range cases {
		c.setup()
		for range 2 {
			res := d.Refresh(context.Background())
			assert.Error(t, res.Err, c.name)
			assert.Empty(t, cmp.Diff(good, view(b)), c.name)
			st := d.Status()
			assert.Error(t, st.Err, c.name)
			assert.Equal(t, []string{"http://127.0.0.2"}, st.Members, c.name)
			assert.False(t, st.FailingSince.IsZero(), c.name)
		}
	}
	assert.Equal(t, 1, logs.count("WARN discovery: DNS lookup failed"), "one warning per outage: %q", logs.msgs)

	srv.set(t, "web.test. 30 IN A 127.0.0.3")
	res := d.Refresh(context.Background())
	require.NoError(t, res.Err)
	assert.Equal(t, []memberView{{"http://127.0.0.3", 0, 1}}, view(b))
	assert.Equal(t, 1, logs.count("INFO discovery: DNS lookup works again"))
	st := d.Status()
	assert.NoError(t, st.Err)
	assert.True(t, st.FailingSince.IsZero() || !st.LastSuccess.Before(st.FailingSince))
}

func TestDNSConfigErrors(t *testing.T) {
	b := newBalancer(t, "http://placeholder:1")
	for _, c := range []struct {
		d    *DNS
		want string
	}{
		{&DNS{Host: "x"}, "Members.Balancer is required"},
		{&DNS{Members: &MemberSet{Balancer: b}}, "needs SRV or Host"},
		{&DNS{Members: &MemberSet{Balancer: b}, Host: "x", Port: 0}, "DNS.Port 0"},
		{&DNS{Members: &MemberSet{Balancer: b}, Host: "x", Port: 1, Scheme: "ftp"}, `DNS.Scheme "ftp"`},
		{&DNS{Members: &MemberSet{Balancer: b}, Host: "x", Port: 1, Network: "tcp"}, `DNS.Network "tcp"`},
	} {
		err := c.d.Run(context.Background())
		assert.ErrorContains(t, err, c.want)
	}
}

// TestDNSRunInterval runs Run on a fake clock: one lookup at once, one per
// Interval after that, and an end with the context.
func TestDNSRunInterval(t *testing.T) {
	srv := startDNS(t)
	srv.set(t, "web.test. 30 IN A 127.0.0.2")
	// The resolver's package-level state is made on first use: make it
	// outside the bubble, so that no channel of it belongs to the bubble.
	_, err := srv.resolver().LookupNetIP(context.Background(), "ip", "web.test")
	require.NoError(t, err)
	synctest.Test(t, func(t *testing.T) {
		b := newBalancer(t, "http://placeholder:1")
		refreshed := make(chan Result, 10)
		d := &DNS{
			Members: &MemberSet{Balancer: b}, Host: "web.test", Port: 80,
			Resolver: srv.resolver(), Interval: 30 * time.Second,
			OnRefresh: func(r Result) { refreshed <- r },
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- d.Run(ctx) }()
		r := <-refreshed
		require.NoError(t, r.Err)
		assert.Equal(t, []string{"http://127.0.0.2"}, r.Diff.Added)
		assert.Equal(t, time.Duration(0), time.Since(start))

		srv.set(t, "web.test. 30 IN A 127.0.0.3")
		r = <-refreshed
		require.NoError(t, r.Err)
		assert.Equal(t, 30*time.Second, time.Since(start))
		assert.Equal(t, []string{"http://127.0.0.3"}, r.Diff.Added)
		cancel()
		assert.ErrorIs(t, <-done, context.Canceled)
	})
}

func ExampleDNS() {
	b, err := balancer.New(balancer.Config{
		Name:    "api",
		Members: []balancer.Member{{URL: "http://api-seed.internal:8080"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	d := &DNS{
		Members:  &MemberSet{Balancer: b},
		SRV:      "_http._tcp.api.internal",
		Interval: 10 * time.Second, // the records' TTL
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a real program runs d.Run until it shuts down
	fmt.Println(d.Run(ctx))
	// Output: context canceled
}
