package httpdconf_test

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/healthcheck"
	"github.com/proxybalancer/balancer/httpdconf"
	"github.com/proxybalancer/balancer/lbmethod"
	"github.com/proxybalancer/balancer/transport"
)

const testFile = "test.conf"

// cmpConfig compares Configs: methods with ==, health-check predicates
// by presence (their behaviour is tested separately), positions and
// warnings separately.
var cmpConfig = cmp.Options{
	cmp.Comparer(func(a, b lbmethod.Method) bool { return a == b }),
	cmp.Comparer(func(a, b func(*healthcheck.Response) bool) bool { return (a == nil) == (b == nil) }),
	cmpopts.IgnoreFields(httpdconf.Config{}, "Warnings", "ManagerHosts"),
	cmpopts.IgnoreFields(httpdconf.BalancerConfig{}, "Pos", "MemberPos"),
	cmpopts.IgnoreFields(httpdconf.Mount{}, "Pos", "InLocation"),
	cmpopts.IgnoreUnexported(httpdconf.Mount{}, httpdconf.Section{}, httpdconf.VirtualHost{}),
	cmpopts.EquateEmpty(),
}

func mustRead(t *testing.T, src string, opts httpdconf.Options) *httpdconf.Config {
	t.Helper()
	c, err := httpdconf.ReadReader(testFile, strings.NewReader(src), opts)
	if err != nil {
		t.Fatalf("ReadReader: %v", err)
	}
	return c
}

func byName(t *testing.T, name string) lbmethod.Method {
	t.Helper()
	m, err := lbmethod.ByName(name)
	require.NoError(t, err)
	return m
}

// one is a Config with a single balancer and the given mounts.
func one(cfg balancer.Config, mounts ...httpdconf.Mount) *httpdconf.Config {
	return &httpdconf.Config{Balancers: []httpdconf.BalancerConfig{{Config: cfg}}, Mounts: mounts}
}

// ok234 and notmaint are the spec's ProxyHCExpr examples (§9).
const hcDefs = `ProxyHCExpr ok234 {%{REQUEST_STATUS} =~ /^[234]/}
ProxyHCExpr notmaint {hc('body') !~ /Under maintenance/}
`

