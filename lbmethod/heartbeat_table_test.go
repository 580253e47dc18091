package lbmethod

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseHeartbeat(t *testing.T) {
	tests := []struct {
		payload string
		want    HeartbeatReport
		wantErr string
	}{
		{payload: "v=1&ready=25&busy=0", want: HeartbeatReport{Ready: 25, Busy: 0}}, // mod_heartbeat, captured
		{payload: "busy=3&v=1&ready=7&port=8080", want: HeartbeatReport{Ready: 7, Busy: 3}},
		{payload: "v&ready&busy=2", want: HeartbeatReport{Ready: 1, Busy: 2}}, // a key without = is 1
		{payload: "&v=1&&ready=4&busy=0&", want: HeartbeatReport{Ready: 4}},
		{payload: "v=1&r%65ady=%31%32&busy=0", want: HeartbeatReport{Ready: 12}}, // %-decoded
		{payload: "v=1&ready=5&ready=6&busy=0", want: HeartbeatReport{Ready: 6}}, // the last wins
		{payload: "v=1&ready=2147483647&busy=2147483647", want: HeartbeatReport{Ready: 2147483647, Busy: 2147483647}},
		{payload: "v=2&ready=1&busy=1&extra=x", want: HeartbeatReport{Ready: 1, Busy: 1}},
		{payload: "ready=25&busy=0", wantErr: "no v field"},
		{payload: "v=1&busy=0", wantErr: "no ready field"},
		{payload: "v=1&ready=3", wantErr: "no busy field"},
		{payload: "", wantErr: "no v field"},
		{payload: "v=1&ready=-1&busy=0", wantErr: `ready -1: out of range 0..2147483647`},
		{payload: "v=1&ready=1&busy=-5", wantErr: `busy -5: out of range`},
		{payload: "v=1&ready=2147483648&busy=0", wantErr: `ready 2147483648: out of range`},
		{payload: "v=1&ready=99999999999999999999&busy=0", wantErr: `ready "99999999999999999999": out of range`},
		{payload: "v=1&ready=abc&busy=0", wantErr: `ready "abc": not a decimal integer`},
		{payload: "v=1&ready=&busy=0", wantErr: `ready "": not a decimal integer`},
		{payload: "v=1&ready=1.5&busy=0", wantErr: `ready "1.5": not a decimal integer`},
		{payload: "v=1&ready= 3&busy=0", wantErr: `not a decimal integer`},
		{payload: "v=1&ready=%zz&busy=0", wantErr: `field "ready=%zz"`},
	}
	for _, tt := range tests {
		got, err := ParseHeartbeat([]byte(tt.payload))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "lbmethod: heartbeat report: ") {
				t.Errorf("ParseHeartbeat(%q) error = %v, want one containing %q", tt.payload, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseHeartbeat(%q) = %+v, %v; want %+v", tt.payload, got, err, tt.want)
		}
	}
}

