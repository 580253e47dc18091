package balancer_test

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/lbmethod"
)

func hashMethod(t *testing.T, cfg lbmethod.HashConfig) lbmethod.Method {
	t.Helper()
	m, err := lbmethod.MethodHash(cfg)
	require.NoError(t, err)
	return m
}

// userRequest is a request of user u (header X-User), with a session
// cookie when cookie is not "".
func userRequest(u, cookie string) *http.Request {
	r := httptest.NewRequest("GET", "http://front.example/x", nil)
	if u != "" {
		r.Header.Set("X-User", u)
	}
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	return r
}

// TestHashUnderTiers: the hashing method works inside Apache's tiers as
// every method does: the lbset 0 members share the keys (never a draining
// member, a standby or lbset 1); a member out of use gives away only its
// keys; when no regular member of lbset 0 is usable its standby takes
// them, then lbset 1; a request with a route goes to the route's owner; a
// request without a key is scheduled as byrequests.
func TestHashUnderTiers(t *testing.T) {
	b := mustNew(t, balancer.Config{
		Method:        hashMethod(t, lbmethod.HashConfig{Key: lbmethod.HashKey{Source: lbmethod.KeyHeader, Name: "x-user"}}),
		StickySession: "JSESSIONID",
		Transport:     newStub(),
		Members: members("a1 route=r1", "a2 route=r2", "a3 route=r3", "a4 route=r4",
			"n1 status=+N", "h1 status=+H", "b1 lbset=1"),
	})
	const users = 2000
	where := func() map[string]string {
		out := map[string]string{}
		for i := range users {
			u := fmt.Sprint("user", i)
			d := b.Decide(userRequest(u, ""))
			out[u] = d.Member
			if d.Member != "" {
				require.Equal(t, balancer.ReasonScheduled, d.Reason)
			}
		}
		return out
	}
	count := func(m map[string]string) map[string]int {
		c := map[string]int{}
		for _, v := range m {
			c[v]++
		}
		return c
	}
	before := where()
	shares := count(before)
	t.Logf("%d users over the lbset 0 members: %v", users, shares)
	assert.Len(t, shares, 4)
	for _, h := range []string{"a1", "a2", "a3", "a4"} {
		assert.InDelta(t, users/4, shares["http://"+h], users/10, h)
	}
	assert.Equal(t, before, where(), "the same user goes to the same member")

	// A route wins over the key.
	d := b.Decide(userRequest("user1", "JSESSIONID=x.r3"))
	assert.Equal(t, "http://a3", d.Member)
	assert.Equal(t, balancer.ReasonSticky, d.Reason)

	// a2 out of use: only its users move.
	require.NoError(t, b.SetStatus("http://a2", balancer.StatusError, 0))
	after := where()
	moved, others := 0, 0
	for u, m := range before {
		if m != after[u] {
			moved++
			if m != "http://a2" {
				others++
			}
		}
	}
	t.Logf("a2 in error: %d users moved, a2 had %d, %d of other members moved; now %v", moved, shares["http://a2"], others, count(after))
	assert.Equal(t, shares["http://a2"], moved)
	assert.Zero(t, others)

	for _, h := range []string{"a1", "a3", "a4"} {
		require.NoError(t, b.SetStatus("http://"+h, balancer.StatusDisabled, 0))
	}
	assert.Equal(t, map[string]int{"http://h1": users}, count(where()), "no regular lbset 0 member: its standby")
	require.NoError(t, b.SetStatus("http://h1", balancer.StatusDisabled, 0))
	assert.Equal(t, map[string]int{"http://b1": users}, count(where()), "lbset 0 unusable: lbset 1")

	// Back to all usable: the users are where they were.
	for _, h := range []string{"a1", "a2", "a3", "a4", "h1"} {
		require.NoError(t, b.SetStatus("http://"+h, 0, balancer.StatusDisabled|balancer.StatusError))
	}
	assert.Equal(t, before, where())

	// Without a key: byrequests' order.
	ref := mustNew(t, balancer.Config{Transport: newStub(), Members: members("a1", "a2", "a3", "a4", "n1 status=+N", "h1 status=+H", "b1 lbset=1")})
	assert.Equal(t, seq(t, ref, 8, nil), seq(t, b, 8, nil))
}

// TestHashBoundedInFlight: requests of one user pile up on real backends
// that hold them; the bounded loads spread them so that no member has more
// than ceil(1.25 × average) in flight.
func TestHashBoundedInFlight(t *testing.T) {
	var bks []*backend
	var ms []balancer.Member
	for i := range 4 {
		bk := newBackend(t, fmt.Sprint("b", i+1), "block")
		bks = append(bks, bk)
		ms = append(ms, balancer.Member{URL: bk.srv.URL})
	}
	b := mustNew(t, balancer.Config{Members: ms,
		Method: hashMethod(t, lbmethod.HashConfig{Key: lbmethod.HashKey{Source: lbmethod.KeyHeader, Name: "X-User"}})})
	front := httptest.NewServer(b)
	t.Cleanup(front.Close)
	const n = 12
	done := make(chan error, n)
	for range n {
		go func() {
			req, _ := http.NewRequest("GET", front.URL+"/long", nil)
			req.Header.Set("X-User", "alice")
			res, err := http.DefaultClient.Do(req)
			if err == nil {
				res.Body.Close()
			}
			done <- err
		}()
		select { // each arrives before the next is sent
		case <-bks[0].arrived:
		case <-bks[1].arrived:
		case <-bks[2].arrived:
		case <-bks[3].arrived:
		}
	}
	var busy []int64
	var top int64
	for _, m := range b.Members() {
		busy = append(busy, m.Busy)
		top = max(top, m.Busy)
	}
	bound := math.Ceil(1.25 * n / 4)
	t.Logf("%d requests of one user in flight: %v per member (bound %v)", n, busy, bound)
	assert.LessOrEqual(t, float64(top), bound)
	for _, bk := range bks {
		close(bk.release)
	}
	for range n {
		require.NoError(t, <-done)
	}
}

