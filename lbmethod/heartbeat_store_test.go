package lbmethod

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// strangerIP returns the address of forged source k (198.18.0.0/15).
func strangerIP(k int) string { return fmt.Sprintf("198.%d.%d.%d", 18+k>>16&1, k>>8&255, k&255) }

// flood records a report from each of the sources first..first+n-1.
func flood(t *testing.T, tab *HeartbeatTable, first, n int) {
	t.Helper()
	for k := first; k < first+n; k++ {
		require.NoError(t, tab.Record(strangerIP(k), HeartbeatReport{Ready: 50, Busy: 1}))
	}
}

// picksOf picks n times and counts the picks of each member.
func picksOf(h *Heartbeat, ms []*Member, n int) []int {
	counts := make([]int, len(ms))
	for range n {
		if k := h.Pick(ms); k >= 0 {
			counts[k]++
		}
	}
	return counts
}

// TestHeartbeatFloodLocksOutNoMember: 1,100 sources that are not members
// report every second, more than the 1,024 strangers the table keeps. A
// member that reported before keeps its place, and a member that starts
// reporting after the flood is scheduled from its first report (the
// sources repeat) or, when ever new sources bury that report before any
// pick, from its next report, one interval later.
func TestHeartbeatFloodLocksOutNoMember(t *testing.T) {
	for _, sources := range []string{"repeating", "ever new"} {
		t.Run(sources, func(t *testing.T) {
			c := newClock()
			tab := &HeartbeatTable{Now: c.Now}
			h := &Heartbeat{Table: tab, Rand: seeded()}
			ms := hbMembers("10.0.0.1", "10.0.0.2")
			a, b := ms[0], ms[1]
			require.NoError(t, tab.Record(a.Host, HeartbeatReport{Ready: 10, Busy: 1}))
			// b joins the balancer when it starts reporting.
			before := picksOf(h, ms[:1], 200)
			t.Logf("before the flood: a has %v of 200 picks", before)
			assert.Equal(t, []int{200}, before)

			first := 0
			round := func(withB bool) []int {
				c.Advance(time.Second)
				flood(t, tab, first, 1100)
				if sources == "ever new" {
					first += 1100
				}
				require.NoError(t, tab.Record(a.Host, HeartbeatReport{Ready: 10, Busy: 1}))
				if withB {
					require.NoError(t, tab.Record(b.Host, HeartbeatReport{Ready: 10, Busy: 1}))
					if sources == "ever new" {
						// More new sources than the cap arrive after b's
						// first report and before any pick.
						flood(t, tab, first, 1100)
						first += 1100
					}
				}
				if !withB {
					return picksOf(h, ms[:1], 200)
				}
				return picksOf(h, ms, 200)
			}
			flooded := round(false)
			t.Logf("after 1,100 %s sources: a has %v of 200 picks; the table holds %d servers", sources, flooded, tab.store.size())
			assert.Equal(t, []int{200}, flooded, "the member that reported before must keep its place")

			first1 := round(true)
			second := round(true)
			t.Logf("b starts reporting: %v of 200 picks in the first interval, %v in the next", first1, second)
			if sources == "repeating" {
				assert.Greater(t, first1[1], 60, "b must be scheduled from its first report")
			} else {
				assert.Zero(t, first1[1], "b's first report was pushed out before any pick")
				assert.Greater(t, second[1], 60, "b must be scheduled within one report interval")
			}
			assert.Greater(t, second[1], 60)
			_, ok := tab.Lookup(a.Host)
			assert.True(t, ok)
		})
	}
}

// TestHeartbeatStrangersExpire: servers that stop reporting and that no
// member asks for are dropped after 30 s; a member's server stays while
// its member is asked for, and goes once its member is gone.
func TestHeartbeatStrangersExpire(t *testing.T) {
	c := newClock()
	tab := &HeartbeatTable{Now: c.Now}
	h := &Heartbeat{Table: tab, Rand: seeded()}
	ms := hbMembers("10.0.0.1", "10.0.0.2")
	for _, m := range ms {
		require.NoError(t, tab.Record(m.Host, HeartbeatReport{Ready: 4, Busy: 1}))
	}
	h.Pick(ms[:1]) // only 10.0.0.1 is a member
	flood(t, tab, 0, 1100)
	t.Logf("after the flood: %d servers", tab.store.size())
	for range 31 {
		c.Advance(time.Second)
		h.Pick(ms[:1]) // the member is asked for; nobody reports
	}
	require.NoError(t, tab.Record("192.0.2.1", HeartbeatReport{Ready: 1, Busy: 1}))
	t.Logf("31 s later, one new report: %d servers", tab.store.size())
	assert.Equal(t, 2, tab.store.size(), "the member's server and the new one")
	_, ok := tab.Lookup("10.0.0.1")
	assert.True(t, ok, "the member's server is kept (its report is old, so picks ignore it)")
	_, ok = tab.Lookup("10.0.0.2")
	assert.False(t, ok, "a server no member asked for is dropped")

	// The member is removed from the balancer: its server goes too.
	c.Advance(31 * time.Second)
	require.NoError(t, tab.Record("192.0.2.2", HeartbeatReport{Ready: 1, Busy: 1}))
	_, ok = tab.Lookup("10.0.0.1")
	assert.False(t, ok)
}

// TestHeartbeat10000Servers: a balancer of 10,000 members whose servers
// all report. Reports that arrive before any pick fill the strangers' cap
// first; from the reports after the first pick every server is kept, and
// every member can be scheduled.
func TestHeartbeat10000Servers(t *testing.T) {
	const n = 10_000
	c := newClock()
	tab := &HeartbeatTable{Now: c.Now}
	h := &Heartbeat{Table: tab, Rand: seeded()}
	hosts := make([]string, n)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
	}
	ms := hbMembers(hosts...)
	report := func() {
		for i, host := range hosts {
			require.NoError(t, tab.Record(host, HeartbeatReport{Ready: 1 + i%7, Busy: 1}))
		}
	}
	known := func() int {
		k := 0
		for _, host := range hosts {
			if _, ok := tab.Lookup(host); ok {
				k++
			}
		}
		return k
	}
	report()
	before := known()
	require.GreaterOrEqual(t, h.Pick(ms), 0)
	c.Advance(time.Second)
	report()
	after := known()
	t.Logf("10,000 servers: %d kept from the reports before any pick, %d from the next round", before, after)
	assert.Equal(t, n, after)

	// Each member alone is scheduled; all together, the pick is weighted.
	for i := 0; i < n; i += 97 {
		require.Equal(t, 0, h.Pick(ms[i:i+1]), "member %d", i)
	}
	require.NoError(t, tab.Record(hosts[n-1], HeartbeatReport{Ready: 10_000_000, Busy: 1}))
	got := picksOf(h, ms, 50)
	t.Logf("the last member reports ready 10,000,000: %d of 50 picks", got[n-1])
	assert.Greater(t, got[n-1], 40)
}

// BenchmarkHeartbeatPick10000 is a heartbeat pick over 10,000 members
// whose servers all report.
func BenchmarkHeartbeatPick10000(b *testing.B) {
	tab := &HeartbeatTable{}
	h := &Heartbeat{Table: tab}
	ms := make([]*Member, 10_000)
	for i := range ms {
		ms[i] = NewMember(fmt.Sprint("b", i), fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), 100)
	}
	h.Pick(ms) // reserves their places
	for _, m := range ms {
		if err := tab.Record(m.Host, HeartbeatReport{Ready: 8, Busy: 1}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if h.Pick(ms) < 0 {
			b.Fatal("no pick")
		}
	}
}
