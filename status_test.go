package balancer_test

import (
	"testing"

	"github.com/proxybalancer/balancer"
)

func TestParseStatus(t *testing.T) {
	const (
		O = balancer.StatusInit
		I = balancer.StatusIgnoreErrors
		N = balancer.StatusDrain
		D = balancer.StatusDisabled
		S = balancer.StatusStopped
		E = balancer.StatusError
		H = balancer.StatusStandby
		C = balancer.StatusHCFailed
		R = balancer.StatusSpare
	)
	tests := []struct {
		give    string
		base    balancer.Status
		want    balancer.Status
		wantErr bool
	}{
		{"", O, O, false},
		{"d", O, O | D, false}, // lower case equals +D
		{"+D", O, O | D, false},
		{"IN", O, O | I | N, false},
		{"+H-H+S", O, O | S, false},
		{"S-E", O | E, O | S, false},
		{"-O", O, 0, false},
		{"+R+h", O, O | R | H, false},
		{"c", O, O | C, false},
		{"GUF", 0, balancer.StatusGeneric | balancer.StatusShutdown | balancer.StatusFree, false},
		{"+X", O, O, true},
		{"D+", O, O, true},
		{"-", O, O, true},
		{"D E", O, O, true}, // a space is no flag
	}
	for _, tt := range tests {
		got, err := balancer.ParseStatus(tt.give, tt.base)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseStatus(%q) error = %v, want error %v", tt.give, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseStatus(%q) = %v, want %v", tt.give, got, tt.want)
		}
	}
}

func TestStatusString(t *testing.T) {
	tests := []struct {
		give balancer.Status
		want string
	}{
		{0, "???"},
		{balancer.StatusInit, "Init Ok"},
		{balancer.StatusInit | balancer.StatusDisabled, "Init Dis"},
		{balancer.StatusInit | balancer.StatusIgnoreErrors | balancer.StatusDrain, "Init Ign Drn Ok"},
		{balancer.StatusInit | balancer.StatusError, "Init Err"},
		{balancer.StatusInit | balancer.StatusStandby, "Init Stby Ok"},
		{balancer.StatusInit | balancer.StatusSpare | balancer.StatusHCFailed, "Init HcFl Spar"},
		{balancer.StatusInit | balancer.StatusStopped, "Init Stop"},
		{balancer.StatusDisabled, "Dis"}, // not initialised: never usable
	}
	for _, tt := range tests {
		if got := tt.give.String(); got != tt.want {
			t.Errorf("%#x.String() = %q, want %q", uint16(tt.give), got, tt.want)
		}
	}
	if got := (balancer.StatusInit | balancer.StatusDisabled | balancer.StatusStandby).Letters(); got != "DH" {
		t.Errorf("Letters() = %q, want DH", got)
	}
}

func TestUsable(t *testing.T) {
	for _, f := range []balancer.Status{balancer.StatusDisabled, balancer.StatusStopped, balancer.StatusError, balancer.StatusHCFailed, balancer.StatusShutdown} {
		if (balancer.StatusInit | f).Usable() {
			t.Errorf("%v is usable", balancer.StatusInit|f)
		}
	}
	for _, f := range []balancer.Status{balancer.StatusIgnoreErrors, balancer.StatusDrain, balancer.StatusStandby, balancer.StatusSpare} {
		if !(balancer.StatusInit | f).Usable() {
			t.Errorf("%v is not usable", balancer.StatusInit|f)
		}
	}
}