// TestRead maps the spec's configuration snippets (§2–§11) and the common
// real-world shapes onto the expected balancer configurations.
func TestRead(t *testing.T) {
	hb := &lbmethod.HeartbeatTable{}
	tests := []struct {
		name string
		src  string
		opts httpdconf.Options
		want func(t *testing.T) *httpdconf.Config
		// warns are substrings each of which some warning must contain.
		warns []string
	}{
		{
			name: "stickysession NAME (§2.1)",
			src: `<Proxy balancer://c>
BalancerMember http://a:8080 route=r1
ProxySet stickysession=JSESSIONID
</Proxy>`,
			want: func(t *testing.T) *httpdconf.Config {
				return one(balancer.Config{Name: "c", StickySession: "JSESSIONID",
					Members: []balancer.Member{{URL: "http://a:8080", Route: "r1"}}})
			},
		},
		{
			name: "stickysession COOKIE|PARAM split at the first bar (§2.1)",
			src: `BalancerMember balancer://c http://a
ProxySet balancer://c stickysession=A|B|C`,
			want: func(t *testing.T) *httpdconf.Config {
				return one(balancer.Config{Name: "c", StickySession: "A|B|C", Members: []balancer.Member{{URL: "http://a"}}})
			},
		},
		{
			name: "stickysession longer than 63 characters is truncated (§2.1)",
			src:  "BalancerMember balancer://c http://a\nProxySet balancer://c stickysession=" + strings.Repeat("S", 80),
			want: func(t *testing.T) *httpdconf.Config {
				return one(balancer.Config{Name: "c", StickySession: strings.Repeat("S", 63), Members: []balancer.Member{{URL: "http://a"}}})
			},
			warns: []string{"truncated"},
		},
		{
			name: "stickysessionsep, scolonpathdelim (§2.2, §2.5)",
			src: `<Proxy balancer://c stickysession=SID|sid stickysessionsep=- scolonpathdelim=On>
BalancerMember http://a
</Proxy>
<Proxy balancer://d stickysession=SID stickysessionsep=Off>
BalancerMember http://b
</Proxy>`,
			want: func(t *testing.T) *httpdconf.Config {
				return &httpdconf.Config{Balancers: []httpdconf.BalancerConfig{
					{Config: balancer.Config{Name: "c", StickySession: "SID|sid", StickySessionSep: "-", ScolonPathDelim: true,
						Members: []balancer.Member{{URL: "http://a"}}}},
					{Config: balancer.Config{Name: "d", StickySession: "SID", StickySessionSep: "Off",
						Members: []balancer.Member{{URL: "http://b"}}}},
				}}
			},
		},
		{
			name: "nofailover, redirect, forcerecovery (§3)",
			src: `<Proxy balancer://c>
BalancerMember http://a route=r1 redirect=r2
BalancerMember http://b route=r2 status=+D
ProxySet stickysession=SID nofailover=On forcerecovery=Off
</Proxy>`,
			want: func(t *testing.T) *httpdconf.Config {
				return one(balancer.Config{Name: "c", StickySession: "SID", NoFailover: true, DisableForceRecovery: true,
					Members: []balancer.Member{{URL: "http://a", Route: "r1", Redirect: "r2"}, {URL: "http://b", Route: "r2", Status: "+D"}}})
			},
		},
		{
			name: "the ROUTEID recipe (§4)",
			src: `Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/" env=BALANCER_ROUTE_CHANGED
<Proxy "balancer://mycluster">
    BalancerMember "http://192.168.1.50:80" route=1
    BalancerMember "http://192.168.1.51:80" route=2
    ProxySet stickysession=ROUTEID
</Proxy>
ProxyPass        "/test" "balancer://mycluster"
ProxyPassReverse "/test" "balancer://mycluster"`,
			want: func(t *testing.T) *httpdconf.Config {
				return one(balancer.Config{Name: "mycluster", StickySession: "ROUTEID",
					RouteCookie: &balancer.RouteCookie{Name: "ROUTEID", Path: "/", Raw: "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/"},
					Members:     []balancer.Member{{URL: "http://192.168.1.50:80", Route: "1"}, {URL: "http://192.168.1.51:80", Route: "2"}}},
					httpdconf.Mount{Path: "/test", Balancer: "mycluster", Reverse: true})
			},
		},
		{
			name: "route cookie attributes, and what cannot be reproduced",
			src: `<Proxy balancer://c>
BalancerMember http://a route=r1
ProxySet stickysession=RID stickysessionsep=-
Header always set Set-Cookie "RID=.%{BALANCER_WORKER_ROUTE}e; Path=/app; Domain=example.com; Max-Age=3600; Secure; HttpOnly; SameSite=Strict"
</Proxy>`,
			want: func(t *testing.T) *httpdconf.Config {
				return one(balancer.Config{Name: "c", StickySession: "RID", StickySessionSep: "-",
					RouteCookie: &balancer.RouteCookie{Name: "RID", Path: "/app", Domain: "example.com", MaxAge: 3600,
						Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode,
						Raw: "RID=.%{BALANCER_WORKER_ROUTE}e; Path=/app; Domain=example.com; Max-Age=3600; Secure; HttpOnly; SameSite=Strict"},
					Members: []balancer.Member{{URL: "http://a", Route: "r1"}}})
			},
			warns: []string{`with the separator "-" the route is not read back`, "on every response", `"always" not honoured`},
		},
		{
			name: "a global route cookie recipe serves the balancers that read it",
			src: `Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/" env=BALANCER_ROUTE_CHANGED
BalancerMember balancer://php http://a route=1
ProxySet balancer://php stickysession=ROUTEID
BalancerMember balancer://java http://b route=j1
ProxySet balancer://java stickysession=JSESSIONID`,
			want: func(t *testing.T) *httpdconf.Config {
				return &httpdconf.Config{Balancers: []httpdconf.BalancerConfig{
					{Config: balancer.Config{Name: "php", StickySession: "ROUTEID", RouteCookie: &balancer.RouteCookie{Name: "ROUTEID", Path: "/", Raw: "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/"},
						Members: []balancer.Member{{URL: "http://a", Route: "1"}}}},
					{Config: balancer.Config{Name: "java", StickySession: "JSESSIONID", Members: []balancer.Member{{URL: "http://b", Route: "j1"}}}},
				}}
			},
			warns: []string{"test.conf:1: Header: route cookie ROUTEID is sent only by the balancers whose stickysession cookie is ROUTEID; Apache also sends it on the scheduled responses of balancer://java"},
		},
		{
			name: "route cookie on a balancer without stickysession is dropped",
			src: `<Proxy balancer://c>
BalancerMember http://a route=r1
Header add Set-Cookie "RID=.%{BALANCER_WORKER_ROUTE}e" env=BALANCER_ROUTE_CHANGED
</Proxy>`,
			want: func(t *testing.T) *httpdconf.Config {
				return one(balancer.Config{Name: "c", Members: []balancer.Member{{URL: "http://a", Route: "r1"}}})
			},
			warns: []string{"no stickysession"},
		},
		{
			name: "lbmethods (§5)",
			src: `BalancerMember balancer://r http://a
ProxySet balancer://r lbmethod=byrequests
BalancerMember balancer://t http://a
ProxySet balancer://t lbmethod=bytraffic
BalancerMember balancer://b http://a
ProxySet balancer://b lbmethod=bybusyness
BalancerMember balancer://h http://a
ProxySet balancer://h lbmethod=heartbeat
BalancerMember balancer://l http://a
ProxySet balancer://l lbmethod=latency`,
			opts: httpdconf.Options{Heartbeat: hb},
			want: func(t *testing.T) *httpdconf.Config {
				var c httpdconf.Config
				for _, n := range []string{"r", "t", "b", "h", "l"} {
					c.Balancers = append(c.Balancers, httpdconf.BalancerConfig{Config: balancer.Config{Name: n, Members: []balancer.Member{{URL: "http://a"}}}})
				}
				c.Balancers[0].Config.Method = byName(t, "byrequests")
				c.Balancers[1].Config.Method = byName(t, "bytraffic")
				c.Balancers[2].Config.Method = byName(t, "bybusyness")
				c.Balancers[3].Config.Method = lbmethod.MethodHeartbeat(hb)
				c.Balancers[4].Config.Method = byName(t, "latency")
				return &c
			},
			warns: []string{"lbmethod=latency is not one of Apache's"},
		},
		{
			name: "loadfactor keeps Apache's ×100 truncation (§5.1, §8.1)",
			src: `<Proxy balancer://c>
BalancerMember http://a loadfactor=2.25
BalancerMember http://b loadfactor=2.259
BalancerMember http://c loadfactor=1.15
BalancerMember http://d loadfactor=1.5
BalancerMember http://e loadfactor=100
</Proxy>`,
			want: func(t *testing.T) *httpdconf.Config {
				return one(balancer.Config{Name: "c", Members: []balancer.Member{
					{URL: "http://a", LoadFactor: 2.25}, {URL: "http://b", LoadFactor: 2.25},
					{URL: "http://c", LoadFactor: 1.14}, {URL: "http://d", LoadFactor: 1.5},
					{URL: "http://e", LoadFactor: 100},
				}})
			},
			warns: []string{"loadfactor=2.259 read as 2.25", "loadfactor=1.15 read as 1.14"},
		},
		{
			name: "status letters (§6.1)",
			src: `<Proxy balancer://c>
BalancerMember http://a status=d
BalancerMember http://b status=IN
BalancerMember http://c status=+H-H+S
BalancerMember http://d status=S-E
BalancerMember http://e status=+E
BalancerMember http://f status=+R
</Proxy>
ProxyPass /w http://w status=D
ProxySet http://w status=-D+H
ProxyPass /v http://v status=I
ProxySet http://v status=+H`,
			want: func(t *testing.T) *httpdconf.Config {
				c := one(balancer.Config{Name: "c", Members: []balancer.Member{
					{URL: "http://a", Status: "d"},
					{URL: "http://b", Status: "IN"}, {URL: "http://c", Status: "+H-H+S"},
					{URL: "http://d", Status: "S-E"}, {URL: "http://e", Status: "+E"}, {URL: "http://f", Status: "+R"},
				}}, httpdconf.Mount{Path: "/w", Balancer: "w"}, httpdconf.Mount{Path: "/v", Balancer: "v"})
				c.Workers = []httpdconf.BalancerConfig{
					// The second status= value means the same as both.
					{Config: balancer.Config{Name: "w", Members: []balancer.Member{{URL: "http://w", Status: "-D+H"}}}},
					// It does not: the flags set by both.
					{Config: balancer.Config{Name: "v", Members: []balancer.Member{{URL: "http://v", Status: "+IH"}}}},
				}
				return c
			},
		},
		{
			name: "failover parameters (§6.3, §6.4)",
			src: `<Proxy balancer://c>
BalancerMember http://a
BalancerMember http://b
ProxySet maxattempts=5 timeout=2 failonstatus=500,503 failontimeout=On
</Proxy>
<Proxy balancer://none maxattempts=0>
BalancerMember http://a
BalancerMember http://b
</Proxy>`,
			want: func(t *testing.T) *httpdconf.Config {
				ab := []balancer.Member{{URL: "http://a"}, {URL: "http://b"}}
				return &httpdconf.Config{Balancers: []httpdconf.BalancerConfig{
					{Config: balancer.Config{Name: "c", MaxAttempts: 5, Timeout: 2 * time.Second, FailOnStatus: []int{500, 503}, FailOnTimeout: true, Members: ab}},
					{Config: balancer.Config{Name: "none", MaxAttempts: -1, Members: ab}},
				}}
			},
		},
		{
			name: "retry and timeouts (§6.2, §6.5, §8.1)",
			src: `ProxyTimeout 30
<Proxy balancer://c>
BalancerMember http://a retry=0 timeout=5 connectiontimeout=500ms
BalancerMember http://b retry=500ms timeout=500ms
BalancerMember http://c retry=10 acquire=200 max=1 ping=1 ttl=60 smax=5
BalancerMember http://d disablereuse=On keepalive=On
BalancerMember http://e enablereuse=Off
</Proxy>`,
			want: func(t *testing.T) *httpdconf.Config {
				pt := 30 * time.Second
				return one(balancer.Config{Name: "c", Members: []balancer.Member{
					{URL: "http://a", Retry: balancer.RetryNow, Connection: transport.Options{Timeout: 5 * time.Second, ConnectTimeout: 500 * time.Millisecond}},
					{URL: "http://b", Retry: 500 * time.Second, Connection: transport.Options{Timeout: 500 * time.Second}},
					{URL: "http://c", Retry: 10 * time.Second, Connection: transport.Options{Timeout: pt,
						Acquire: 200 * time.Millisecond, Max: 1, Ping: time.Second, TTL: time.Minute, SMax: 5}},
					{URL: "http://d", Connection: transport.Options{Timeout: pt, DisableReuse: true, KeepAlive: true}},
					{URL: "http://e", Connection: transport.Options{Timeout: pt, DisableReuse: true}},
				}})
			},
			warns: []string{"retry=500ms read as 500", "timeout=500ms read as 500"},
		},
		{
			name: "what the transport cannot do is a warning",
			src:  `BalancerMember balancer://c http://a min=2 acquire=100`,
			want: func(t *testing.T) *httpdconf.Config {
				return one(balancer.Config{Name: "c", Members: []balancer.Member{{URL: "http://a", Connection: transport.Options{Acquire: 100 * time.Millisecond}}}})
			},
			warns: []string{"test.conf:1: BalancerMember: http://a min=2 ignored", "test.conf:1: BalancerMember: http://a acquire=100ms has no effect without max="},
		},
		{
			name: "a balancer without members answers 503 (§6.3)",
			src:  `ProxyPass /x balancer://empty/ maxattempts=1`,
			want: func(t *testing.T) *httpdconf.Config {
				return one(balancer.Config{Name: "empty", MaxAttempts: 1}, httpdconf.Mount{Path: "/x", Balancer: "empty", BalancerPath: "/"})
			},
			warns: []string{"balancer://empty has no members"},
		},
		{
			name: "lbset tiers and hot standby (§5.0)",
			src: `<Proxy balancer://c>
BalancerMember http://m1
BalancerMember http://m2
BalancerMember http://s1 status=+R
BalancerMember http://h1 status=+H
BalancerMember http://t1 lbset=1
BalancerMember http://t2 lbset=2 status=+H
</Proxy>`,
			want: func(t *testing.T) *httpdconf.Config {
				return one(balancer.Config{Name: "c", Members: []balancer.Member{
					{URL: "http://m1"}, {URL: "http://m2"}, {URL: "http://s1", Status: "+R"}, {URL: "http://h1", Status: "+H"},
					{URL: "http://t1", LBSet: 1}, {URL: "http://t2", LBSet: 2, Status: "+H"},
				}})
			},
		},
		{
			name: "growth, nonce, BalancerPersist (§7)",
			opts: httpdconf.Options{StateFile: "state.json"},
			src: `BalancerPersist On
<Proxy balancer://c growth=2 nonce=fixed-nonce>
BalancerMember http://a
</Proxy>
<Proxy balancer://ro nonce=None>
BalancerMember http://a
</Proxy>
<Proxy balancer://rand>
BalancerMember http://a
</Proxy>`,
			want: func(t *testing.T) *httpdconf.Config {
				a := []balancer.Member{{URL: "http://a"}}
				return &httpdconf.Config{Persist: true, StateFile: "state.json", Balancers: []httpdconf.BalancerConfig{
					{Config: balancer.Config{Name: "c", Members: a}, Growth: 2, Nonce: "fixed-nonce", NonceSet: true},
					{Config: balancer.Config{Name: "ro", Members: a}, NonceSet: true},
					{Config: balancer.Config{Name: "rand", Members: a}},
				}}
			},
		},
		{
			name: "members differing after the authority are one member (§8.1)",
			src: `<Proxy balancer://c>
BalancerMember http://h/Back/ route=r1
BalancerMember http://H/other route=r2
</Proxy>
ProxyPass /a balancer://c/`,
			want: func(t *testing.T) *httpdconf.Config {
				return one(balancer.Config{Name: "c", Members: []balancer.Member{{URL: "http://h/Back/", Route: "r1"}}},
					httpdconf.Mount{Path: "/a", Balancer: "c", BalancerPath: "/"})
			},
			warns: []string{"shares the worker"},
		},
		{
			name: "health checks with templates and expressions (§9)",
			src: hcDefs + `ProxyHCTemplate tomcat hcmethod=GET hcuri=/health hcinterval=10 hcpasses=2 hcfails=3 hcexpr=ok234
ProxyHCTemplate tcp
ProxyHCTPsize 8
ProxyTimeout 20
<Proxy balancer://c>
BalancerMember http://a hctemplate=tomcat
BalancerMember http://b hcmethod=HEAD hcuri=/ping.php hcexpr=notmaint timeout=3
BalancerMember http://c hctemplate=tcp hcinterval=500ms
BalancerMember http://d hcmethod=GET11 hcpasses=0
BalancerMember http://e hcmethod=NONE hcuri=/x
BalancerMember http://f hcmethod=CPING
</Proxy>`,
			want: func(t *testing.T) *httpdconf.Config {
				pt := transport.Options{Timeout: 20 * time.Second}
				yes := func(*healthcheck.Response) bool { return true }
				return one(balancer.Config{Name: "c", Members: []balancer.Member{
					{URL: "http://a", Connection: pt, HealthCheck: healthcheck.Check{Method: healthcheck.MethodGet, URI: "/health",
						Interval: 10 * time.Second, Passes: 2, Fails: 3, Expect: yes, Timeout: 20 * time.Second}},
					{URL: "http://b", Connection: transport.Options{Timeout: 3 * time.Second}, HealthCheck: healthcheck.Check{
						Method: healthcheck.MethodHead, URI: "/ping.php", Expect: yes, Timeout: 3 * time.Second}},
					{URL: "http://c", Connection: pt, HealthCheck: healthcheck.Check{Method: healthcheck.MethodTCP,
						Interval: 500 * time.Millisecond, Passes: 1, Fails: 1, Timeout: 20 * time.Second}},
					{URL: "http://d", Connection: pt, HealthCheck: healthcheck.Check{Method: healthcheck.MethodGet11, Timeout: 20 * time.Second}},
					{URL: "http://e", Connection: pt},
					{URL: "http://f", Connection: pt},
				}})
			},
			warns: []string{"ProxyHCTPsize: directive skipped", "hcmethod=CPING (AJP only) not supported"},
		},
		{
			name: "ProxyPass, exclusions, ProxyPassReverse, cookie rules (§8.1, §11)",
			src: `<Proxy balancer://j>
BalancerMember http://127.0.0.1:17011/app
</Proxy>
ProxyPass /front/static !
ProxyPass /front balancer://j/back
ProxyPassReverse /front balancer://j/back
ProxyPassReverse /other balancer://j/back
ProxyPass /fake balancer://J/urlpart
ProxyPassReverseCookiePath /back/sub /app
ProxyPassReverseCookieDomain backend.internal.corp public.example`,
			want: func(t *testing.T) *httpdconf.Config {
				cookies := func(m httpdconf.Mount) httpdconf.Mount {
					m.CookiePaths = []balancer.CookieRewrite{{From: "/back/sub", To: "/app"}}
					m.CookieDomains = []balancer.CookieRewrite{{From: "backend.internal.corp", To: "public.example"}}
					return m
				}
				return one(balancer.Config{Name: "j", Members: []balancer.Member{{URL: "http://127.0.0.1:17011/app"}}},
					httpdconf.Mount{Path: "/front/static"},
					cookies(httpdconf.Mount{Path: "/front", Balancer: "j", BalancerPath: "/back", Reverse: true}),
					cookies(httpdconf.Mount{Path: "/fake", Balancer: "j", BalancerPath: "/urlpart"}),
				)
			},
			warns: []string{"ProxyPassReverse: /other balancer://j/back not applied"},
		},
		{
			name: "ProxyPass in <Location> is matched first",
			src: `BalancerMember balancer://c http://a
ProxyPass /app balancer://c/
<Location /app/admin>
ProxyPass balancer://c/admin
ProxyPassReverse balancer://c/admin
</Location>`,
			want: func(t *testing.T) *httpdconf.Config {
				return one(balancer.Config{Name: "c", Members: []balancer.Member{{URL: "http://a"}}},
					httpdconf.Mount{Path: "/app/admin", Balancer: "c", BalancerPath: "/admin", Reverse: true},
					httpdconf.Mount{Path: "/app", Balancer: "c", BalancerPath: "/"})
			},
		},
		{
			name: "ordinary URL targets become one-member balancers; same host and port share one",
			src: `ProxyPass /api http://10.0.0.5:8080/v1 retry=0 timeout=7
ProxyPass /old http://10.0.0.5:8080/legacy
ProxyPassReverse /api http://10.0.0.5:8080/v1
ProxyPass /h2 h2c://10.0.0.6/ hcmethod=GET
ProxyPass /same http://10.0.0.5`,
			want: func(t *testing.T) *httpdconf.Config {
				return &httpdconf.Config{
					Workers: []httpdconf.BalancerConfig{
						{Config: balancer.Config{Name: "10.0.0.5:8080", Members: []balancer.Member{{URL: "http://10.0.0.5:8080",
							Retry: balancer.RetryNow, Connection: transport.Options{Timeout: 7 * time.Second}}}}},
						{Config: balancer.Config{Name: "10.0.0.6", Members: []balancer.Member{{URL: "http://10.0.0.6",
							Connection: transport.Options{H2C: true}}}}},
						{Config: balancer.Config{Name: "10.0.0.5", Members: []balancer.Member{{URL: "http://10.0.0.5"}}}},
					},
					Mounts: []httpdconf.Mount{
						{Path: "/api", Balancer: "10.0.0.5:8080", BalancerPath: "/v1", Reverse: true},
						{Path: "/old", Balancer: "10.0.0.5:8080", BalancerPath: "/legacy"},
						{Path: "/h2", Balancer: "10.0.0.6", BalancerPath: "/"},
						{Path: "/same", Balancer: "10.0.0.5"},
					},
				}
			},
			warns: []string{"hcmethod=GET ignored: only balancer members are health-checked"},
		},
		{
			name: "a worker named like a balancer gets another name",
			src: `BalancerMember balancer://h:81 http://a
ProxyPass /a balancer://h:81
ProxyPass /b http://H:81/x`,
			want: func(t *testing.T) *httpdconf.Config {
				c := one(balancer.Config{Name: "h:81", Members: []balancer.Member{{URL: "http://a"}}},
					httpdconf.Mount{Path: "/a", Balancer: "h:81"},
					httpdconf.Mount{Path: "/b", Balancer: "h:81~2", BalancerPath: "/x"})
				c.Workers = []httpdconf.BalancerConfig{{Config: balancer.Config{Name: "h:81~2", Members: []balancer.Member{{URL: "http://h:81"}}}}}
				return c
			},
		},
		{
			name: "member schemes",
			src: `<Proxy balancer://c>
BalancerMember h2c://a:8080
BalancerMember h2://b
BalancerMember ws://c:8080/chat
BalancerMember WSS://d
BalancerMember HTTPS://e
</Proxy>`,
			want: func(t *testing.T) *httpdconf.Config {
				return one(balancer.Config{Name: "c", Members: []balancer.Member{
					{URL: "http://a:8080", Connection: transport.Options{H2C: true}},
					{URL: "https://b", Connection: transport.Options{H2C: true}},
					{URL: "http://c:8080/chat"}, {URL: "https://d"}, {URL: "https://e"},
				}})
			},
			warns: []string{"ws://c:8080/chat is served as http://c:8080/chat"},
		},
		{
			name: "virtual hosts scope their mounts, mapping keywords are warnings",
			src: `BalancerMember balancer://c http://a
BalancerInherit Off
<VirtualHost *:80>
ProxyPass /v balancer://c/ nocanon noquery
</VirtualHost>`,
			want: func(t *testing.T) *httpdconf.Config {
				c := one(balancer.Config{Name: "c", Members: []balancer.Member{{URL: "http://a"}}},
					httpdconf.Mount{Path: "/v", Balancer: "c", BalancerPath: "/", VHost: 1})
				c.VirtualHosts = []httpdconf.VirtualHost{{Pos: httpdconf.Pos{File: "test.conf", Line: 3}, Addrs: []string{"*:80"}}}
				return c
			},
			warns: []string{"BalancerInherit: recorded only", "nocanon, noquery not supported"},
		},
		{
			name: "a proxied balancer-manager path is a warning",
			src: `BalancerMember balancer://c http://a
ProxyPass / balancer://c/
<Location /balancer-manager>
SetHandler balancer-manager
</Location>`,
			want: func(t *testing.T) *httpdconf.Config {
				c := one(balancer.Config{Name: "c", Members: []balancer.Member{{URL: "http://a"}}},
					httpdconf.Mount{Path: "/", Balancer: "c", BalancerPath: "/"})
				c.ManagerPaths = []string{"/balancer-manager"}
				c.Sections = []httpdconf.Section{{Pos: httpdconf.Pos{File: "test.conf", Line: 3}, Path: "/balancer-manager", Manager: true}}
				return c
			},
			warns: []string{`the balancer-manager at /balancer-manager is not reachable`},
		},
		{
			// Tomcat with jvmRoute: the session id carries the route
			// (JSESSIONID=abc.tc1 or ;jsessionid=abc.tc1), a hot standby,
			// health checks from a template.
			name: "real world: Tomcat jvmRoute",
			src: hcDefs + `ProxyHCTemplate tomcat hcmethod=GET hcuri=/health hcinterval=10 hcpasses=2 hcfails=3 hcexpr=ok234
<Proxy "balancer://Tomcat">
    BalancerMember "http://10.0.0.11:8080/app" route=tc1 loadfactor=2 \
                   connectiontimeout=500ms retry=30 hctemplate=tomcat
    BalancerMember "http://10.0.0.12:8080/app" route=tc2 loadfactor=2 \
                   connectiontimeout=500ms retry=30 hctemplate=tomcat
    BalancerMember "http://10.0.0.13:8080/app" route=tc3 status=+H
    ProxySet lbmethod=bybusyness stickysession=JSESSIONID|jsessionid scolonpathdelim=On
    ProxySet failonstatus=502,503 maxattempts=2
</Proxy>
ProxyPass        "/shop/"  "balancer://tomcat/shop/"
ProxyPassReverse "/shop/"  "balancer://tomcat/shop/"
ProxyPassReverseCookiePath "/app/shop" "/shop"`,
			want: func(t *testing.T) *httpdconf.Config {
				hc := healthcheck.Check{Method: healthcheck.MethodGet, URI: "/health", Interval: 10 * time.Second, Passes: 2, Fails: 3,
					Expect: func(*healthcheck.Response) bool { return true }}
				node := func(n string) balancer.Member {
					return balancer.Member{URL: "http://10.0.0.1" + n + ":8080/app", Route: "tc" + n, LoadFactor: 2,
						Retry: 30 * time.Second, Connection: transport.Options{ConnectTimeout: 500 * time.Millisecond}, HealthCheck: hc}
				}
				return one(balancer.Config{Name: "tomcat", Method: byName(t, "bybusyness"),
					StickySession: "JSESSIONID|jsessionid", ScolonPathDelim: true, FailOnStatus: []int{502, 503}, MaxAttempts: 2,
					Members: []balancer.Member{node("1"), node("2"), {URL: "http://10.0.0.13:8080/app", Route: "tc3", Status: "+H"}}},
					httpdconf.Mount{Path: "/shop/", Balancer: "tomcat", BalancerPath: "/shop/", Reverse: true,
						CookiePaths: []balancer.CookieRewrite{{From: "/app/shop", To: "/shop"}}})
			},
		},
		{
			// WebLogic session ids carry the server id after '!'.
			name: "real world: WebLogic ! separator",
			src: `<Proxy balancer://wls>
BalancerMember http://10.0.0.21:7001 route=-1862104367
BalancerMember http://10.0.0.22:7001 route=1736581123
ProxySet stickysession=JSESSIONID|jsessionid stickysessionsep=!
</Proxy>
ProxyPass /console !
ProxyPass / balancer://wls/`,
			want: func(t *testing.T) *httpdconf.Config {
				return one(balancer.Config{Name: "wls", StickySession: "JSESSIONID|jsessionid", StickySessionSep: "!",
					Members: []balancer.Member{{URL: "http://10.0.0.21:7001", Route: "-1862104367"}, {URL: "http://10.0.0.22:7001", Route: "1736581123"}}},
					httpdconf.Mount{Path: "/console"}, httpdconf.Mount{Path: "/", Balancer: "wls", BalancerPath: "/"})
			},
		},
		{
			// A PHP farm: the balancer issues the route cookie, a second
			// tier takes over when the first has nothing usable.
			name: "real world: ROUTEID with lbset tiers",
			src: `Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/" env=BALANCER_ROUTE_CHANGED
<Proxy balancer://php>
    BalancerMember http://10.0.1.21:9000 route=1
    BalancerMember http://10.0.1.22:9000 route=2
    BalancerMember http://10.0.2.21:9000 route=3 lbset=1
    ProxySet stickysession=ROUTEID
</Proxy>
ProxyPass        "/"       "balancer://php/" growth=4
ProxyPassReverse "/"       "balancer://php/"`,
			want: func(t *testing.T) *httpdconf.Config {
				c := one(balancer.Config{Name: "php", StickySession: "ROUTEID", RouteCookie: &balancer.RouteCookie{Name: "ROUTEID", Path: "/", Raw: "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/"},
					Members: []balancer.Member{{URL: "http://10.0.1.21:9000", Route: "1"}, {URL: "http://10.0.1.22:9000", Route: "2"},
						{URL: "http://10.0.2.21:9000", Route: "3", LBSet: 1}}},
					httpdconf.Mount{Path: "/", Balancer: "php", BalancerPath: "/", Reverse: true})
				c.Balancers[0].Growth = 4
				return c
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustRead(t, tt.src, tt.opts)
			if diff := cmp.Diff(tt.want(t), got, cmpConfig); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			for _, w := range tt.warns {
				if !hasWarning(got, w) {
					t.Errorf("no warning contains %q; warnings:\n%s", w, warningText(got))
				}
			}
			// Everything read must also build.
			if _, err := got.Build(nil); err != nil {
				t.Errorf("Build: %v", err)
			}
		})
	}
}

