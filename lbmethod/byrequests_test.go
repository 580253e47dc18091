package lbmethod

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func members(factors ...int64) []*Member {
	ms := make([]*Member, len(factors))
	for i, f := range factors {
		ms[i] = NewMember(fmt.Sprintf("b%d", i+1), "h", f)
	}
	return ms
}

func sequence(s Scheduler, ms []*Member, n int) string {
	out := make([]string, n)
	for i := range out {
		k := s.Pick(ms)
		out[i] = ms[k].Name
	}
	return strings.Join(out, " ")
}

func TestByRequestsSequences(t *testing.T) {
	tests := []struct {
		name    string
		factors []int64
		period  string // one period of the repeating sequence
	}{
		{"1,2,3", []int64{100, 200, 300}, "b3 b2 b1 b3 b2 b3"},
		{"1,1,1,2", []int64{100, 100, 100, 200}, "b4 b1 b2 b3 b4"},
		{"1.5,2.25", []int64{150, 225}, "b2 b1 b2 b1 b2"},
		{"equal", []int64{100, 100, 100}, "b1 b2 b3"},
		{"single", []int64{100}, "b1"},
		{"100,1", []int64{10000, 100}, strings.TrimSpace(strings.Repeat("b1 ", 50) + "b2 " + strings.Repeat("b1 ", 50))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms := members(tt.factors...)
			p := strings.Fields(tt.period)
			// 40 periods: the sequence must repeat exactly, not drift.
			got := strings.Fields(sequence(NewByRequests(), ms, 40*len(p)))
			for i, g := range got {
				if want := p[i%len(p)]; g != want {
					t.Fatalf("pick %d = %s, want %s\n got %v", i, g, want, got[:min(len(got), i+5)])
				}
			}
			for _, m := range ms {
				if m.LBStatus != 0 {
					// After whole periods the credits are back at zero.
					t.Errorf("%s lbstatus = %d after whole periods, want 0", m.Name, m.LBStatus)
				}
			}
		})
	}
}

func TestByRequestsApacheVerifiedTen(t *testing.T) {
	// The sequences observed on Apache 2.4.71 (spec §5.1).
	if got, want := sequence(NewByRequests(), members(100, 100, 100, 200), 10), "b4 b1 b2 b3 b4 b4 b1 b2 b3 b4"; got != want {
		t.Errorf("1,1,1,2: got %q, want %q", got, want)
	}
	if got, want := sequence(NewByRequests(), members(150, 225), 10), "b2 b1 b2 b1 b2 b2 b1 b2 b1 b2"; got != want {
		t.Errorf("1.5,2.25: got %q, want %q", got, want)
	}
}

func TestStickyBookkeeping(t *testing.T) {
	// Spec §5.1: 3 sticky hits on r2 in a 2-member balancer leave r1=+300, r2=-300.
	ms := members(100, 100)
	s := NewByRequests()
	for range 3 {
		s.StickyHit(ms[1], ms)
	}
	if ms[0].LBStatus != 300 || ms[1].LBStatus != -300 {
		t.Fatalf("lbstatus = %d, %d; want 300, -300", ms[0].LBStatus, ms[1].LBStatus)
	}
	// The rotation then favours r1 until the credits even out.
	if got := sequence(s, ms, 4); got != "b1 b1 b1 b1" {
		t.Errorf("after sticky hits: %q, want b1 b1 b1 b1", got)
	}
}

func TestByName(t *testing.T) {
	for _, n := range []string{"byrequests", "ByRequests"} {
		m, err := ByName(n)
		require.NoError(t, err, n)
		assert.Equal(t, MethodByRequests, m, n)
	}
	_, err := ByName("roundrobin")
	assert.ErrorContains(t, err, `"roundrobin"`, "the error names the method")
}

func BenchmarkByRequestsPick(b *testing.B) {
	for _, n := range []int{2, 16, 256, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ms := make([]*Member, n)
			for i := range ms {
				ms[i] = NewMember("m", "h", int64(100+i%7*50))
			}
			s := NewByRequests()
			b.ReportAllocs()
			for b.Loop() {
				s.Pick(ms)
			}
		})
	}
}
