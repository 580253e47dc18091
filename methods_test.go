package balancer_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/lbmethod"
)

// bybusyness through real backends: with long requests in flight on b1 and
// b2, every new request goes to b3 (spec §5.3, verified on Apache).
func TestByBusynessInFlight(t *testing.T) {
	var bks []*backend
	var ms []balancer.Member
	for i := range 3 {
		bk := newBackend(t, fmt.Sprintf("b%d", i+1), "ok")
		bks = append(bks, bk)
		ms = append(ms, balancer.Member{URL: bk.srv.URL})
	}
	bks[0].mode, bks[1].mode = "block", "block" // before any request: no race
	b := mustNew(t, balancer.Config{Name: "busy", Members: ms, Method: lbmethod.MethodByBusyness})
	front := httptest.NewServer(b)
	t.Cleanup(front.Close)
	done := make(chan struct{}, 2)
	for range 2 { // the first two picks: b1, then b2, both held
		go func() {
			res, err := http.Get(front.URL + "/long")
			if err == nil {
				res.Body.Close()
			}
			done <- struct{}{}
		}()
		select { // wait for this one to arrive before sending the next
		case <-bks[0].arrived:
		case <-bks[1].arrived:
		}
	}
	if m := b.Members(); m[0].Busy != 1 || m[1].Busy != 1 || m[2].Busy != 0 {
		t.Fatalf("busy %d %d %d, want 1 1 0", m[0].Busy, m[1].Busy, m[2].Busy)
	}
	for _, bk := range bks[:2] { // new requests would be answered at once
		bk.mu.Lock()
		bk.mode = "ok"
		bk.mu.Unlock()
	}
	for i := range 5 {
		res, err := http.Get(front.URL + "/short")
		if err != nil {
			t.Fatal(err)
		}
		body := new(bytes.Buffer)
		body.ReadFrom(res.Body)
		res.Body.Close()
		if body.String() != "b3" {
			t.Errorf("short request %d went to %s while b1 and b2 were busy", i, body)
		}
	}
	close(bks[0].release)
	close(bks[1].release)
	<-done
	<-done
}

