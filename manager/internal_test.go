package manager

import (
	"net/url"
	"testing"
	"time"

	"github.com/proxybalancer/balancer/transport"
)

func TestManagerHumanSize(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0", 1023: "1023", 1024: "1.0K", 1536: "1.5K", 5 << 20: "5.0M",
		3 << 30: "3.0G", 2 << 40: "2.0T", 5000 << 40: "5000.0T",
	} {
		if got := mgrSize(n); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestManagerPageTime(t *testing.T) {
	now := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		t       time.Time
		at, rel string
	}{
		{now.Add(90 * time.Second), "10:01:30", "in 1m30s"},
		{now.Add(-5 * time.Second), "09:59:55", "5s ago"},
		{now, "10:00:00", "now"},
		{now.Add(-48 * time.Hour), "2026-03-02 10:00:00", "48h0m0s ago"},
	}
	for _, tt := range tests {
		if got := mgrPageTime(tt.t, now); got.At != tt.at || got.Rel != tt.rel {
			t.Errorf("pageTimeOf(%v) = %+v, want %s %s", tt.t, got, tt.at, tt.rel)
		}
	}
}

func TestManagerXMLHelpers(t *testing.T) {
	for raw, want := range map[string]int{"http://h": 80, "https://h": 443, "http://h:81": 81, "https://[::1]:8443": 8443} {
		u, _ := url.Parse(raw)
		if got := mgrPort(u); got != want {
			t.Errorf("memberPort(%s) = %d, want %d", raw, got, want)
		}
	}
	for _, tt := range []struct {
		o    transport.Options
		want int
	}{
		{transport.Options{}, transport.DefaultSMax},
		{transport.Options{Max: 8}, 8},
		{transport.Options{SMax: 3}, 3},
		{transport.Options{Max: 8, SMax: 3}, 3},
		{transport.Options{Max: 8, SMax: 30}, 8}, // lowered to Max, as Apache does
	} {
		if got := mgrSMax(tt.o); got != tt.want {
			t.Errorf("smaxOf(%+v) = %d, want %d", tt.o, got, tt.want)
		}
	}
}
