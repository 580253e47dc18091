package lbmethod

import (
	"strings"
	"testing"
)

// trafficSequence picks n times, charging each pick sent+received bytes.
func trafficSequence(s Scheduler, ms []*Member, n int, sent, received int64) string {
	out := make([]string, n)
	for i := range out {
		k := s.Pick(ms)
		ms[k].AddTraffic(sent, received)
		out[i] = ms[k].Name
	}
	return strings.Join(out, " ")
}

func TestByTrafficSequence(t *testing.T) {
	// Spec §5.2, verified on Apache: lf 1 and 2 give b1 b2 b2 b1 b2 b2 ...
	ms := members(100, 200)
	s := NewByTraffic()
	want := strings.TrimSpace(strings.Repeat("b1 b2 b2 ", 4))
	if got := trafficSequence(s, ms, 12, 512, 512); got != want {
		t.Fatalf("1 KiB requests: got %s\nwant %s", got, want)
	}
	// A 2 MiB upload to b1 sends everything to b2 until b2 has carried
	// twice b1's bytes: b1 is at (2 MiB + 2 KiB)/100 + 2 KiB/100 = 21012,
	// b2 at 2×((4 KiB + 512k)/200) after k more requests, which reaches
	// 21012 at k = 4096.
	ms[0].AddTraffic(2<<20, 0)
	got := strings.Fields(trafficSequence(s, ms, 4097, 512, 512))
	for i, g := range got[:4096] {
		if g != "b2" {
			t.Fatalf("after the upload, pick %d = %s, want b2", i, g)
		}
	}
	if got[4096] != "b1" {
		t.Errorf("pick 4096 after the upload = %s, want b1 (b2 caught up)", got[4096])
	}
}

func TestByTrafficPick(t *testing.T) {
	type mem struct {
		factor, weight, sent, read int64
	}
	tests := []struct {
		name string
		ms   []mem
		want string
	}{
		{"tie goes to the first", []mem{{100, 0, 500, 500}, {100, 0, 500, 500}}, "b1"},
		{"least per factor", []mem{{100, 0, 300, 0}, {200, 0, 500, 0}}, "b2"},
		{"sent and read both count", []mem{{100, 0, 0, 300}, {100, 0, 200, 0}}, "b2"},
		// Two integer divisions: 199/200 + 199/200 = 0, a tie with b2's 0,
		// where (199+199)/200 would be 1 and lose.
		{"divided separately", []mem{{200, 0, 199, 199}, {100, 0, 0, 0}}, "b1"},
		{"slow start weighs by Weight", []mem{{100, 0, 1000, 0}, {100, 10, 200, 0}}, "b1"},
		{"zero factor does not panic", []mem{{0, 0, 50, 0}, {100, 0, 100, 0}}, "b2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ms []*Member
			for i, m := range tt.ms {
				mm := members(m.factor)[0]
				mm.Name = "b" + string(rune('1'+i))
				mm.SetWeight(m.weight)
				mm.AddTraffic(m.sent, m.read)
				ms = append(ms, mm)
			}
			if got := sequence(NewByTraffic(), ms, 1); got != tt.want {
				t.Errorf("pick = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestByTrafficReset(t *testing.T) {
	ms := members(100, 100)
	s := NewByTraffic()
	ms[0].AddTraffic(1000, 1000)
	ms[0].AddBusy(2)
	ms[0].LBStatus = 7
	s.Reset(ms)
	if ms[0].Transferred() != 0 || ms[0].Read() != 0 {
		t.Errorf("traffic after Reset = %d/%d, want 0/0", ms[0].Transferred(), ms[0].Read())
	}
	if ms[0].Busy() != 2 || ms[0].LBStatus != 7 {
		t.Errorf("busy %d lbstatus %d after Reset, want 2 and 7 untouched", ms[0].Busy(), ms[0].LBStatus)
	}
	if got := sequence(s, ms, 1); got != "b1" {
		t.Errorf("after Reset pick = %s, want b1 (tie, first wins)", got)
	}
}

func BenchmarkByTrafficPick(b *testing.B) {
	benchPick(b, func(n int) (Scheduler, []*Member) {
		ms := make([]*Member, n)
		for i := range ms {
			ms[i] = NewMember("m", "h", int64(100+i%7*50))
			ms[i].AddTraffic(int64(i*1000), int64(i*3000))
		}
		return NewByTraffic(), ms
	})
}