func TestHeartbeatReadStorage(t *testing.T) {
	c := newClock()
	tab := &HeartbeatTable{Now: c.Now}
	file := "10.0.0.1 &ready=10&busy=2&lastseen=3&port=80\n" + // mod_heartmonitor's format
		"10.0.0.2 &ready=5&busy=0&port=8080\r\n" + // no lastseen: seen now; CRLF
		"\n" +
		"10.0.0.3 &ready=-4&busy=0&lastseen=1\n" + // bad: negative
		"garbage\n" + // bad: no fields
		"10.0.0.4 &ready=1&busy=1&lastseen=-1\n" + // bad: negative age
		"10.0.0.5 &ready=8&lastseen=1\n" + // bad: no busy
		"10.0.0.6 &ready=9&busy=9&lastseen=12\n"
	err := tab.ReadStorage(strings.NewReader(file))
	if err == nil {
		t.Fatal("ReadStorage accepted malformed lines")
	}
	for _, want := range []string{"line 4: ready -4", `line 5: not "<ip> <fields>"`, "line 6: lastseen -1", "line 7: no busy field"} {
		if !strings.Contains(err.Error(), "lbmethod: heartbeat storage "+want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	want := map[string]HeartbeatReport{
		"10.0.0.1": {Ready: 10, Busy: 2, Seen: c.Now().Add(-3 * time.Second)},
		"10.0.0.2": {Ready: 5, Busy: 0, Seen: c.Now()},
		"10.0.0.6": {Ready: 9, Busy: 9, Seen: c.Now().Add(-12 * time.Second)},
	}
	for _, ip := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"} {
		got, ok := tab.Lookup(ip)
		w, wantOK := want[ip]
		if ok != wantOK || !got.Seen.Equal(w.Seen) || got.Ready != w.Ready || got.Busy != w.Busy {
			t.Errorf("Lookup(%s) = %+v %v, want %+v %v", ip, got, ok, w, wantOK)
		}
	}

	if err := tab.LoadStorageFile(t.TempDir() + "/missing.dat"); err == nil || !strings.Contains(err.Error(), "missing.dat") {
		t.Errorf("LoadStorageFile of a missing file: %v", err)
	}
}

func TestHeartbeatTableRecord(t *testing.T) {
	c := newClock()
	tab := &HeartbeatTable{Now: c.Now, MaxServers: 2}
	if err := tab.Record("", HeartbeatReport{}); err == nil {
		t.Error("Record accepted an empty address")
	}
	if err := tab.Record("10.0.0.1", HeartbeatReport{Ready: -1}); err == nil || !strings.Contains(err.Error(), `heartbeat server "10.0.0.1": ready -1`) {
		t.Errorf("Record of ready -1: %v", err)
	}
	for _, ip := range []string{"10.0.0.1", "10.0.0.2"} {
		if err := tab.Record(ip, HeartbeatReport{Ready: 1, Busy: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if r, _ := tab.Lookup("10.0.0.1"); !r.Seen.Equal(c.Now()) {
		t.Errorf("a zero Seen was stored as %v, want now", r.Seen)
	}
	// Two strangers fill the cap: a third replaces the one added first,
	// fresh as it is.
	c.Advance(time.Second)
	require.NoError(t, tab.Record("10.0.0.2", HeartbeatReport{Ready: 2, Busy: 1}))
	require.NoError(t, tab.Record("10.0.0.3", HeartbeatReport{Ready: 3, Busy: 3}))
	got := map[string]int{}
	for _, ip := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"} {
		if r, ok := tab.Lookup(ip); ok {
			got[ip] = r.Ready
		}
	}
	assert.Empty(t, cmp.Diff(map[string]int{"10.0.0.2": 2, "10.0.0.3": 3}, got), "servers after a third stranger (-want +got)")

	var zero HeartbeatTable
	if _, ok := zero.Lookup("x"); ok {
		t.Error("zero table has a server")
	}
}

func TestHeartbeatHTTPHandler(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		remote     string
		body       string
		wantStatus int
		wantIP     string // recorded server, "" for none
	}{
		{"report", "POST", "192.0.2.7:4711", "v=1&ready=12&busy=3", 200, "192.0.2.7"},
		{"ipv4-mapped", "POST", "[::ffff:192.0.2.8]:4711", "v=1&ready=1&busy=1", 200, "192.0.2.8"},
		{"ipv6", "POST", "[2001:db8::1]:80", "v=1&ready=1&busy=1", 200, "2001:db8::1"},
		{"get", "GET", "192.0.2.7:4711", "", 405, ""},
		{"malformed", "POST", "192.0.2.7:4711", "v=1&ready=x&busy=0", 400, ""},
		{"negative", "POST", "192.0.2.7:4711", "v=1&ready=-3&busy=0", 400, ""},
		{"too long", "POST", "192.0.2.7:4711", "v=1&ready=1&busy=1&pad=" + strings.Repeat("x", 1000), 413, ""},
		{"no source IP", "POST", "@", "v=1&ready=1&busy=1", 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab := &HeartbeatTable{}
			req := httptest.NewRequest(tt.method, "/heartbeat", strings.NewReader(tt.body))
			req.RemoteAddr = tt.remote
			rec := httptest.NewRecorder()
			tab.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d (%s)", rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.wantStatus == http.StatusMethodNotAllowed && rec.Header().Get("Allow") != "POST" {
				t.Errorf("Allow = %q, want POST", rec.Header().Get("Allow"))
			}
			n := tab.store.size()
			if tt.wantIP == "" {
				if n != 0 {
					t.Errorf("recorded %d servers, want none", n)
				}
				return
			}
			if _, ok := tab.Lookup(tt.wantIP); !ok || n != 1 {
				t.Errorf("server %s not recorded (%d servers)", tt.wantIP, n)
			}
		})
	}
}
