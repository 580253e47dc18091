package manager_test

import (
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/manager"
)

// Every rejected change answers with the status and a message naming the
// parameter, and changes nothing, not even the parts that were valid.
func TestManagerRejections(t *testing.T) {
	long := strings.Repeat("x", 64)
	tests := []struct {
		name   string
		kv     []string
		header []string
		code   int
		names  string
	}{
		{"missing nonce", []string{"nonce", ""}, nil, 403, "nonce"},
		{"wrong nonce", []string{"nonce", "guess"}, nil, 403, "nonce"},
		{"cross-origin Origin", nil, []string{"Origin", "http://evil.example"}, 403, "Origin"},
		{"null Origin", nil, []string{"Origin", "null"}, 403, "Origin"},
		{"cross-site fetch", nil, []string{"Sec-Fetch-Site", "cross-site"}, 403, "Sec-Fetch-Site"},
		{"same-site fetch", nil, []string{"Sec-Fetch-Site", "same-site", "Origin", "http://other.example.com"}, 403, "Sec-Fetch-Site"},
		{"foreign Referer", nil, []string{"Origin", "", "Referer", "http://evil.example/x"}, 403, "Referer"},
		{"unknown balancer", []string{"b", "nope"}, nil, 400, "b"},
		{"unknown member", []string{"w", "http://zzz"}, nil, 400, `w "http://zzz"`},
		{"member not a URL", []string{"w", "::"}, nil, 400, "w"},
		{"member edit without member", []string{"w_lf", "2"}, nil, 400, "w_lf"},
		{"loadfactor 0", []string{"w_lf", "0"}, nil, 400, "w_lf"},
		{"loadfactor 101", []string{"w_lf", "101"}, nil, 400, "w_lf"},
		{"loadfactor text", []string{"w_lf", "abc"}, nil, 400, "w_lf"},
		{"loadfactor NaN", []string{"w_lf", "NaN"}, nil, 400, "w_lf"},
		{"lbset 100", []string{"w_ls", "100"}, nil, 400, "w_ls"},
		{"lbset -1", []string{"w_ls", "-1"}, nil, 400, "w_ls"},
		{"route too long", []string{"w_wr", long}, nil, 400, "w_wr"},
		{"redirect control char", []string{"w_rr", "a\x01b"}, nil, 400, "w_rr"},
		{"status 2", []string{"w_status_D", "2"}, nil, 400, "w_status_D"},
		{"status E not settable", []string{"w_status_E", "1"}, nil, 400, "w_status_E"},
		{"hc method", []string{"w_hm", "PING"}, nil, 400, "w_hm"},
		{"hc interval", []string{"w_hi", "50"}, nil, 400, "w_hi"},
		{"hc passes", []string{"w_hp", "0"}, nil, 400, "w_hp"},
		{"hc fails", []string{"w_hf", "x"}, nil, 400, "w_hf"},
		{"hc uri", []string{"w_hu", "/a b"}, nil, 400, "w_hu"},
		{"hc expr", []string{"w_he", "ok"}, nil, 400, "w_he"},
		{"unknown method", []string{"b_lbm", "fastest"}, nil, 400, "b_lbm"},
		{"heartbeat needs a source", []string{"b_lbm", "heartbeat"}, nil, 400, "b_lbm"},
		{"timeout 7201", []string{"b_tmo", "7201"}, nil, 400, "b_tmo"},
		{"timeout -1", []string{"b_tmo", "-1"}, nil, 400, "b_tmo"},
		{"maxattempts 100", []string{"b_max", "100"}, nil, 400, "b_max"},
		{"nofailover yes", []string{"b_sforce", "yes"}, nil, 400, "b_sforce"},
		{"sticky empty half", []string{"b_ss", "A|"}, nil, 400, "b_ss"},
		{"add without yes", []string{"b_nwrkr", "http://n"}, nil, 400, "b_wyes"},
		{"add without URL", []string{"b_wyes", "1"}, nil, 400, "b_nwrkr"},
		{"add bad URL", []string{"b_wyes", "1", "b_nwrkr", "ftp://n"}, nil, 400, "b_nwrkr"},
		{"unknown parameter", []string{"w_xx", "1"}, nil, 400, "w_xx"},
		{"given twice", []string{"w_ls", "1", "w_ls", "2"}, nil, 400, "w_ls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, mg, _ := managed(t)
			before := stateOf(b)
			// A valid change rides along: it must not be applied either.
			v := form("w", "http://a", "w_lf", "5", "w_status_D", "1", "b_lbm", "bybusyness")
			seen := map[string]bool{}
			for i := 0; i+1 < len(tt.kv); i += 2 {
				if k := tt.kv[i]; seen[k] {
					v.Add(k, tt.kv[i+1])
				} else {
					v.Set(k, tt.kv[i+1])
					seen[k] = true
				}
			}
			if tt.name == "member edit without member" {
				v.Del("w")
				v.Del("w_status_D")
			}
			w := post(t, mg, v, tt.header...)
			if w.Code != tt.code {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.code, w.Body)
			}
			if !strings.Contains(html.UnescapeString(w.Body.String()), tt.names) {
				t.Errorf("answer does not name %s: %s", tt.names, w.Body)
			}
			if diff := cmp.Diff(before, stateOf(b), statsOpts); diff != "" {
				t.Errorf("a rejected change changed state (-before +after):\n%s", diff)
			}
		})
	}
}