func hasWarning(c *httpdconf.Config, s string) bool {
	for _, w := range c.Warnings {
		if strings.Contains(w.String(), s) {
			return true
		}
	}
	return false
}

func warningText(c *httpdconf.Config) string {
	var b strings.Builder
	for _, w := range c.Warnings {
		b.WriteString("  " + w.String() + "\n")
	}
	return b.String()
}

// The shipped Apache configuration (internal/httpdconf/testdata) reads
// into the expected balancers, with positions, and every directive outside
// the subset is a warning naming its line.
func TestReadFile(t *testing.T) {
	path, err := filepath.Abs("../internal/httpdconf/testdata/httpd-balancer.conf")
	if err != nil {
		t.Fatal(err)
	}
	c, err := httpdconf.Read(path, httpdconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Balancers) != 2 || c.Balancers[0].Config.Name != "tomcat" || c.Balancers[1].Config.Name != "php" {
		t.Fatalf("balancers: %+v", c.Balancers)
	}
	tc := c.Balancers[0]
	if want := []httpdconf.Pos{{File: path, Line: 30}, {File: path, Line: 32}, {File: path, Line: 34}}; !cmp.Equal(tc.MemberPos, want) {
		t.Errorf("member positions %v, want %v", tc.MemberPos, want)
	}
	if tc.Pos != (httpdconf.Pos{File: path, Line: 29}) {
		t.Errorf("balancer position %v", tc.Pos)
	}
	if !tc.NonceSet || tc.Nonce != "4a0f6c2e-5b1d-4c1e-9f41-6d9e2c1b7a10" {
		t.Errorf("nonce %q set %v", tc.Nonce, tc.NonceSet)
	}
	if got := tc.Config.Members[0].Connection.Timeout; got != 30*time.Second {
		t.Errorf("member timeout %v, want ProxyTimeout 30s", got)
	}
	if c.Balancers[1].Growth != 4 || c.Persist {
		t.Errorf("growth %d persist %v", c.Balancers[1].Growth, c.Persist)
	}
	if !cmp.Equal(c.ManagerPaths, []string{"/balancer-manager"}) {
		t.Errorf("manager paths %v", c.ManagerPaths)
	}
	wantMounts := []httpdconf.Mount{
		{Pos: httpdconf.Pos{File: path, Line: 49}, Path: "/balancer-manager"},
		{Pos: httpdconf.Pos{File: path, Line: 50}, Path: "/shop/", Balancer: "tomcat", BalancerPath: "/shop/", Reverse: true,
			CookiePaths: []balancer.CookieRewrite{{From: "/app/shop", To: "/shop"}}},
		{Pos: httpdconf.Pos{File: path, Line: 53}, Path: "/", Balancer: "php", BalancerPath: "/", Reverse: true,
			CookiePaths: []balancer.CookieRewrite{{From: "/app/shop", To: "/shop"}}},
	}
	if diff := cmp.Diff(wantMounts, c.Mounts, cmpopts.EquateEmpty(), cmpopts.IgnoreUnexported(httpdconf.Mount{})); diff != "" {
		t.Errorf("mounts (-want +got):\n%s", diff)
	}
	for _, want := range []struct {
		line      int
		directive string
	}{{7, "LoadModule"}, {16, "Listen"}, {17, "ProxyRequests"}} {
		found := false
		for _, w := range c.Warnings {
			found = found || w.Line == want.line && w.Directive == want.directive && w.File == path
		}
		if !found {
			t.Errorf("no warning for %s at line %d:\n%s", want.directive, want.line, warningText(c))
		}
	}
}

