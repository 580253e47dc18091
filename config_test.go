package balancer_test

import (
	"math"
	"strings"
	"testing"

	"github.com/proxybalancer/balancer"
)

func TestNewRejectsBadConfig(t *testing.T) {
	ok := balancer.Member{URL: "http://127.0.0.1:1"}
	tests := []struct {
		name    string
		cfg     balancer.Config
		wantErr string // every fragment must appear in the error
	}{
		{"no name", balancer.Config{Members: []balancer.Member{ok}}, "name: must not be empty"},
		{"name with slash", balancer.Config{Name: "a/b"}, `name "a/b"`},
		{"bad scheme", balancer.Config{Name: "c", Members: []balancer.Member{{URL: "ftp://h"}}}, `member "ftp://h": url: scheme "ftp"`},
		{"no host", balancer.Config{Name: "c", Members: []balancer.Member{{URL: "http:///x"}}}, `member "http:///x": url: no host`},
		{"not a url", balancer.Config{Name: "c", Members: []balancer.Member{{URL: "http://h:port"}}}, `member "http://h:port": url`},
		{"query", balancer.Config{Name: "c", Members: []balancer.Member{{URL: "http://h/?a=1"}}}, "query or fragment"},
		{"userinfo", balancer.Config{Name: "c", Members: []balancer.Member{{URL: "http://u:p@h/"}}}, "user information"},
		{"duplicate", balancer.Config{Name: "c", Members: []balancer.Member{{URL: "http://H:80/a"}, {URL: "http://h/a"}}}, `member "http://h/a": duplicate`},
		{"loadfactor high", balancer.Config{Name: "c", Members: []balancer.Member{{URL: "http://h", LoadFactor: 150}}}, `member "http://h": loadfactor 150: out of range 1..100`},
		{"loadfactor low", balancer.Config{Name: "c", Members: []balancer.Member{{URL: "http://h", LoadFactor: 0.5}}}, "loadfactor 0.5: out of range"},
		{"loadfactor negative", balancer.Config{Name: "c", Members: []balancer.Member{{URL: "http://h", LoadFactor: -1}}}, "loadfactor -1"},
		{"loadfactor NaN", balancer.Config{Name: "c", Members: []balancer.Member{{URL: "http://h", LoadFactor: math.NaN()}}}, "loadfactor NaN"},
		{"lbset", balancer.Config{Name: "c", Members: []balancer.Member{{URL: "http://h", LBSet: 100}}}, "lbset 100: out of range 0..99"},
		{"lbset negative", balancer.Config{Name: "c", Members: []balancer.Member{{URL: "http://h", LBSet: -1}}}, "lbset -1"},
		{"status letter", balancer.Config{Name: "c", Members: []balancer.Member{{URL: "http://h", Status: "+X"}}}, `status: unknown status flag 'X' in "+X"`},
		{"status trailing sign", balancer.Config{Name: "c", Members: []balancer.Member{{URL: "http://h", Status: "D-"}}}, `status "D-" ends with '-'`},
		{"route too long", balancer.Config{Name: "c", Members: []balancer.Member{{URL: "http://h", Route: strings.Repeat("r", 64)}}}, "route \"rrrr"},
		{"route control char", balancer.Config{Name: "c", Members: []balancer.Member{{URL: "http://h", Route: "a\nb"}}}, "control character"},
		{"redirect too long", balancer.Config{Name: "c", Members: []balancer.Member{{URL: "http://h", Redirect: strings.Repeat("r", 64)}}}, "redirect"},
		{"sticky empty half", balancer.Config{Name: "c", StickySession: "A|"}, `stickysession "A|"`},
		{"sticky empty cookie", balancer.Config{Name: "c", StickySession: "|b"}, `stickysession "|b"`},
		{"separator", balancer.Config{Name: "c", StickySession: "S", StickySessionSep: "ab"}, `stickysessionsep "ab"`},
		{"route pattern", balancer.Config{Name: "c", StickySession: "S", RoutePattern: "("}, `routepattern "("`},
		{"route pattern without group", balancer.Config{Name: "c", StickySession: "S", RoutePattern: "r[0-9]"}, "needs a group"},
		{"route cookie without sticky", balancer.Config{Name: "c", RouteCookie: &balancer.RouteCookie{Name: "ROUTEID"}}, "needs stickysession"},
		{"route cookie bad name", balancer.Config{Name: "c", StickySession: "S", RouteCookie: &balancer.RouteCookie{Name: "a b"}}, `routecookie "a b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := balancer.New(tt.cfg)
			if err == nil {
				t.Fatalf("New succeeded (%v), want an error containing %q", b, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "balancer: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestNewNormalises(t *testing.T) {
	b := mustNew(t, balancer.Config{Name: "MyCluster", Members: []balancer.Member{
		{URL: "HTTP://LocalHost:17011/Back/"},
		{URL: "http://127.0.0.1:80/x"},
		{URL: "https://h:443"},
		{URL: "http://[::1]:8080/v6"},
		{URL: "http://h2", LoadFactor: 2.259},
		{URL: "http://h3", LoadFactor: 1.15},
	}})
	if b.Name() != "balancer://mycluster" {
		t.Errorf("Name() = %q", b.Name())
	}
	want := []struct {
		url string
		lf  float64
	}{
		{"http://localhost:17011/Back/", 1}, {"http://127.0.0.1/x", 1}, {"https://h", 1},
		{"http://[::1]:8080/v6", 1}, {"http://h2", 2.25}, {"http://h3", 1.15},
	}
	for i, m := range b.Members() {
		if m.URL != want[i].url || m.LoadFactor != want[i].lf {
			t.Errorf("member %d = %q lf %v, want %q lf %v", i, m.URL, m.LoadFactor, want[i].url, want[i].lf)
		}
		if m.Status != balancer.StatusInit {
			t.Errorf("member %d status = %v, want Init", i, m.Status)
		}
	}
}
