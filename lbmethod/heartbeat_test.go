package lbmethod

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// hbMembers returns members b1.. with the given hosts, load factor 1.
func hbMembers(hosts ...string) []*Member {
	ms := make([]*Member, len(hosts))
	for i, h := range hosts {
		ms[i] = NewMember(fmt.Sprintf("b%d", i+1), h, 100)
	}
	return ms
}

// hbTable returns a table on clock c with the reports "ip ready busy".
func hbTable(t *testing.T, c *fakeClock, reports ...string) *HeartbeatTable {
	t.Helper()
	tab := &HeartbeatTable{Now: c.Now}
	for _, r := range reports {
		var ip string
		var rep HeartbeatReport
		if _, err := fmt.Sscan(r, &ip, &rep.Ready, &rep.Busy); err != nil {
			t.Fatalf("bad report %q: %v", r, err)
		}
		if err := tab.Record(ip, rep); err != nil {
			t.Fatal(err)
		}
	}
	return tab
}

func TestHeartbeatShares(t *testing.T) {
	tests := []struct {
		name    string
		reports []string
		hosts   []string
		want    []float64
	}{
		// Spec §5.4's verified case, 30/10/0 in member order. Apache gave
		// 30/41, 10/41, 1/41 (boundary bias); we give exactly 3/4, 1/4, 0.
		{"30/10/0", []string{"10.0.0.1 30 1", "10.0.0.2 10 1", "10.0.0.3 0 5"},
			[]string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}, []float64{0.75, 0.25, 0}},
		{"ready=0 in the middle", []string{"10.0.0.1 30 1", "10.0.0.2 0 1", "10.0.0.3 10 1"},
			[]string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}, []float64{0.75, 0, 0.25}},
		// busy == 0: ready/4. 20/4 = 5 weighs as much as ready 5 busy 1.
		{"idle server: ready/4", []string{"10.0.0.1 20 0", "10.0.0.2 5 1"},
			[]string{"10.0.0.1", "10.0.0.2"}, []float64{0.5, 0.5}},
		{"ready 3 idle: 3/4 = 0", []string{"10.0.0.1 3 0", "10.0.0.2 5 1"},
			[]string{"10.0.0.1", "10.0.0.2"}, []float64{0, 1}},
		// Matched by host string; a member without report is never chosen.
		{"no report", []string{"10.0.0.1 10 1", "10.0.0.9 10 1"},
			[]string{"10.0.0.1", "10.0.0.2", "host.example"}, []float64{1, 0, 0}},
		// Two members on one host: each adds the host's ready, and the
		// whole share goes to the last (Apache's s.worker overwrite).
		{"shared host, last wins", []string{"10.0.0.1 10 1", "10.0.0.2 10 1"},
			[]string{"10.0.0.1", "10.0.0.2", "10.0.0.1"}, []float64{0, 1.0 / 3, 2.0 / 3}},
		{"one member", []string{"10.0.0.1 10 1"}, []string{"10.0.0.1"}, []float64{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			h := &Heartbeat{Table: hbTable(t, c, tt.reports...), Rand: seeded()}
			ms := hbMembers(tt.hosts...)
			got := shares(h, ms, 10000)
			// Binomial σ over 10,000 picks is at most 0.5%.
			checkShares(t, got, tt.want, 0.02)
			for i, w := range tt.want {
				if w == 0 && got[i] != 0 {
					t.Errorf("member %d with no weight was chosen (%.4f)", i+1, got[i])
				}
			}
		})
	}
}