// hcexpr becomes a predicate that evaluates the ProxyHCExpr on the check's
// response.
func TestHealthCheckExpect(t *testing.T) {
	c := mustRead(t, hcDefs+`<Proxy balancer://c>
BalancerMember http://a hcmethod=GET hcexpr=ok234
BalancerMember http://b hcmethod=GET hcexpr=notmaint
BalancerMember http://c hcmethod=GET
</Proxy>`, httpdconf.Options{})
	ms := c.Balancers[0].Config.Members
	if ms[2].HealthCheck.Expect != nil {
		t.Errorf("no hcexpr: Expect should be nil (200-399 passes)")
	}
	tests := []struct {
		member int
		res    healthcheck.Response
		want   bool
	}{
		{0, healthcheck.Response{StatusCode: 200}, true},
		{0, healthcheck.Response{StatusCode: 404}, true},
		{0, healthcheck.Response{StatusCode: 500}, false},
		{0, healthcheck.Response{StatusCode: 101}, false},
		{1, healthcheck.Response{StatusCode: 200, Body: []byte("all good")}, true},
		{1, healthcheck.Response{StatusCode: 200, Body: []byte("<h1>Under maintenance</h1>")}, false},
		{1, healthcheck.Response{StatusCode: 503, Body: []byte("fine")}, true},
	}
	for _, tt := range tests {
		if got := ms[tt.member].HealthCheck.Expect(&tt.res); got != tt.want {
			t.Errorf("member %d Expect(%d %q) = %v, want %v", tt.member, tt.res.StatusCode, tt.res.Body, got, tt.want)
		}
	}
}

