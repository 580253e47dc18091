package httpdconf

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestAtoi(t *testing.T) {
	tests := []struct {
		in    string
		want  int
		exact bool
	}{
		{"0", 0, true},
		{"42", 42, true},
		{"-7", -7, true},
		{"+7", 7, true},
		{"500ms", 500, false},
		{"  12", 12, false},
		{"12 ", 12, false},
		{"", 0, false},
		{"abc", 0, false},
		{"-", 0, false},
		{"2147483647", math.MaxInt32, true},
		{"2147483648", math.MinInt32, false},           // (int) of a long: wraps
		{"4294967297", 1, false},                       // 2^32+1
		{"99999999999999999999", -1, false},            // strtol clamps to LONG_MAX, (int) gives -1
		{"-99999999999999999999", 0, false},            // LONG_MIN truncates to 0
		{"9223372036854775807", -1, false},             // LONG_MAX
		{"-9223372036854775808", 0, false},             // LONG_MIN
		{"18446744073709551616000", -1, false},         // far beyond
		{"0x10", 0, false},                             // base 10 only
		{"1e3", 1, false},                              // no exponent
		{"\t\n\v\f\r 3", 3, false},                     // C isspace
		{"\u00a03", 0, false},                          // not C whitespace
		{"00000000000000000000000000000042", 42, true}, // leading zeros are fine
	}
	for _, tt := range tests {
		got, exact := atoi(tt.in)
		if got != tt.want || exact != tt.exact {
			t.Errorf("atoi(%q) = %d, %v; want %d, %v", tt.in, got, exact, tt.want, tt.exact)
		}
	}
}

func TestAtof(t *testing.T) {
	tests := []struct {
		in    string
		want  float64
		exact bool
	}{
		{"1", 1, true},
		{"2.25", 2.25, true},
		{".5", 0.5, true},
		{"5.", 5, true},
		{"-1.5", -1.5, true},
		{"1e2", 100, true},
		{"1e", 1, false},
		{"1e+", 1, false},
		{"2.5x", 2.5, false},
		{" 3", 3, false},
		{"", 0, false},
		{".", 0, false},
		{"abc", 0, false},
		{"inf", math.Inf(1), true},
		{"-Infinity", math.Inf(-1), true},
		{"1e999", math.Inf(1), true},
		{"0x10", 0, false},
	}
	for _, tt := range tests {
		got, exact := atof(tt.in)
		if got != tt.want || exact != tt.exact {
			t.Errorf("atof(%q) = %v, %v; want %v, %v", tt.in, got, exact, tt.want, tt.exact)
		}
	}
	if v, _ := atof("nan"); !math.IsNaN(v) {
		t.Errorf("atof(nan) = %v", v)
	}
}

func TestParseTimeout(t *testing.T) {
	tests := []struct {
		in, unit string
		want     time.Duration
		ok       bool
	}{
		{"5", "s", 5 * time.Second, true},
		{"5", "ms", 5 * time.Millisecond, true},
		{"5s", "ms", 5 * time.Second, true},
		{"5ms", "s", 5 * time.Millisecond, true},
		{"5mi", "s", 5 * time.Minute, true},
		{"5min", "s", 5 * time.Minute, true},
		{"2hr", "s", 2 * time.Hour, true},
		{"2hours", "s", 2 * time.Hour, true},
		{"5seconds", "s", 5 * time.Second, true},
		{"5m", "s", 0, false},
		{"5mx", "s", 0, false},
		{"5x", "s", 0, false},
		{"5 s", "s", 0, false},
		{" 5", "s", 5 * time.Second, true},
		{"-5", "s", -5 * time.Second, true}, // callers reject below 1 ms
		{"", "s", 0, true},
		{"ms", "s", 0, true},
		{"abc", "s", 0, false},
		{" ", "s", 0, false},
		{"99999999999999999999", "s", 0, false},
		{"9223372036854775807ms", "s", 0, false},
		{"9223372036854ms", "s", 9223372036854 * time.Millisecond, true},
	}
	for _, tt := range tests {
		got, ok := parseTimeout(tt.in, tt.unit)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseTimeout(%q, %q) = %v, %v; want %v, %v", tt.in, tt.unit, got, ok, tt.want, tt.ok)
		}
	}
}

func TestWorkerName(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"HTTP://LocalHost:17011/Back/", "http://localhost:17011/Back/", ""},
		{"http://127.0.0.1:80/x", "http://127.0.0.1/x", ""},
		{"https://H:443", "https://h", ""},
		{"https://h:80", "https://h:80", ""},
		{"ws://h:80/", "ws://h/", ""},
		{"ajp://tc:8009", "ajp://tc", ""},
		{"http://[::1]:8080/a", "http://[::1]:8080/a", ""},
		{"http://[::1]:80", "http://[::1]", ""},
		{"http://User@Host/?q=A", "http://User@host/?q=A", ""},
		{"http://h:/p", "http://h/p", ""},
		{"/relative", "", "absolute"},
		{"h:80", "", "absolute"},
		{"1http://h", "", "absolute"},
		{"http://", "", "no host"},
		{"http://h:x", "", "invalid port"},
		{"http://h:-1", "", "invalid port"},
		{"http://h:65536", "", "invalid port"},
		{"http://[::1", "", "IPv6"},
		{"http://[::1]x", "", "malformed"},
	}
	for _, tt := range tests {
		got, msg := workerName(tt.in)
		if got != tt.want || (tt.err == "") != (msg == "") || (tt.err != "" && !strings.Contains(msg, tt.err)) {
			t.Errorf("workerName(%q) = %q, %q; want %q, error containing %q", tt.in, got, msg, tt.want, tt.err)
		}
	}
}
