package lbmethod

import (
	"strings"
	"testing"
)

// busyStep is one step of a bybusyness scenario: "pick bN" expects the pick
// to be bN and counts it as in flight; "end bN" ends one request on bN.
type busyStep string

func runBusy(t *testing.T, s Scheduler, ms []*Member, steps []busyStep) {
	t.Helper()
	byName := map[string]*Member{}
	for _, m := range ms {
		byName[m.Name] = m
	}
	for i, st := range steps {
		op, name, _ := strings.Cut(string(st), " ")
		switch op {
		case "pick":
			k := s.Pick(ms)
			if k < 0 || ms[k].Name != name {
				got := "-1"
				if k >= 0 {
					got = ms[k].Name
				}
				t.Fatalf("step %d: Pick = %s, want %s", i, got, name)
			}
			ms[k].AddBusy(1)
		case "end":
			byName[name].AddBusy(-1)
		default:
			t.Fatalf("step %d: bad step %q", i, st)
		}
	}
}

func picks(names string) []busyStep {
	var out []busyStep
	for _, n := range strings.Fields(names) {
		out = append(out, busyStep("pick "+n))
	}
	return out
}

func TestByBusynessSequences(t *testing.T) {
	tests := []struct {
		name    string
		factors []int64
		busy    []int64 // long requests already in flight, never ending
		want    string  // picks, not counted as in flight
	}{
		// Spec §5.3, verified on Apache: equal busy behaves like byrequests.
		{"equal busy", []int64{100, 100, 100}, []int64{0, 0, 0}, "b1 b2 b3 b1 b2 b3 b1 b2 b3"},
		// Spec §5.3, verified: two long requests on b1 and b2 send all to b3.
		{"b1 b2 busy", []int64{100, 100, 100}, []int64{1, 1, 0}, "b3 b3 b3 b3 b3 b3"},
		{"equal busy uses factors", []int64{100, 200, 300}, []int64{2, 2, 2}, "b3 b2 b1 b3 b2 b3 b3 b2 b1 b3 b2 b3"},
		// The load factor does not scale busy.
		{"factor does not scale busy", []int64{300, 100}, []int64{1, 0}, "b2 b2 b2 b2"},
		{"fewest wins", []int64{100, 100, 100}, []int64{3, 1, 2}, "b2 b2 b2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms := members(tt.factors...)
			for i, b := range tt.busy {
				ms[i].AddBusy(b)
			}
			if got := sequence(NewByBusyness(), ms, len(strings.Fields(tt.want))); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestByBusynessInFlight(t *testing.T) {
	tests := []struct {
		name    string
		factors []int64
		steps   []busyStep
	}{
		{"requests pile up evenly", []int64{100, 100, 100}, picks("b1 b2 b3 b1 b2 b3 b1")},
		// Ties on busy go to the byrequests rotation, which favours b2 (lf 2).
		{"piling with factors 1,2", []int64{100, 200}, picks("b2 b1 b2 b1 b2 b1")},
		{"ended requests free a member", []int64{100, 100, 100}, []busyStep{
			"pick b1", "pick b2", "pick b3",
			"end b2", "pick b2", // b2 is the only one with 0 in flight
			"end b1", "end b3", "pick b1", "pick b3",
			"end b1", "end b2", "end b3", "end b1", "end b2", "end b3", // all idle; extra ends stop at 0
			"pick b1", "pick b2", "pick b3",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runBusy(t, NewByBusyness(), members(tt.factors...), tt.steps)
		})
	}
}

func TestByBusynessSlowStart(t *testing.T) {
	tests := []struct {
		name   string
		weight int64 // b2's weight in slow start (factor 100)
		busy   [2]int64
		want   string
	}{
		{"no ramp: raw busy", 0, [2]int64{3, 1}, "b2"},
		{"ramp at 50%: b2 counts 2 against 3", 50, [2]int64{3, 1}, "b2"},
		{"ramp at 25%: b2 counts 4 against 3", 25, [2]int64{3, 1}, "b1"},
		{"ramp at 1%: idle still wins", 1, [2]int64{3, 0}, "b2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms := members(100, 100)
			ms[1].SetWeight(tt.weight)
			ms[0].AddBusy(tt.busy[0])
			ms[1].AddBusy(tt.busy[1])
			if got := sequence(NewByBusyness(), ms, 1); got != tt.want {
				t.Errorf("pick = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestByBusynessReset(t *testing.T) {
	ms := members(100, 200)
	s := NewByBusyness()
	for _, m := range ms {
		m.AddBusy(4)
		m.AddTraffic(10, 20)
	}
	s.Pick(ms)
	s.Reset(ms)
	for _, m := range ms {
		if m.LBStatus != 0 || m.Busy() != 0 {
			t.Errorf("%s after Reset: lbstatus %d busy %d, want 0 0", m.Name, m.LBStatus, m.Busy())
		}
		if m.Transferred() != 10 || m.Read() != 20 {
			t.Errorf("%s after Reset: traffic %d/%d, want it untouched", m.Name, m.Transferred(), m.Read())
		}
	}
	// A request that was in flight during the reset ends: busy stays 0.
	ms[0].AddBusy(-1)
	if ms[0].Busy() != 0 {
		t.Errorf("busy after late decrement = %d, want 0", ms[0].Busy())
	}
}

func TestByBusynessStickyHit(t *testing.T) {
	// Sticky hits move lbstatus (Apache's default bookkeeping), which
	// steers bybusyness' tie-break: 2 hits on b2 make b1 win the next ties.
	ms := members(100, 100)
	s := NewByBusyness()
	s.StickyHit(ms[1], ms)
	s.StickyHit(ms[1], ms)
	if got := sequence(s, ms, 4); got != "b1 b1 b1 b2" {
		t.Errorf("after sticky hits: %q, want b1 b1 b1 b2", got)
	}
}

func BenchmarkByBusynessPick(b *testing.B) {
	benchPick(b, func(n int) (Scheduler, []*Member) {
		ms := make([]*Member, n)
		for i := range ms {
			ms[i] = NewMember("m", "h", int64(100+i%7*50))
			ms[i].AddBusy(int64(i % 3))
		}
		return NewByBusyness(), ms
	})
}