func TestManagerChangesNeedPOST(t *testing.T) {
	b, mg, _ := managed(t)
	before := stateOf(b)
	w := get(t, mg, "/?b=shop&w=http://a&nonce="+testNonce+"&w_status_D=1")
	if w.Code != http.StatusMethodNotAllowed || !strings.Contains(w.Body.String(), "w_status_D") || w.Header().Get("Allow") != "POST" {
		t.Errorf("GET with a change: %d Allow %q %s", w.Code, w.Header().Get("Allow"), w.Body)
	}
	// In a POST, changes in the URL are refused too.
	r := httptest.NewRequest("POST", "/?w_lf=3", strings.NewReader(form("w", "http://a").Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rw := httptest.NewRecorder()
	mg.ServeHTTP(rw, r)
	if rw.Code != 400 || !strings.Contains(rw.Body.String(), "w_lf") {
		t.Errorf("POST with a change in the URL: %d %s", rw.Code, rw.Body)
	}
	for _, method := range []string{"PUT", "DELETE", "PATCH"} {
		r := httptest.NewRequest(method, "/", strings.NewReader(form("w", "http://a", "w_status_D", "1").Encode()))
		rw := httptest.NewRecorder()
		mg.ServeHTTP(rw, r)
		if rw.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s: %d", method, rw.Code)
		}
	}
	r = httptest.NewRequest("POST", "/", strings.NewReader("w_status_D=1"))
	r.Header.Set("Content-Type", "text/plain")
	rw = httptest.NewRecorder()
	mg.ServeHTTP(rw, r)
	if rw.Code != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain body: %d", rw.Code)
	}
	if diff := cmp.Diff(before, stateOf(b), statsOpts); diff != "" {
		t.Errorf("state changed:\n%s", diff)
	}
}

// Requests that carry no browser headers are not from a browser: the
// nonce suffices (scripts). Same-origin and trusted origins pass.
func TestManagerOriginsAccepted(t *testing.T) {
	tests := []struct {
		name   string
		header []string
	}{
		{"no browser headers", []string{"Origin", ""}},
		{"same-origin fetch", []string{"Sec-Fetch-Site", "same-origin", "Origin", ""}},
		{"user-initiated fetch", []string{"Sec-Fetch-Site", "none"}},
		{"Origin with default port", []string{"Origin", "http://EXAMPLE.com:80"}},
		{"same-host Referer (Apache scripts)", []string{"Origin", "", "Referer", "http://example.com/balancer-manager?b=shop"}},
		{"trusted origin", []string{"Origin", "https://admin.example.net"}},
		{"trusted origin, cross-site fetch", []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://admin.example.net"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, mg, _ := managed(t, func(c *manager.Config) { c.TrustedOrigins = []string{"https://Admin.example.net:443"} })
			if w := post(t, mg, form("w", "http://a", "w_ls", "4"), tt.header...); w.Code != 200 {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			if got := member(t, b, "http://a").LBSet; got != 4 {
				t.Errorf("lbset %d", got)
			}
		})
	}
}

func TestManagerReadOnly(t *testing.T) {
	for name, mod := range map[string]func(*manager.Config){
		"empty nonce": func(c *manager.Config) { c.Nonces = map[string]string{"balancer://shop": ""} },
		"ReadOnly":    func(c *manager.Config) { c.ReadOnly = true },
	} {
		t.Run(name, func(t *testing.T) {
			b, mg, _ := managed(t, mod)
			before := stateOf(b)
			v := form("w", "http://a", "w_status_D", "1")
			v.Set("nonce", "")
			if w := post(t, mg, v); w.Code != 403 || !strings.Contains(w.Body.String(), "read-only") {
				t.Errorf("%d %s", w.Code, w.Body)
			}
			if diff := cmp.Diff(before, stateOf(b), statsOpts); diff != "" {
				t.Errorf("state changed:\n%s", diff)
			}
			page := get(t, mg, "/").Body.String()
			if strings.Contains(page, `name="nonce"`) || !strings.Contains(page, "read-only") {
				t.Errorf("read-only page shows forms or no notice")
			}
			var doc struct{ Balancers []struct{ Nonce string } }
			json.Unmarshal(get(t, mg, "/?json").Body.Bytes(), &doc)
			if len(doc.Balancers) != 1 || doc.Balancers[0].Nonce != "" {
				t.Errorf("JSON shows a nonce: %+v", doc)
			}
		})
	}
}

func TestManagerNonceKeys(t *testing.T) {
	b := mustNew(t, balancer.Config{Name: "Shop", Members: members("a"), Transport: newStub()})
	mg, err := manager.New(manager.Config{Hosts: testHosts, Balancers: []*balancer.Balancer{b}, Nonces: map[string]string{"BALANCER://SHOP": "fixed"}})
	if err != nil {
		t.Fatal(err)
	}
	if w := post(t, mg, url.Values{"b": {"shop"}, "nonce": {"fixed"}, "w": {"http://a"}, "w_ls": {"1"}}); w.Code != 200 {
		t.Errorf("fixed nonce under an upper-case key: %d %s", w.Code, w.Body)
	}
}

func TestManagerRandomNonce(t *testing.T) {
	b := mustNew(t, balancer.Config{Name: "x", Members: members("a"), Transport: newStub()})
	nonces := map[string]bool{}
	for range 2 {
		mg, err := manager.New(manager.Config{Hosts: testHosts, Balancers: []*balancer.Balancer{b}})
		if err != nil {
			t.Fatal(err)
		}
		var doc struct{ Balancers []struct{ Nonce string } }
		if err := json.Unmarshal(get(t, mg, "/?json").Body.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		n := doc.Balancers[0].Nonce
		if len(n) != 36 || strings.Count(n, "-") != 4 {
			t.Errorf("nonce %q: want a UUID", n)
		}
		nonces[n] = true
	}
	if len(nonces) != 2 {
		t.Errorf("two managers got the same nonce")
	}
}
