package manager_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/manager"
)

// shopConfig is the configuration a restarted process starts from.
func shopConfig(st *stub, specs ...string) balancer.Config {
	return balancer.Config{Name: "shop", StickySession: "JSESSIONID|jsessionid", Members: members(specs...), Transport: st}
}

func managerWithState(t *testing.T, b *balancer.Balancer, file string) *manager.Manager {
	t.Helper()
	mg, err := manager.New(manager.Config{Hosts: testHosts,
		Balancers: []*balancer.Balancer{b}, Growth: 2, StateFile: file,
		Nonces: map[string]string{"shop": testNonce},
	})
	if err != nil {
		t.Fatalf("manager.New: %v", err)
	}
	return mg
}

// Changes made through the manager survive a restart: the state file is
// written at each change and applied over the configuration at start, by
// member URL, and wins over the configuration (as Apache's
// BalancerPersist).
func TestManagerStateFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "manager.json")
	b := mustNew(t, shopConfig(newStub(), "a route=r1", "b route=r2", "c route=r3"))
	mg := managerWithState(t, b, file)
	for _, v := range [][]string{
		{"w", "http://a", "w_lf", "3", "w_wr", "x", "w_status_N", "1", "w_hm", "TCP", "w_hi", "5000"},
		{"w", "http://b", "w_status_D", "1"},
		{"w", "http://c", "w_status_H", "1", "w_status_C", "1"},
		{"b_lbm", "bybusyness", "b_max", "1", "b_tmo", "2", "b_ss", "S|s", "b_sforce", "1"},
		{"b_wyes", "1", "b_nwrkr", "http://d"},
	} {
		if w := post(t, mg, form(v...)); w.Code != 200 {
			t.Fatalf("%v: %d %s", v, w.Code, w.Body)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "manager.json" {
		t.Errorf("directory holds %v; want only the state file (no temporary files)", entries)
	}
	var doc map[string]any
	data, _ := os.ReadFile(file)
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("state file is not JSON: %v\n%s", err, data)
	}

	// Restart: the configuration now says otherwise (a's factor, a hot
	// standby, b enabled) and c left it; the file wins for what is still
	// there.
	b2 := mustNew(t, shopConfig(newStub(), "a route=r1 lf=5 status=H", "b route=r2"))
	mg2 := managerWithState(t, b2, file)
	c := b2.Config()
	if got := []any{methodOf(c), c.MaxAttempts, c.Timeout, c.StickySession, c.NoFailover}; !equalAny(got, []any{"bybusyness", 1, 2 * time.Second, "S|s", true}) {
		t.Errorf("settings after restart: %v", got)
	}
	a := member(t, b2, "http://a")
	if a.LoadFactor != 3 || a.Route != "x" || a.Status != balancer.StatusInit|balancer.StatusDrain ||
		a.HealthCheck.Interval != 5*time.Second || a.HealthCheck.Method.String() != "TCP" {
		t.Errorf("a after restart: factor %v route %q status %v hc %+v", a.LoadFactor, a.Route, a.Status, a.HealthCheck)
	}
	if bm := member(t, b2, "http://b"); bm.Status != balancer.StatusInit|balancer.StatusDisabled {
		t.Errorf("b after restart: %v", bm.Status)
	}
	if d := member(t, b2, "http://d"); d.Status != balancer.StatusInit|balancer.StatusDisabled {
		t.Errorf("added d after restart: %v", d.Status)
	}
	if n := len(b2.Members()); n != 3 {
		t.Errorf("%d members after restart; want a, b and the added d", n)
	}
	// d still counts against growth: one more fits, not two.
	if w := post(t, mg2, form("b_wyes", "1", "b_nwrkr", "http://e")); w.Code != 200 {
		t.Errorf("adding e: %d %s", w.Code, w.Body)
	}
	if w := post(t, mg2, form("b_wyes", "1", "b_nwrkr", "http://f")); w.Code != 400 {
		t.Errorf("adding f beyond growth: %d", w.Code)
	}
}

func equalAny(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Save writes what was changed outside the manager too.
func TestManagerSave(t *testing.T) {
	file := filepath.Join(t.TempDir(), "s.json")
	b := mustNew(t, shopConfig(newStub(), "a", "b"))
	mg := managerWithState(t, b, file)
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("state file written before any change: %v", err)
	}
	if err := b.SetStatus("http://b", balancer.StatusStopped, 0); err != nil {
		t.Fatal(err)
	}
	if err := mg.Save(); err != nil {
		t.Fatal(err)
	}
	b2 := mustNew(t, shopConfig(newStub(), "a", "b"))
	managerWithState(t, b2, file)
	if got := member(t, b2, "http://b").Status; got != balancer.StatusInit|balancer.StatusStopped {
		t.Errorf("b after restart: %v", got)
	}
	mgNo, err := manager.New(manager.Config{Hosts: testHosts, Balancers: []*balancer.Balancer{b}})
	if err != nil {
		t.Fatal(err)
	}
	if err := mgNo.Save(); err != nil {
		t.Errorf("Save without a state file: %v", err)
	}
}

