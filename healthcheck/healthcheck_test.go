package healthcheck

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
)

func TestParseMethod(t *testing.T) {
	tests := []struct {
		give    string
		want    Method
		wantErr bool
	}{
		{give: "NONE", want: MethodNone},
		{give: "none", want: MethodNone},
		{give: "TCP", want: MethodTCP},
		{give: "tcp", want: MethodTCP},
		{give: "OPTIONS", want: MethodOptions},
		{give: "Head", want: MethodHead},
		{give: "get", want: MethodGet},
		{give: "options11", want: MethodOptions11},
		{give: "HEAD11", want: MethodHead11},
		{give: "gEt11", want: MethodGet11},
		{give: "", wantErr: true},
		{give: "CPING", wantErr: true},
		{give: "POST", wantErr: true},
		{give: " GET", wantErr: true},
		{give: "GET10", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseMethod(tt.give)
		if tt.wantErr {
			if err == nil || !strings.HasPrefix(err.Error(), "healthcheck: method \""+tt.give+"\": unknown") {
				t.Errorf("ParseMethod(%q) error = %v, want one naming the value", tt.give, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseMethod(%q) = %v, %v; want %v", tt.give, got, err, tt.want)
		}
	}
}

func TestMethodStringRoundTrip(t *testing.T) {
	for m := MethodNone; m < numMethods; m++ {
		got, err := ParseMethod(m.String())
		if err != nil || got != m {
			t.Errorf("ParseMethod(%v.String()) = %v, %v", m, got, err)
		}
	}
	if got := Method(200).String(); got != "Method(200)" {
		t.Errorf("Method(200).String() = %q", got)
	}
}

func TestCheckValidate(t *testing.T) {
	tests := []struct {
		name string
		give Check
		want string // error text; "" for valid
	}{
		{name: "zero", give: Check{}},
		{name: "all set", give: Check{Method: MethodGet11, URI: "/health?x=1", Interval: MinInterval, Passes: 3, Fails: 2, Timeout: time.Second}},
		{name: "unknown method", give: Check{Method: 8}, want: "healthcheck: method 8: unknown"},
		{name: "interval too short", give: Check{Interval: 99 * time.Millisecond}, want: "healthcheck: interval 99ms: must be >= 100ms, or 0 for the default (30s)"},
		{name: "interval negative", give: Check{Interval: -time.Second}, want: "healthcheck: interval -1s: must be >= 100ms, or 0 for the default (30s)"},
		{name: "passes negative", give: Check{Passes: -1}, want: "healthcheck: passes -1: must be >= 1, or 0 for the default (1)"},
		{name: "fails negative", give: Check{Fails: -2}, want: "healthcheck: fails -2: must be >= 1, or 0 for the default (1)"},
		{name: "timeout negative", give: Check{Timeout: -time.Second}, want: "healthcheck: timeout -1s: must be > 0, or 0 for the default (1m0s)"},
		{name: "uri with a space", give: Check{URI: "/a b"}, want: `healthcheck: uri "/a b": byte 0x20 at 2 is not allowed in a request target`},
		{name: "uri with CRLF", give: Check{URI: "/h\r\nX-Evil: 1"}, want: `healthcheck: uri "/h\r\nX-Evil: 1": byte 0x0d at 2 is not allowed in a request target`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.give.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Validate() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestJoinPath(t *testing.T) {
	tests := []struct{ base, uri, want string }{
		{"/app", "/health?x", "/app/health?x"}, // Apache: /app//health?x
		{"", "health", "/health"},              // Apache: health
		{"", "", "/"},                          // Apache: an empty target
		{"/app", "", "/app"},
		{"/app/", "", "/app/"},
		{"/", "", "/"},
		{"/", "/health", "/health"},
		{"/app/", "health", "/app/health"},
		{"/app//", "//health", "/app/health"},
		{"/app", "?x=1", "/app/?x=1"},
	}
	for _, tt := range tests {
		if got := joinPath(tt.base, tt.uri); got != tt.want {
			t.Errorf("joinPath(%q, %q) = %q, want %q", tt.base, tt.uri, got, tt.want)
		}
	}
}

func TestDialAddr(t *testing.T) {
	tests := []struct {
		give    string
		addr    string
		tls     bool
		wantErr string
	}{
		{give: "http://h", addr: "h:80"},
		{give: "http://h:8080/app", addr: "h:8080"},
		{give: "https://h", addr: "h:443", tls: true},
		{give: "wss://h:8443", addr: "h:8443", tls: true},
		{give: "ws://h", addr: "h:80"},
		{give: "http://[::1]", addr: "[::1]:80"},
		{give: "ajp://h:8009", addr: "h:8009"},
		{give: "ajp://h", wantErr: `scheme "ajp" has no default port`},
		{give: "/relative", wantErr: "URL has no host"},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.give)
		if err != nil {
			t.Fatal(err)
		}
		addr, useTLS, err := dialAddr(u)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("dialAddr(%q) error = %v, want %q", tt.give, err, tt.wantErr)
			}
			continue
		}
		if err != nil || addr != tt.addr || useTLS != tt.tls {
			t.Errorf("dialAddr(%q) = %q, %v, %v; want %q, %v", tt.give, addr, useTLS, err, tt.addr, tt.tls)
		}
	}
	if _, _, err := dialAddr(nil); err == nil {
		t.Error("dialAddr(nil): no error")
	}
}

// benchTarget is a Target that only counts its passes.
type benchTarget struct {
	name   string
	u      *url.URL
	passed atomic.Int64
}

func (b *benchTarget) Name() string  { return b.name }
func (b *benchTarget) URL() *url.URL { return b.u }
func (b *benchTarget) Check() Check {
	return Check{Method: MethodGet, URI: "/health", Interval: time.Second}
}
func (b *benchTarget) Stopped() bool { return false }
func (b *benchTarget) Down() bool    { return false }
func (b *benchTarget) Report(r Result) {
	if r.Passed {
		b.passed.Add(1)
	}
}

// BenchmarkRound measures one round that checks 100 due members with GET
// over an in-memory connection.
func BenchmarkRound(b *testing.B) {
	const resp = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"
	var ts []Target
	for i := range 100 {
		u := &url.URL{Scheme: "http", Host: fmt.Sprintf("m%d:8080", i), Path: "/app"}
		ts = append(ts, &benchTarget{name: u.String(), u: u})
	}
	now := time.Unix(0, 0)
	c := &Checker{
		Targets: func() []Target { return ts },
		Now:     func() time.Time { return now },
		Dial: func(context.Context, string, string) (net.Conn, error) {
			c := &memConn{}
			c.r.Reset([]byte(resp))
			return c, nil
		},
	}
	var g errgroup.Group
	g.SetLimit(DefaultLimit)
	ctx := context.Background()
	c.tick(ctx, &g) // first seen
	rounds := 0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Second)
		c.tick(ctx, &g)
		g.Wait()
		rounds++
	}
	b.StopTimer()
	for _, t := range ts {
		if n := t.(*benchTarget).passed.Load(); n != int64(rounds) {
			b.Fatalf("%s: %d passes in %d rounds", t.Name(), n, rounds)
		}
	}
}
