package lbmethod

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// allMethods returns one of each method, with fixed random sources, for
// two members on hosts 10.0.0.1 and 10.0.0.2 that both report ready 8,
// busy 1.
func allMethods(t *testing.T) []Scheduler {
	t.Helper()
	c := newClock()
	return []Scheduler{
		NewByRequests(),
		NewByBusyness(),
		NewByTraffic(),
		&Latency{Now: c.Now, Rand: seeded()},
		&Heartbeat{Table: hbTable(t, c, "10.0.0.1 8 1", "10.0.0.2 8 1"), Rand: seeded()},
	}
}

// nameOf is the name of a built-in scheduler type (each has a Name method).
func nameOf(s Scheduler) string { return s.(interface{ Name() string }).Name() }

func TestByNameMethods(t *testing.T) {
	for _, name := range []string{"byrequests", "bybusyness", "bytraffic", "latency", "BYBUSYNESS", "ByTraffic", "Latency"} {
		m, err := ByName(name)
		require.NoError(t, err, name)
		assert.Equal(t, strings.ToLower(name), m.Name())
		s := m.New()
		require.NotNil(t, s, name)
		assert.Equal(t, strings.ToLower(name), nameOf(s), "the scheduler New makes")
	}
	// One Method, a new scheduler per New: balancers share no state.
	a, err := ByName("latency")
	require.NoError(t, err)
	b, err := ByName("latency")
	require.NoError(t, err)
	assert.Equal(t, a, b, "ByName returns the built-in value")
	assert.NotSame(t, a.New(), b.New(), "each New makes its own Latency")

	_, err = ByName("heartbeat")
	assert.ErrorContains(t, err, "MethodHeartbeat")
	_, err = ByName("roundrobin")
	assert.ErrorContains(t, err, `"roundrobin"`)
}

func TestMethodHeartbeat(t *testing.T) {
	c := newClock()
	tab := hbTable(t, c, "10.0.0.1 8 1")
	m := MethodHeartbeat(tab)
	assert.Equal(t, "heartbeat", m.Name())
	assert.True(t, m == MethodHeartbeat(tab), "methods on one table are equal")
	assert.False(t, m == MethodHeartbeat(&HeartbeatTable{}), "methods on different tables differ")
	s, ok := m.New().(*Heartbeat)
	require.True(t, ok)
	assert.Same(t, tab, s.Table)
	assert.NotSame(t, s, m.New())
}

func TestMethodFunc(t *testing.T) {
	n := 0
	m := MethodFunc("mine", func() Scheduler { n++; return NewLatency() })
	assert.Equal(t, "mine", m.Name())
	assert.NotSame(t, m.New(), m.New())
	assert.Equal(t, 2, n, "New calls the function each time")
	assert.False(t, m == MethodFunc("mine", func() Scheduler { return NewByBusyness() }), "each MethodFunc is its own method")
}

// TestSlowStartEveryMethod: with requests piling up on the members (in
// flight, bytes, latency all equal per request), a member ramping at 10% of
// its factor takes about 10/110 of the picks under every method, and half
// of them without the ramp.
func TestSlowStartEveryMethod(t *testing.T) {
	for _, weight := range []int64{0, 10} {
		for _, s := range allMethods(t) {
			t.Run(fmt.Sprintf("%s/weight %d", nameOf(s), weight), func(t *testing.T) {
				ms := hbMembers("10.0.0.1", "10.0.0.2")
				ms[1].SetWeight(weight)
				n := 0
				const picks = 2200
				for range picks {
					k := s.Pick(ms)
					if k < 0 {
						t.Fatal("no pick")
					}
					ms[k].AddBusy(1)
					ms[k].AddTraffic(512, 512)
					s.Done(ms[k], DoneInfo{Status: 200, Latency: 10 * time.Millisecond, Sent: 512, Received: 512})
					n += k
				}
				share, want := float64(n)/picks, 0.5
				if weight > 0 {
					want = 10.0 / 110
				}
				if share < want-0.03 || share > want+0.03 {
					t.Errorf("ramping member's share %.3f, want %.3f ± 0.03", share, want)
				}
			})
		}
	}
}

// TestResetOnMethodChange: the balancer calls the new method's Reset when
// the method changes at runtime, clearing what Apache's reset clears.
func TestResetOnMethodChange(t *testing.T) {
	type state struct{ lbstatus, busy, sent, read int64 }
	tests := []struct {
		method string
		want   state // from lbstatus 5, busy 2, sent 100, read 200
	}{
		{"byrequests", state{0, 2, 100, 200}},
		{"bybusyness", state{0, 0, 100, 200}},
		{"bytraffic", state{5, 2, 0, 0}},
		{"latency", state{0, 2, 100, 200}},
	}
	for _, tt := range tests {
		meth, err := ByName(tt.method)
		require.NoError(t, err)
		s := meth.New()
		m := members(100)[0]
		m.LBStatus = 5
		m.AddBusy(2)
		m.AddTraffic(100, 200)
		s.Done(m, DoneInfo{Latency: time.Second})
		s.Reset([]*Member{m})
		if got := (state{m.LBStatus, m.Busy(), m.Transferred(), m.Read()}); got != tt.want {
			t.Errorf("%s Reset: %+v, want %+v", tt.method, got, tt.want)
		}
		if l, ok := s.(*Latency); ok {
			if _, measured := l.Estimate(m); measured {
				t.Errorf("latency Reset kept the member's measurement")
			}
		}
	}
}

// TestPickAllocs guards what the benchmarks show: no method allocates per
// pick.
func TestPickAllocs(t *testing.T) {
	for _, s := range allMethods(t) {
		ms := hbMembers("10.0.0.1", "10.0.0.2")
		if a := testing.AllocsPerRun(100, func() { s.Pick(ms) }); a != 0 {
			t.Errorf("%s: %v allocations per Pick", nameOf(s), a)
		}
	}
}
