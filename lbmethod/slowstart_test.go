package lbmethod

import (
	"testing"
	"time"
)

func TestSlowStartRamp(t *testing.T) {
	const window = 10 * time.Second
	tests := []struct {
		factor  int64
		elapsed time.Duration
		want    int64 // Weight()
		ramping bool
	}{
		{100, 0, 1, true}, // 1% of the factor
		{100, 50 * time.Millisecond, 1, true},
		{100, 2500 * time.Millisecond, 25, true},
		{100, 5 * time.Second, 50, true},
		{100, window - time.Nanosecond, 99, true},
		{100, window, 100, false}, // ramp over: back to the factor
		{100, time.Hour, 100, false},
		{1000, 0, 10, true},
		{1000, 7 * time.Second, 700, true},
		{150, 0, 1, true}, // 1% of 150 rounds down to 1
		{50, 0, 1, true},  // never below 1
	}
	for _, tt := range tests {
		c := newClock()
		ss := SlowStart{Window: window}
		m := NewMember("m", "h", tt.factor)
		ss.Begin(m, c.Now())
		c.Advance(tt.elapsed)
		ramping := ss.Update([]*Member{m}, c.Now())
		if m.Weight() != tt.want || ramping != tt.ramping || m.Ramping() != tt.ramping {
			t.Errorf("factor %d after %v: weight %d ramping %v/%v, want %d %v",
				tt.factor, tt.elapsed, m.Weight(), ramping, m.Ramping(), tt.want, tt.ramping)
		}
	}
}

func TestSlowStartLifecycle(t *testing.T) {
	c := newClock()
	ss := SlowStart{Window: 10 * time.Second}
	a, b := NewMember("a", "h", 200), NewMember("b", "h", 200)
	ms := []*Member{a, b}
	if ss.Update(ms, c.Now()) {
		t.Fatal("Update reports ramping before any Begin")
	}
	ss.Begin(a, c.Now())
	if a.Weight() != 2 || b.Weight() != 200 {
		t.Fatalf("after Begin(a): weights %d %d, want 2 200", a.Weight(), b.Weight())
	}
	c.Advance(5 * time.Second)
	ss.Update(ms, c.Now())
	if a.Weight() != 100 {
		t.Fatalf("half way: weight %d, want 100", a.Weight())
	}

	// The clock goes back: the ramp restarts at the new now.
	c.Advance(-time.Minute)
	if !ss.Update(ms, c.Now()) || a.Weight() != 2 {
		t.Fatalf("after clock went back: weight %d, want 2 and still ramping", a.Weight())
	}
	c.Advance(5 * time.Second)
	ss.Update(ms, c.Now())
	if a.Weight() != 100 {
		t.Fatalf("5 s after the restart: weight %d, want 100", a.Weight())
	}

	// Begin again (the member failed and recovered) starts over.
	ss.Begin(a, c.Now())
	if a.Weight() != 2 {
		t.Fatalf("second Begin: weight %d, want 2", a.Weight())
	}
	ss.End(a)
	if a.Weight() != 200 || a.Ramping() || ss.Update(ms, c.Now()) {
		t.Fatalf("after End: weight %d ramping %v, want 200 false", a.Weight(), a.Ramping())
	}

	// Without a Window, Begin gives full weight and Update ends ramps.
	ss.Begin(a, c.Now())
	off := SlowStart{}
	off.Begin(b, c.Now())
	if b.Weight() != 200 || b.Ramping() {
		t.Errorf("Begin without Window: weight %d ramping %v", b.Weight(), b.Ramping())
	}
	if off.Update(ms, c.Now()) || a.Weight() != 200 || a.Ramping() {
		t.Errorf("Update without Window left a ramping at weight %d", a.Weight())
	}

	// A clock at the Unix epoch still marks the member as ramping.
	ss.Begin(a, time.Unix(0, 0))
	if !a.Ramping() {
		t.Error("Begin at the epoch did not start a ramp")
	}
}

// TestSlowStartByRequests shows the share of a recovering member growing
// over the window with byrequests: in each second, its picks follow its
// weight w against the other member's 100, w/(100+w).
func TestSlowStartByRequests(t *testing.T) {
	c := newClock()
	ss := SlowStart{Window: 10 * time.Second}
	ms := members(100, 100)
	s := NewByRequests()
	ss.Begin(ms[1], c.Now())
	for sec := range 12 {
		ss.Update(ms, c.Now())
		w := ms[1].Weight()
		n := 0
		for range 1000 {
			ss.Update(ms, c.Now())
			if s.Pick(ms) == 1 {
				n++
			}
		}
		want := 1000 * w / (100 + w)
		if d := int64(n) - want; d > 2 || d < -2 {
			t.Errorf("second %d (weight %d): b2 took %d of 1000, want %d ± 2", sec, w, n, want)
		}
		if sec >= 10 && w != 100 {
			t.Errorf("second %d: weight %d, want the full 100", sec, w)
		}
		c.Advance(time.Second)
	}
}

func BenchmarkSlowStartUpdate(b *testing.B) {
	for _, ramping := range []bool{false, true} {
		name := "idle"
		if ramping {
			name = "ramping"
		}
		b.Run(name, func(b *testing.B) {
			ms := make([]*Member, 256)
			ss := SlowStart{Window: time.Minute}
			now := time.Now()
			for i := range ms {
				ms[i] = NewMember("m", "h", 100)
				if ramping {
					ss.Begin(ms[i], now)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				now = now.Add(time.Microsecond)
				ss.Update(ms, now)
			}
		})
	}
}