// gatedHash is the hash method whose Prepare, once armed, tells the test
// it has built its ring and returns only when the test lets it.
type gatedHash struct {
	*lbmethod.Hash
	armed atomic.Bool
	built chan struct{}
	goOn  chan struct{}
}

func (g *gatedHash) Prepare(lists [][]*lbmethod.Member, factors [][]int64) {
	g.Hash.Prepare(lists, factors)
	if g.armed.Load() {
		g.built <- struct{}{}
		<-g.goOn
	}
}

// An Update of a 10,000-member hashing balancer builds the new ring
// (Prepare) without the selection lock: while Prepare has built it and
// not yet returned, requests are still picked, on the list in force; once
// the Update is done, keys move only to the members it added.
func TestHashRingBuiltOutsideSelectionLock(t *testing.T) {
	const n, added, users = 10_000, 1000, 2000
	g := &gatedHash{built: make(chan struct{}, 1), goOn: make(chan struct{})}
	method := lbmethod.MethodFunc("hash", func() lbmethod.Scheduler {
		h, err := lbmethod.NewHash(lbmethod.HashConfig{Key: lbmethod.HashKey{Source: lbmethod.KeyHeader, Name: "X-User"}})
		require.NoError(t, err)
		g.Hash = h
		return g
	})
	b := mustNew(t, balancer.Config{Name: "big", Method: method, Transport: newStub(), Members: scaleMembers(0, n)})
	where := func() []string {
		out := make([]string, users)
		for i := range out {
			out[i] = b.Decide(userRequest(fmt.Sprint("user", i), "")).Member
		}
		return out
	}
	before := where()

	g.armed.Store(true)
	updated := make(chan error, 1)
	go func() { updated <- b.Update(append(scaleMembers(0, n), scaleMembers(n, added)...)) }()
	within(t, "Prepare of the new list", func() { <-g.built })
	var during []string
	within(t, "picks while the ring is built", func() { during = where() })
	close(g.goOn)
	within(t, "Update", func() { assert.NoError(t, <-updated) })
	assert.Equal(t, before, during, "picks during the Update use the list in force")

	newMembers := map[string]bool{}
	for _, m := range scaleMembers(n, added) {
		newMembers[m.URL] = true
	}
	moved := 0
	for i, m := range where() {
		if m != before[i] {
			moved++
			assert.True(t, newMembers[m], "user%d moved from %s to %s, not an added member", i, before[i], m)
		}
	}
	t.Logf("%d members + %d: %d of %d users moved (%.1f%%; %d/%d = %.1f%%)", n, added, moved, users,
		100*float64(moved)/users, added, n+added, 100*float64(added)/float64(n+added))
	assert.Positive(t, moved)
}

// preparedLists records what the balancer tells a Preparer: per call, the
// names in each list, and for each member whose factor is about to change
// its new factor beside its current one.
type preparedLists struct {
	*lbmethod.Hash
	calls [][][]string
	early []string // "name new/current" when they differ
}

func (p *preparedLists) Prepare(lists [][]*lbmethod.Member, factors [][]int64) {
	var names [][]string
	for i, l := range lists {
		var ns []string
		for j, m := range l {
			ns = append(ns, m.Name)
			if cur := m.Factor(); cur != 0 && factors[i][j] != cur { // a new member has none yet
				p.early = append(p.early, fmt.Sprintf("%s %d/%d", m.Name, factors[i][j], m.Factor()))
			}
		}
		names = append(names, ns)
	}
	p.calls = append(p.calls, names)
	p.Hash.Prepare(lists, factors)
}

// The balancer tells its scheduler's Prepare of one list per lbset tier,
// with the new load factors, before the members take them.
func TestPrepareGetsTiersBeforeFactorsChange(t *testing.T) {
	recorder := func() (*preparedLists, lbmethod.Method) {
		p := &preparedLists{}
		return p, lbmethod.MethodFunc("hash", func() lbmethod.Scheduler {
			h, err := lbmethod.NewHash(lbmethod.HashConfig{})
			require.NoError(t, err)
			p.Hash = h
			return p
		})
	}
	p, method := recorder()
	b := mustNew(t, balancer.Config{Name: "tiers", Method: method, Transport: newStub(),
		Members: members("a1", "b1 lbset=1", "a2", "b2 lbset=1")})
	require.NoError(t, b.Update(members("a1 lf=3", "b1 lbset=1", "a2", "c1 lbset=2")))
	assert.Equal(t, [][][]string{
		{{"http://a1", "http://a2"}, {"http://b1", "http://b2"}},
		{{"http://a1", "http://a2"}, {"http://b1"}, {"http://c1"}},
	}, p.calls)
	assert.Equal(t, []string{"http://a1 300/100"}, p.early)

	// With a panic threshold, the candidates of panic mode span the
	// tiers: every member is listed once more.
	p, method = recorder()
	mustNew(t, balancer.Config{Name: "panic", Method: method, Transport: newStub(), PanicThreshold: 0.5,
		Members: members("a1", "b1 lbset=1")})
	assert.Equal(t, [][][]string{{{"http://a1"}, {"http://b1"}, {"http://a1", "http://b1"}}}, p.calls)
}