func TestManagerStateFileErrors(t *testing.T) {
	write := func(t *testing.T, content string) string {
		file := filepath.Join(t.TempDir(), "state.json")
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return file
	}
	member := func(extra string) string {
		return `{"version":1,"balancers":{"shop":{"method":"byrequests","members":[{"url":"http://a","loadFactor":1,"lbSet":0,"route":"","redirect":"","flags":"","healthCheck":{"method":"NONE","uri":"","intervalMs":30000,"passes":1,"fails":1}` + extra + `}]}}}`
	}
	tests := []struct {
		name, content, want string
	}{
		{"not JSON", "{", "state.json"},
		{"unknown field", `{"version":1,"balancers":{},"x":1}`, "unknown field"},
		{"version", `{"version":2,"balancers":{}}`, "version 2"},
		{"bad value", strings.Replace(member(""), `"lbSet":0`, `"lbSet":300`, 1), "balancers.shop.members[0].lbSet"},
		{"bad flags", strings.Replace(member(""), `"flags":""`, `"flags":"E"`, 1), "balancers.shop.members[0].flags"},
		{"beyond growth", `{"version":1,"balancers":{"shop":{"method":"byrequests","members":[` +
			`{"url":"http://x1","added":true,"loadFactor":1,"flags":"D","healthCheck":{"method":"NONE","intervalMs":30000,"passes":1,"fails":1}},` +
			`{"url":"http://x2","added":true,"loadFactor":1,"flags":"D","healthCheck":{"method":"NONE","intervalMs":30000,"passes":1,"fails":1}},` +
			`{"url":"http://x3","added":true,"loadFactor":1,"flags":"D","healthCheck":{"method":"NONE","intervalMs":30000,"passes":1,"fails":1}}]}}}`, "growth is 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := write(t, tt.content)
			b := mustNew(t, shopConfig(newStub(), "a", "b"))
			before := stateOf(b)
			_, err := manager.New(manager.Config{Hosts: testHosts, Balancers: []*balancer.Balancer{b}, Growth: 2, StateFile: file})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "state file") {
				t.Fatalf("error %v, want one naming %s", err, tt.want)
			}
			if diff := cmp.Diff(before, stateOf(b), statsOpts); diff != "" {
				t.Errorf("a rejected state file changed the balancer:\n%s", diff)
			}
		})
	}
}

// What the manager cannot rebuild is left as configured; balancers and
// members the state file has but the configuration lacks are ignored.
func TestManagerStateFileIgnores(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.json")
	content := `{"version":1,"balancers":{
		"shop":{"method":"heartbeat","maxAttempts":0,"members":[
			{"url":"http://gone","loadFactor":4,"flags":"","healthCheck":{"method":"NONE","intervalMs":30000,"passes":1,"fails":1}},
			{"url":"HTTP://A:80","loadFactor":4,"flags":"H","healthCheck":{"method":"NONE","intervalMs":30000,"passes":1,"fails":1}}]},
		"other":{"method":"byrequests","members":[]}}}`
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	b := mustNew(t, shopConfig(newStub(), "a", "b"))
	managerWithState(t, b, file)
	if got := methodOf(b.Config()); got != "byrequests" {
		t.Errorf("method %s", got)
	}
	if a := member(t, b, "http://a"); a.LoadFactor != 4 || a.Status != balancer.StatusInit|balancer.StatusStandby {
		t.Errorf("a: %v %v", a.LoadFactor, a.Status)
	}
	if len(b.Members()) != 2 {
		t.Errorf("members: %+v", b.Members())
	}
}

// A change that cannot be saved is applied and answered 500, saying so.
func TestManagerStateFileWriteFailure(t *testing.T) {
	file := filepath.Join(t.TempDir(), "missing-dir", "state.json")
	b := mustNew(t, shopConfig(newStub(), "a", "b"))
	mg := managerWithState(t, b, file)
	w := post(t, mg, form("w", "http://a", "w_ls", "5"))
	if w.Code != 500 || !strings.Contains(w.Body.String(), "applied but not saved") {
		t.Errorf("%d %s", w.Code, w.Body)
	}
	if member(t, b, "http://a").LBSet != 5 {
		t.Errorf("change not applied")
	}
}