// bytraffic through real backends: after a 2 MB upload to b1, the following
// requests go to b2 (spec §5.2, verified on Apache).
func TestByTrafficBodies(t *testing.T) {
	b1, b2 := newBackend(t, "b1", "ok"), newBackend(t, "b2", "ok")
	b := mustNew(t, balancer.Config{Name: "traffic", Method: lbmethod.MethodByTraffic,
		Members: []balancer.Member{{URL: b1.srv.URL}, {URL: b2.srv.URL}}})
	front := httptest.NewServer(b)
	t.Cleanup(front.Close)
	res, err := http.Post(front.URL+"/upload", "application/octet-stream", bytes.NewReader(make([]byte, 2<<20)))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := b1.received(); len(got) != 1 || got[0] != 2<<20 {
		t.Fatalf("b1 received %v, want the 2 MB upload first", got)
	}
	for range 20 {
		res, err := http.Get(front.URL + "/small")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	if n := len(b1.received()); n != 1 {
		t.Errorf("b1 got %d more requests after its 2 MB upload, want 0", n-1)
	}
	if m := b.Members(); m[0].Transferred < 2<<20 {
		t.Errorf("b1 transferred %d, want the upload counted", m[0].Transferred)
	}
}

// Slow start: a member added to a running balancer ramps up its share over
// the window instead of taking half the requests at once.
func TestSlowStartRamp(t *testing.T) {
	clk := newClock()
	b := mustNew(t, balancer.Config{Members: members("a"), Transport: newStub(), Now: clk.Now, SlowStart: 10 * time.Second})
	if err := b.Update(members("a", "n")); err != nil {
		t.Fatal(err)
	}
	share := func() float64 {
		got := seq(t, b, 400, nil)
		return float64(strings.Count(strings.Join(got, " "), "n")) / 400
	}
	at0 := share()
	clk.Advance(5 * time.Second)
	at5 := share()
	clk.Advance(6 * time.Second)
	at11 := share()
	t.Logf("new member's share: %.3f at 0s, %.3f at 5s, %.3f after the window", at0, at5, at11)
	// Weights n/a: 1%, ~50%, 100% of a's.
	if at0 > 0.02 || at5 < 0.28 || at5 > 0.38 || at11 != 0.5 {
		t.Errorf("shares %.3f, %.3f, %.3f; want about 0.01, 0.33, 0.5", at0, at5, at11)
	}
	// Re-enabling a member ramps it too.
	b.SetStatus("http://n", balancer.StatusDisabled, 0)
	b.SetStatus("http://n", 0, balancer.StatusDisabled)
	if s := share(); s > 0.02 {
		t.Errorf("re-enabled member's share %.3f, want a ramp", s)
	}
}

// The heartbeat method through the balancer: picks follow the reported
// ready counts, members are matched by host.
func TestHeartbeatThroughBalancer(t *testing.T) {
	clk := newClock()
	tab := &lbmethod.HeartbeatTable{Now: clk.Now}
	tab.Record("10.0.0.1", lbmethod.HeartbeatReport{Ready: 30, Busy: 1, Seen: clk.Now()})
	tab.Record("10.0.0.2", lbmethod.HeartbeatReport{Ready: 10, Busy: 1, Seen: clk.Now()})
	tab.Record("10.0.0.3", lbmethod.HeartbeatReport{Ready: 0, Busy: 1, Seen: clk.Now()})
	seed := uint64(1)
	hb := lbmethod.MethodFunc("heartbeat", func() lbmethod.Scheduler {
		return &lbmethod.Heartbeat{Table: tab, Rand: func(n uint64) uint64 { seed = seed*6364136223846793005 + 1442695040888963407; return (seed >> 33) % n }}
	})
	b := mustNew(t, balancer.Config{Members: members("10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080 lbset=1"),
		Method: hb, Transport: newStub(), Now: clk.Now})
	got := map[string]int{}
	for _, h := range seq(t, b, 4000, nil) {
		got[h]++
	}
	t.Logf("shares over 4000 picks: %v", got)
	assert.Zero(t, got["10.0.0.3:8080"], "ready 0: never")
	assert.InDelta(t, 3000, got["10.0.0.1:8080"], 200, "ready 30 of 40: about 3000 of 4000")
}

// countingScheduler is byrequests with a count of Picks, per instance.
type countingScheduler struct {
	lbmethod.ByRequests
	picks int
}

func (c *countingScheduler) Pick(cands []*lbmethod.Member) int {
	c.picks++
	return c.ByRequests.Pick(cands)
}

// The balancer owns its scheduler: one Method configures two balancers,
// each gets its own instance from New, and New is called again only when
// the configuration names another Method value.
func TestMethodOwnership(t *testing.T) {
	var made []*countingScheduler
	method := lbmethod.MethodFunc("counting", func() lbmethod.Scheduler {
		s := &countingScheduler{}
		made = append(made, s)
		return s
	})
	b1 := mustNew(t, balancer.Config{Name: "one", Members: members("a", "b"), Method: method, Transport: newStub()})
	b2 := mustNew(t, balancer.Config{Name: "two", Members: members("a", "b"), Method: method, Transport: newStub()})
	require.Len(t, made, 2, "one scheduler per balancer")
	seq(t, b1, 3, nil)
	seq(t, b2, 5, nil)
	assert.Equal(t, 3, made[0].picks)
	assert.Equal(t, 5, made[1].picks)

	require.NoError(t, b1.Update(members("a", "b", "c")))
	require.NoError(t, b1.Reconfigure(func(c *balancer.Config) error { c.NoFailover = true; return nil }))
	require.NoError(t, b1.Reconfigure(func(c *balancer.Config) error { c.Method = method; return nil }))
	assert.Len(t, made, 2, "the same Method keeps the scheduler")

	// Another value of the same name: a new scheduler, the members'
	// state kept (no reset).
	serve(t, b1, "/", "")
	before := b1.Members()
	other := lbmethod.MethodFunc("counting", func() lbmethod.Scheduler { s := &countingScheduler{}; made = append(made, s); return s })
	require.NoError(t, b1.Reconfigure(func(c *balancer.Config) error { c.Method = other; return nil }))
	require.Len(t, made, 3)
	assert.Equal(t, before, b1.Members(), "same name: no reset")
	seq(t, b1, 2, nil)
	assert.Equal(t, 2, made[2].picks, "the new scheduler picks")
	assert.Equal(t, 4, made[0].picks, "the old one no longer does")

	bad := lbmethod.MethodFunc("nil", func() lbmethod.Scheduler { return nil })
	_, err := balancer.New(balancer.Config{Name: "bad", Members: members("a"), Method: bad})
	assert.ErrorContains(t, err, `method "nil"`)
}