// Errors name the file, the line and the directive.
func TestReadErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string // the error text
	}{
		{"parser error", "<Proxy balancer://c>\nBalancerMember http://a loadfactor=150\n</Proxy>",
			`test.conf:2: BalancerMember: loadfactor=150: LoadFactor must be a number between 1..100`},
		{"empty URL parameter name (§2.1)", "BalancerMember balancer://c http://a\nProxySet balancer://c stickysession=A|",
			"test.conf:2: ProxySet"},
		{"unsupported member scheme", "\n<Proxy balancer://c>\nBalancerMember ajp://a:8009\n</Proxy>",
			`test.conf:3: BalancerMember: ajp://a:8009: scheme "ajp" is not served (only http, https, h2c, h2, ws and wss)`},
		{"unsupported worker scheme", "ProxyPass /x fcgi://127.0.0.1:9000/",
			`test.conf:1: ProxyPass: fcgi://127.0.0.1:9000/: scheme "fcgi" is not served`},
		{"heartbeat without a source", "BalancerMember balancer://c http://a\nProxySet balancer://c lbmethod=heartbeat",
			"test.conf:2: balancer://c lbmethod=heartbeat: needs the backends' load reports"},
		{"unknown lbmethod", "BalancerMember balancer://c http://a\nProxySet balancer://c lbmethod=nosuch",
			"test.conf:2: balancer://c lbmethod=nosuch: unknown lbmethod"},
		{"worker target with a query", "ProxyPass /x http://a/b?c=d",
			"test.conf:1: ProxyPass: http://a/b?c=d: a target with a query or fragment is not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := httpdconf.ReadReader(testFile, strings.NewReader(tt.src), httpdconf.Options{})
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %q, want it to start with %q", err, tt.want)
			}
			var e *httpdconf.Error
			if !errors.As(err, &e) || e.File != testFile || e.Line == 0 {
				t.Errorf("error %#v is not an *Error with a position", err)
			}
		})
	}
}