func TestHeartbeatNone(t *testing.T) {
	c := newClock()
	tests := []struct {
		name  string
		h     *Heartbeat
		hosts []string
	}{
		{"all ready=0", &Heartbeat{Table: hbTable(t, c, "10.0.0.1 0 4", "10.0.0.2 0 1")}, []string{"10.0.0.1", "10.0.0.2"}},
		{"no matching host", &Heartbeat{Table: hbTable(t, c, "10.0.0.1 9 1")}, []string{"10.0.0.2"}},
		{"empty table", &Heartbeat{Table: &HeartbeatTable{}}, []string{"10.0.0.1"}},
		{"nil table", &Heartbeat{}, []string{"10.0.0.1"}},
		{"no candidates", &Heartbeat{Table: hbTable(t, c, "10.0.0.1 9 1")}, nil},
	}
	for _, tt := range tests {
		if got := tt.h.Pick(hbMembers(tt.hosts...)); got != -1 {
			t.Errorf("%s: Pick = %d, want -1", tt.name, got)
		}
	}
}

func TestHeartbeatFreshness(t *testing.T) {
	c := newClock()
	tab := hbTable(t, c, "10.0.0.1 10 1")
	h := &Heartbeat{Table: tab, Rand: seeded()}
	ms := hbMembers("10.0.0.1")
	c.Advance(10*time.Second - time.Nanosecond)
	if got := h.Pick(ms); got != 0 {
		t.Errorf("report 9.999999999s old: Pick = %d, want 0", got)
	}
	c.Advance(time.Nanosecond)
	if got := h.Pick(ms); got != -1 {
		t.Errorf("report 10s old: Pick = %d, want -1", got)
	}
	if err := tab.Record("10.0.0.1", HeartbeatReport{Ready: 1, Busy: 1}); err != nil {
		t.Fatal(err)
	}
	if got := h.Pick(ms); got != 0 {
		t.Errorf("after a new report: Pick = %d, want 0", got)
	}

	// From a storage file (spec §5.4, verified): lastseen=10 is excluded,
	// 9 included, none included.
	c2 := newClock()
	tab2 := &HeartbeatTable{Now: c2.Now}
	err := tab2.ReadStorage(strings.NewReader("10.0.0.1 &ready=9&busy=1&lastseen=10&port=80\n" +
		"10.0.0.2 &ready=9&busy=1&lastseen=9&port=80\n10.0.0.3 &ready=9&busy=1&port=80\n"))
	if err != nil {
		t.Fatal(err)
	}
	h2 := &Heartbeat{Table: tab2, Rand: seeded()}
	checkShares(t, shares(h2, hbMembers("10.0.0.1", "10.0.0.2", "10.0.0.3"), 10000), []float64{0, 0.5, 0.5}, 0.02)
}

func TestHeartbeatSlowStart(t *testing.T) {
	// Equal reports; b2 ramps at 25% of its factor: 100 : 25.
	c := newClock()
	h := &Heartbeat{Table: hbTable(t, c, "10.0.0.1 8 1", "10.0.0.2 8 1"), Rand: seeded()}
	ms := hbMembers("10.0.0.1", "10.0.0.2")
	ms[1].SetWeight(25)
	checkShares(t, shares(h, ms, 10000), []float64{0.8, 0.2}, 0.02)
	// At its lowest weight a member with one ready slot keeps some share.
	ms[1].SetWeight(1)
	if w := heartbeatWeight(h.Table.store.servers["10.0.0.2"], ms[1]); w == 0 {
		t.Error("a ramping member's weight rounded to 0")
	}
}

func TestHeartbeatMethod(t *testing.T) {
	h := NewHeartbeat(&HeartbeatTable{})
	assert.Equal(t, "heartbeat", h.Name())
	assert.True(t, h.AllMembers())
	_, err := ByName("heartbeat")
	assert.ErrorContains(t, err, "MethodHeartbeat", "the error points to MethodHeartbeat")
}

func BenchmarkHeartbeatPick(b *testing.B) {
	benchPick(b, func(n int) (Scheduler, []*Member) {
		tab := &HeartbeatTable{}
		ms := make([]*Member, n)
		for i := range ms {
			host := fmt.Sprintf("10.0.%d.%d", i/256, i%256)
			ms[i] = NewMember("m", host, 100)
			if err := tab.Record(host, HeartbeatReport{Ready: 1 + i%25, Busy: i % 3}); err != nil {
				b.Fatal(err)
			}
		}
		return NewHeartbeat(tab), ms
	})
}