// What balancer.New refuses is placed at the member's line, or at the
// balancer's.
func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"member URL with user information", "<Proxy balancer://c>\nBalancerMember http://a\nBalancerMember http://user@b\n</Proxy>",
			`test.conf:3: BalancerMember: balancer: member "http://user@b": url: user information is not supported`},
		{"relative ProxyPass path", "BalancerMember balancer://c http://a\n\nProxyPass app balancer://c/",
			`test.conf:3: ProxyPass: balancer: proxypass 0 path "app": must start with '/'`},
		{"stickysession without cookie name", "<Proxy balancer://c>\nBalancerMember http://a\n</Proxy>\nProxySet balancer://c stickysession=|param",
			`test.conf:1: balancer: stickysession "|param"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustRead(t, tt.src, httpdconf.Options{})
			_, err := c.Build(nil)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("Build error %v, want it to start with %q", err, tt.want)
			}
			var e *httpdconf.Error
			if !errors.As(err, &e) || e.Err == nil {
				t.Errorf("error %#v does not wrap balancer.New's", err)
			}
		})
	}
}

// A file that cannot be read is an *Error wrapping the I/O error.
func TestLoadMissingFile(t *testing.T) {
	_, err := httpdconf.Load(t.TempDir()+"/nosuch.conf", httpdconf.Options{})
	var e *httpdconf.Error
	if !errors.As(err, &e) || e.Err == nil || e.Line != 0 {
		t.Fatalf("error %#v, want an *Error wrapping the I/O error", err)
	}
}

// Loadfactors read as Apache stores them (×100, truncated) reach the
// balancer unchanged, for every value Apache can store.
func TestLoadFactorRoundTrip(t *testing.T) {
	var src strings.Builder
	var want []int
	src.WriteString("<Proxy balancer://c>\n")
	for x := 100; x <= 10000; x += 7 {
		lf := strconv.Itoa(x/100) + "." + fmt.Sprintf("%02d", x%100)
		src.WriteString("BalancerMember http://h" + strconv.Itoa(x) + " loadfactor=" + lf + "\n")
		f, _ := strconv.ParseFloat(lf, 64)
		want = append(want, int(f*100)) // Apache: atof ×100, truncated (1.14 is 113)
	}
	src.WriteString("</Proxy>\n")
	l, err := httpdconf.LoadReader(testFile, strings.NewReader(src.String()), httpdconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range l.Balancers[0].Members() {
		if got := int(m.LoadFactor*100 + 0.5); got != want[i] {
			t.Errorf("member %s: factor %v, want %d/100", m.URL, m.LoadFactor, want[i])
		}
	}
}
