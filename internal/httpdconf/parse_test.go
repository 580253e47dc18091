package httpdconf

import (
	"errors"
	"github.com/proxybalancer/balancer/internal/access"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const testFile = "test.conf"

func at(line int) Pos { return Pos{File: testFile, Line: line} }

// cmpFile compares Files: expressions by their text, warnings separately.
var cmpFile = cmp.Options{
	cmp.Comparer(func(a, b *Expr) bool { return a.String() == b.String() }),
	cmpopts.IgnoreFields(File{}, "Warnings"),
}

func mustParse(t *testing.T, src string) *File {
	t.Helper()
	f, err := Parse(testFile, strings.NewReader(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return f
}

func mustExpr(t *testing.T, s string) *Expr {
	t.Helper()
	e, err := ParseExpr(s)
	if err != nil {
		t.Fatalf("ParseExpr(%q): %v", s, err)
	}
	return e
}

// TestParseShapes parses whole configurations of the common real-world
// shapes and the spec's snippets into the expected structure.
func TestParseShapes(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want func(t *testing.T) *File
	}{
		{
			// The Apache documentation's ROUTEID recipe (spec §4).
			name: "routeid recipe",
			src: `Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/" env=BALANCER_ROUTE_CHANGED
<Proxy "balancer://mycluster">
    BalancerMember "http://192.168.1.50:80" route=1
    BalancerMember "http://192.168.1.51:80" route=2
    ProxySet stickysession=ROUTEID
</Proxy>
ProxyPass        "/test" "balancer://mycluster"
ProxyPassReverse "/test" "balancer://mycluster"
`,
			want: func(t *testing.T) *File {
				rc := RouteCookie{Pos: at(1), Name: "ROUTEID", Prefix: ".", Value: "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/", OnlyWhenChanged: true, Path: "/"}
				f := &File{
					RouteCookies: []RouteCookie{rc},
					Balancers: []*Balancer{{
						Pos: at(2), Name: "balancer://mycluster",
						StickySession: "ROUTEID", StickyCookie: "ROUTEID", StickyParam: "ROUTEID",
						Members: []*Member{
							{Pos: at(3), URL: "http://192.168.1.50:80", Name: "http://192.168.1.50", Route: "1"},
							{Pos: at(4), URL: "http://192.168.1.51:80", Name: "http://192.168.1.51", Route: "2"},
						},
					}},
					ProxyPass: []Mount{{Pos: at(7), Path: "/test", Target: "balancer://mycluster", Balancer: "balancer://mycluster"}},
					Reverse:   []ReverseMap{{Pos: at(8), Path: "/test", URL: "balancer://mycluster", Balancer: "balancer://mycluster"}},
				}
				f.Balancers[0].RouteCookie = &f.RouteCookies[0]
				return f
			},
		},
		{
			// Tomcat with jvmRoute: JSESSIONID=<id>.<jvmRoute> in a cookie or
			// ;jsessionid=<id>.<jvmRoute> in the path.
			name: "tomcat jvmRoute",
			src: `<Proxy balancer://tomcat>
  BalancerMember http://tc1.internal:8080 route=jvm1
  BalancerMember http://tc2.internal:8080 route=jvm2 loadfactor=2
</Proxy>
ProxyPass /app balancer://tomcat/app stickysession=JSESSIONID|jsessionid scolonpathdelim=On nofailover=On
ProxyPassReverse /app balancer://tomcat/app
ProxyPassReverseCookiePath /app /app
`,
			want: func(t *testing.T) *File {
				return &File{
					Balancers: []*Balancer{{
						Pos: at(1), Name: "balancer://tomcat",
						StickySession: "JSESSIONID|jsessionid", StickyCookie: "JSESSIONID", StickyParam: "jsessionid",
						ScolonPathDelim: FlagOn, NoFailover: FlagOn,
						Members: []*Member{
							{Pos: at(2), URL: "http://tc1.internal:8080", Name: "http://tc1.internal:8080", Route: "jvm1"},
							{Pos: at(3), URL: "http://tc2.internal:8080", Name: "http://tc2.internal:8080", Route: "jvm2", LoadFactor: 200},
						},
					}},
					ProxyPass: []Mount{{
						Pos: at(5), Path: "/app", Target: "balancer://tomcat/app", Balancer: "balancer://tomcat", BalancerPath: "/app",
						Params: []Param{{"stickysession", "JSESSIONID|jsessionid"}, {"scolonpathdelim", "On"}, {"nofailover", "On"}},
					}},
					Reverse:           []ReverseMap{{Pos: at(6), Path: "/app", URL: "balancer://tomcat/app", Balancer: "balancer://tomcat", BalancerPath: "/app"}},
					ReverseCookiePath: []CookieMap{{Pos: at(7), Internal: "/app", Public: "/app"}},
				}
			},
		},
		{
			// Spec §5.0: m1 m2 +R s1 +H h1 +R s2, and a second lbset tier.
			name: "hot standby, spares and lbset tiers",
			src: `<Proxy balancer://tiers>
BalancerMember http://m1
BalancerMember http://m2
BalancerMember http://s1 status=+R
BalancerMember http://h1 status=+H
BalancerMember http://s2 status=R
BalancerMember http://dr1 lbset=1
BalancerMember http://dr2 lbset=1 status=+H
</Proxy>
`,
			want: func(t *testing.T) *File {
				return &File{Balancers: []*Balancer{{
					Pos: at(1), Name: "balancer://tiers",
					Members: []*Member{
						{Pos: at(2), URL: "http://m1", Name: "http://m1"},
						{Pos: at(3), URL: "http://m2", Name: "http://m2"},
						{Pos: at(4), URL: "http://s1", Name: "http://s1", Status: Status{Raw: "+R", Set: StatusHotSpare}},
						{Pos: at(5), URL: "http://h1", Name: "http://h1", Status: Status{Raw: "+H", Set: StatusHotStandby}},
						{Pos: at(6), URL: "http://s2", Name: "http://s2", Status: Status{Raw: "R", Set: StatusHotSpare}},
						{Pos: at(7), URL: "http://dr1", Name: "http://dr1", LBSet: 1},
						{Pos: at(8), URL: "http://dr2", Name: "http://dr2", LBSet: 1, Status: Status{Raw: "+H", Set: StatusHotStandby}},
					},
				}}}
			},
		},
		{
			name: "health checks with templates and expressions",
			src: `ProxyHCExpr ok234 {%{REQUEST_STATUS} =~ /^[234]/}
ProxyHCExpr gdown {hc('body') !~ /Under maintenance/}
ProxyHCTemplate tcp
ProxyHCTemplate web hcmethod=GET hcuri=/status hcinterval=5 hcpasses=2 hcfails=3 hcexpr=ok234
<Proxy balancer://hc>
    BalancerMember http://a:8080/app hctemplate=web
    BalancerMember http://b:8080/app hctemplate=web hcinterval=500ms
    BalancerMember http://c:8080/app hcinterval=2 hctemplate=web
    BalancerMember http://d:8080 hcmethod=head11 hcuri=/ping hcexpr=GDOWN hcpasses=0
    BalancerMember http://e:8080 hctemplate=TCP
</Proxy>
`,
			want: func(t *testing.T) *File {
				web := HealthCheck{Method: HCGet, URI: "/status", Interval: 5 * time.Second, Passes: 2, PassesSet: true, Fails: 3, FailsSet: true, Expr: "ok234"}
				tcp := HealthCheck{Method: HCTCP, Interval: 30 * time.Second, Passes: 1, PassesSet: true, Fails: 1, FailsSet: true}
				withTpl := func(h HealthCheck, name string) HealthCheck { h.Template = name; return h }
				b500 := withTpl(web, "web")
				b500.Interval = 500 * time.Millisecond
				return &File{
					HCExprs: []*HCExpr{
						{Pos: at(1), Name: "ok234", Expr: mustExpr(t, "%{REQUEST_STATUS} =~ /^[234]/")},
						{Pos: at(2), Name: "gdown", Expr: mustExpr(t, "hc('body') !~ /Under maintenance/")},
					},
					HCTemplates: []*HCTemplate{
						{Pos: at(3), Name: "tcp", HealthCheck: tcp},
						{Pos: at(4), Name: "web", HealthCheck: web},
					},
					Balancers: []*Balancer{{
						Pos: at(5), Name: "balancer://hc",
						Members: []*Member{
							{Pos: at(6), URL: "http://a:8080/app", Name: "http://a:8080/app", HealthCheck: withTpl(web, "web")},
							// Parameters apply left to right: a later
							// hcinterval overrides the template's ...
							{Pos: at(7), URL: "http://b:8080/app", Name: "http://b:8080/app", HealthCheck: b500},
							// ... and the template overrides an earlier one.
							{Pos: at(8), URL: "http://c:8080/app", Name: "http://c:8080/app", HealthCheck: withTpl(web, "web")},
							{Pos: at(9), URL: "http://d:8080", Name: "http://d:8080", HealthCheck: HealthCheck{Method: HCHead11, URI: "/ping", Expr: "GDOWN", PassesSet: true}},
							{Pos: at(10), URL: "http://e:8080", Name: "http://e:8080", HealthCheck: withTpl(tcp, "tcp")},
						},
					}},
				}
			},
		},
		{
			// WebLogic session ids look like ID!primary!secondary: the route
			// follows the first '!'.
			name: "weblogic ! separator",
			src: `<Proxy balancer://wls>
	BalancerMember http://wls1:7001 route=-1234567
	BalancerMember http://wls2:7001 route=9876543
	ProxySet stickysession=JSESSIONID|jsessionid stickysessionsep=! scolonpathdelim=on
</Proxy>
ProxyPass /console !
ProxyPass / balancer://wls/
`,
			want: func(t *testing.T) *File {
				return &File{
					Balancers: []*Balancer{{
						Pos: at(1), Name: "balancer://wls",
						StickySession: "JSESSIONID|jsessionid", StickyCookie: "JSESSIONID", StickyParam: "jsessionid",
						StickySep: '!', StickySepSet: true, ScolonPathDelim: FlagOn,
						Members: []*Member{
							{Pos: at(2), URL: "http://wls1:7001", Name: "http://wls1:7001", Route: "-1234567"},
							{Pos: at(3), URL: "http://wls2:7001", Name: "http://wls2:7001", Route: "9876543"},
						},
					}},
					ProxyPass: []Mount{
						{Pos: at(6), Path: "/console", Target: "!", Exclude: true},
						{Pos: at(7), Path: "/", Target: "balancer://wls/", Balancer: "balancer://wls", BalancerPath: "/"},
					},
				}
			},
		},
		{
			// Members and ProxySet outside a section, balancer defined first
			// by ProxyPass, names lower-cased, section paths ignored, and
			// parameters on the <Proxy> line.
			name: "outside sections and name normalisation",
			src: `ProxyPass /a balancer://MyCluster/ lbmethod=bytraffic
BalancerMember balancer://mycluster HTTP://LocalHost:17011/Back/ route=r1
<Proxy "balancer://MYCLUSTER/ignored/path" maxattempts=0>
BalancerMember http://127.0.0.1:80/x
</Proxy>
ProxySet balancer://myCluster timeout=2 failonstatus=500,503
`,
			want: func(t *testing.T) *File {
				return &File{
					Balancers: []*Balancer{{
						Pos: at(1), Name: "balancer://mycluster",
						LBMethod: "bytraffic", LBMethodPos: at(1),
						MaxAttempts: 0, MaxAttemptsSet: true,
						Timeout: 2 * time.Second, FailOnStatus: []int{500, 503},
						Members: []*Member{
							{Pos: at(2), URL: "HTTP://LocalHost:17011/Back/", Name: "http://localhost:17011/Back/", Route: "r1"},
							{Pos: at(4), URL: "http://127.0.0.1:80/x", Name: "http://127.0.0.1/x"},
						},
					}},
					ProxyPass: []Mount{{
						Pos: at(1), Path: "/a", Target: "balancer://MyCluster/", Balancer: "balancer://mycluster", BalancerPath: "/",
						Params: []Param{{"lbmethod", "bytraffic"}},
					}},
				}
			},
		},
		{
			// Spec §8.1 path joining snippets: ProxyPass keeps what follows
			// the balancer name for the caller to append.
			name: "path joining snippets",
			src: `BalancerMember balancer://c http://h/Back/
ProxyPass /a balancer://c/
BalancerMember balancer://j http://h2/app
ProxyPass /front balancer://j/back
`,
			want: func(t *testing.T) *File {
				return &File{
					Balancers: []*Balancer{
						{Pos: at(1), Name: "balancer://c", Members: []*Member{{Pos: at(1), URL: "http://h/Back/", Name: "http://h/Back/"}}},
						{Pos: at(3), Name: "balancer://j", Members: []*Member{{Pos: at(3), URL: "http://h2/app", Name: "http://h2/app"}}},
					},
					ProxyPass: []Mount{
						{Pos: at(2), Path: "/a", Target: "balancer://c/", Balancer: "balancer://c", BalancerPath: "/"},
						{Pos: at(4), Path: "/front", Target: "balancer://j/back", Balancer: "balancer://j", BalancerPath: "/back"},
					},
				}
			},
		},
		{
			name: "reverse mapping snippets (spec §11)",
			src: `ProxyPassReverse /fake balancer://name/urlpart
ProxyPassReverse /app http://backend.internal:8080/app/ interpolate
ProxyPassReverseCookieDomain backend.internal.corp public.example
ProxyPassReverseCookiePath /back/sub /app interpolate
<Location /loc>
ProxyPassReverse balancer://Name/
</Location>
`,
			want: func(t *testing.T) *File {
				return &File{
					Reverse: []ReverseMap{
						{Pos: at(1), Path: "/fake", URL: "balancer://name/urlpart", Balancer: "balancer://name", BalancerPath: "/urlpart"},
						{Pos: at(2), Path: "/app", URL: "http://backend.internal:8080/app/", Interpolate: true},
						{Pos: at(6), Path: "/loc", URL: "balancer://Name/", Balancer: "balancer://name", BalancerPath: "/"},
					},
					ReverseCookieDomain: []CookieMap{{Pos: at(3), Internal: "backend.internal.corp", Public: "public.example"}},
					ReverseCookiePath:   []CookieMap{{Pos: at(4), Internal: "/back/sub", Public: "/app", Interpolate: true}},
				}
			},
		},
		{
			// IfModule bodies, virtual hosts, locations, continuation,
			// quoting, comments and the manager.
			name: "sections, lexing and the manager",
			src: `# comment
   # indented comment
<IfModule mod_proxy_balancer.c>
  <IfModule !proxy_module>
    ProxyPass /never balancer://never/
  </IfModule>
  <VirtualHost *:80 [::1]:80>
    <Proxy 'balancer://v'>
      BalancerMember "http://a b/" \
          "route=r 1" \
          retry=0
    </Proxy>
    ProxyPass /v/ balancer://v/ nocanon noquery mapping=Servlet
    <Location "/mgr">
        SetHandler Balancer-Manager
    </Location>
    <Location /loc>
        ProxyPass balancer://v/x/ stickysession=S
    </Location>
  </VirtualHost>
</IfModule>
BalancerPersist on
BalancerGrowth 20
ProxyTimeout 45
`,
			want: func(t *testing.T) *File {
				return &File{
					Balancers: []*Balancer{{
						Pos: at(8), Name: "balancer://v",
						StickySession: "S", StickyCookie: "S", StickyParam: "S",
						Members: []*Member{{Pos: at(9), URL: "http://a b/", Name: "http://a b/", Route: "r 1", RetrySet: true}},
					}},
					ProxyPass: []Mount{
						{Pos: at(13), Path: "/v/", Target: "balancer://v/", Balancer: "balancer://v", BalancerPath: "/", NoCanon: true, NoQuery: true, Mapping: "servlet", VirtualHost: "*:80 [::1]:80", VHost: 1},
						{Pos: at(18), Path: "/loc", Target: "balancer://v/x/", Balancer: "balancer://v", BalancerPath: "/x/", InLocation: true, VirtualHost: "*:80 [::1]:80", VHost: 1, Params: []Param{{"stickysession", "S"}}},
					},
					ManagerPaths:      []string{"/mgr"},
					Sections:          []*Section{{Pos: at(14), Path: "/mgr", VirtualHost: "*:80 [::1]:80", VHost: 1, Manager: true}},
					VirtualHosts:      []*VirtualHost{{Pos: at(7), Addrs: []string{"*:80", "[::1]:80"}}},
					Persist:           FlagOn,
					PersistPos:        at(22),
					BalancerGrowth:    20,
					BalancerGrowthSet: true,
					ProxyTimeout:      45 * time.Second,
				}
			},
		},
		{
			// A non-balancer ProxyPass keeps its worker and parameters;
			// ProxySet can name that worker.
			name: "non-balancer ProxyPass",
			src: `ProxyPass /api http://API.example:80/v1/ retry=0 timeout=5 connectiontimeout=250ms keepalive=On enablereuse=off
ProxySet http://api.example/v1/ ttl=60 max=10 smax=5 min=1 acquire=100 ping=1
`,
			want: func(t *testing.T) *File {
				return &File{ProxyPass: []Mount{{
					Pos: at(1), Path: "/api", Target: "http://API.example:80/v1/",
					Params: []Param{{"retry", "0"}, {"timeout", "5"}, {"connectiontimeout", "250ms"}, {"keepalive", "On"}, {"enablereuse", "off"}},
					Worker: &Member{
						Pos: at(1), URL: "http://API.example:80/v1/", Name: "http://api.example/v1/",
						RetrySet: true, Timeout: 5 * time.Second, ConnectionTimeout: 250 * time.Millisecond,
						KeepAlive: FlagOn, DisableReuse: FlagOn,
						TTL: 60 * time.Second, Max: 10, MaxSet: true, Smax: 5, SmaxSet: true, Min: 1, MinSet: true,
						Acquire: 100 * time.Millisecond, Ping: time.Second,
					},
				}}}
			},
		},
		{
			// The benchmark harness's Apache configuration (proxy part).
			name: "bench harness config",
			src: `<Proxy "balancer://lbbench">
    # Backend connections are pooled and reused per child process by default
    # (disablereuse=Off); keepalive=On also sets SO_KEEPALIVE on them.
    BalancerMember "http://127.0.0.1:9001" keepalive=On ttl=120
    BalancerMember "http://127.0.0.1:9002" keepalive=On ttl=120
    ProxySet lbmethod=byrequests
</Proxy>
ProxyPass        "/" "balancer://lbbench/"
ProxyPassReverse "/" "balancer://lbbench/"

<Location "/">
    Require all granted
</Location>
`,
			want: func(t *testing.T) *File {
				return &File{
					Balancers: []*Balancer{{
						Pos: at(1), Name: "balancer://lbbench", LBMethod: "byrequests", LBMethodPos: at(6),
						Members: []*Member{
							{Pos: at(4), URL: "http://127.0.0.1:9001", Name: "http://127.0.0.1:9001", KeepAlive: FlagOn, TTL: 120 * time.Second},
							{Pos: at(5), URL: "http://127.0.0.1:9002", Name: "http://127.0.0.1:9002", KeepAlive: FlagOn, TTL: 120 * time.Second},
						},
					}},
					ProxyPass: []Mount{{Pos: at(8), Path: "/", Target: "balancer://lbbench/", Balancer: "balancer://lbbench", BalancerPath: "/"}},
					Reverse:   []ReverseMap{{Pos: at(9), Path: "/", URL: "balancer://lbbench/", Balancer: "balancer://lbbench", BalancerPath: "/"}},
					Sections:  []*Section{{Pos: at(11), Path: "/", Require: access.AnyOf{access.All{Granted: true}}, RequirePos: at(12)}},
				}
			},
		},
		{
			name: "Define and IfDefine",
			src: `Define BACKEND http://10.1.1.1:8080
Define WITH_B
<IfDefine WITH_B>
BalancerMember balancer://d ${BACKEND}/x
</IfDefine>
<IfDefine !WITH_B>
BalancerMember balancer://d http://never
</IfDefine>
UnDefine WITH_B
<IfDefine WITH_B>
BalancerMember balancer://d http://never2
</IfDefine>
`,
			want: func(t *testing.T) *File {
				return &File{Balancers: []*Balancer{{
					Pos: at(4), Name: "balancer://d",
					Members: []*Member{{Pos: at(4), URL: "http://10.1.1.1:8080/x", Name: "http://10.1.1.1:8080/x"}},
				}}}
			},
		},
		{
			name: "IfVersion evaluated for 2.4.71",
			src: `<IfVersion >= 2.4>
BalancerMember balancer://v http://yes1
</IfVersion>
<IfVersion < 2.4>
BalancerMember balancer://v http://no1
</IfVersion>
<IfVersion 2.4.71>
BalancerMember balancer://v http://yes2
</IfVersion>
<IfVersion != 2.4.71>
BalancerMember balancer://v http://no2
</IfVersion>
<IfVersion ~ ^2\.4\.>
BalancerMember balancer://v http://yes3
</IfVersion>
`,
			want: func(t *testing.T) *File {
				return &File{Balancers: []*Balancer{{
					Pos: at(2), Name: "balancer://v",
					Members: []*Member{
						{Pos: at(2), URL: "http://yes1", Name: "http://yes1"},
						{Pos: at(8), URL: "http://yes2", Name: "http://yes2"},
						{Pos: at(14), URL: "http://yes3", Name: "http://yes3"},
					},
				}}}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustParse(t, tt.src)
			if diff := cmp.Diff(tt.want(t), got, cmpFile); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMemberParams checks each member parameter as Apache reads it.
func TestMemberParams(t *testing.T) {
	tests := []struct {
		params string
		want   Member // URL, Name and Pos are filled in
	}{
		{"loadfactor=1", Member{LoadFactor: 100}},
		{"loadfactor=2.25", Member{LoadFactor: 225}},
		{"loadfactor=2.259", Member{LoadFactor: 225}}, // truncated, spec §8.1
		{"loadfactor=1.5", Member{LoadFactor: 150}},
		{"loadfactor=1.15", Member{LoadFactor: 114}}, // 1.15*100 = 114.999... in binary floating point
		{"loadfactor=100", Member{LoadFactor: 10000}},
		{"loadfactor=100.009", Member{LoadFactor: 10000}},
		{"loadfactor=3abc", Member{LoadFactor: 300}}, // atof stops at garbage
		{`"loadfactor= 2"`, Member{LoadFactor: 200}},
		{`route="r1"`, Member{Route: `"r1"`}}, // quotes count only at the start of a word
		{`'route=it\'s'`, Member{Route: "it's"}},
		{"LoadFactor=1e1", Member{LoadFactor: 1000}},
		{"route=jvm1", Member{Route: "jvm1"}},
		{"route=", Member{}},
		{"redirect=r2", Member{Redirect: "r2"}},
		{"route=" + strings.Repeat("r", 63), Member{Route: strings.Repeat("r", 63)}},
		{"retry=0", Member{RetrySet: true}},
		{"retry=600", Member{Retry: 600 * time.Second, RetrySet: true}},
		{"retry=500ms", Member{Retry: 500 * time.Second, RetrySet: true}}, // spec §12 item 19
		{"retry=abc", Member{RetrySet: true}},                             // atoi gives 0
		{"retry=4294967297", Member{Retry: time.Second, RetrySet: true}},  // glibc atoi truncates to 32 bits
		{"timeout=5", Member{Timeout: 5 * time.Second}},
		{"timeout=500ms", Member{Timeout: 500 * time.Second}},
		{"connectiontimeout=3", Member{ConnectionTimeout: 3 * time.Second}},
		{"connectiontimeout=250ms", Member{ConnectionTimeout: 250 * time.Millisecond}},
		{"connectiontimeout=2mi", Member{ConnectionTimeout: 2 * time.Minute}},
		{"connectiontimeout=1hr", Member{ConnectionTimeout: time.Hour}},
		{"connectiontimeout=5sec", Member{ConnectionTimeout: 5 * time.Second}}, // only the first letter counts
		{"acquire=200", Member{Acquire: 200 * time.Millisecond}},
		{"acquire=2s", Member{Acquire: 2 * time.Second}},
		{"ping=1", Member{Ping: time.Second}},
		{"ping=100ms", Member{Ping: 100 * time.Millisecond}},
		{"disablereuse=On", Member{DisableReuse: FlagOn}},
		{"disablereuse=off", Member{DisableReuse: FlagOff}},
		{"enablereuse=on", Member{DisableReuse: FlagOff}},
		{"enablereuse=OFF", Member{DisableReuse: FlagOn}},
		{"keepalive=On", Member{KeepAlive: FlagOn}},
		{"ttl=120", Member{TTL: 120 * time.Second}},
		{"max=1 acquire=200", Member{Max: 1, MaxSet: true, Acquire: 200 * time.Millisecond}},
		{"max=0 smax=0 min=0", Member{MaxSet: true, SmaxSet: true, MinSet: true}},
		{"lbset=0", Member{}},
		{"lbset=99", Member{LBSet: 99}},
		{"status=d", Member{Status: Status{Raw: "d", Set: StatusDisabled}}},
		{"status=IN", Member{Status: Status{Raw: "IN", Set: StatusIgnoreErrors | StatusDrain}}},
		{"status=+H-H+S", Member{Status: Status{Raw: "+H-H+S", Set: StatusStopped, Clear: StatusHotStandby}}},
		{"status=S-E", Member{Status: Status{Raw: "S-E", Set: StatusStopped, Clear: StatusError}}},
		{"status=-DS", Member{Status: Status{Raw: "-DS", Clear: StatusDisabled | StatusStopped}}}, // the mode sticks
		{"status=+E", Member{Status: Status{Raw: "+E", Set: StatusError}}},
		{"status=oignudsehfcr", Member{Status: Status{Raw: "oignudsehfcr", Set: 0x0fff}}},
		{"status=", Member{}},
		{"status=D status=-D", Member{Status: Status{Raw: "-D", Clear: StatusDisabled}}}, // table: last value wins
		{"hcmethod=GET hcuri=/health?x hcinterval=10 hcpasses=3 hcfails=3",
			Member{HealthCheck: HealthCheck{Method: HCGet, URI: "/health?x", Interval: 10 * time.Second, Passes: 3, PassesSet: true, Fails: 3, FailsSet: true}}},
		{"hcmethod=tcp hcinterval=100ms", Member{HealthCheck: HealthCheck{Method: HCTCP, Interval: 100 * time.Millisecond}}},
		{"hcuri=health", Member{HealthCheck: HealthCheck{URI: "health"}}},
		{"hcmethod=CPING", Member{HealthCheck: HealthCheck{Method: HCCPing}}},
		{"iobuffersize=65536 flushpackets=auto flushwait=5", Member{Ignored: []Param{{"iobuffersize", "65536"}, {"flushpackets", "auto"}, {"flushwait", "5"}}}},
		{"receivebuffersize=0 responsefieldsize=8192 upgrade=websocket secret=x flusher=flush addressttl=10",
			Member{Ignored: []Param{{"receivebuffersize", "0"}, {"responsefieldsize", "8192"}, {"upgrade", "websocket"}, {"secret", "x"}, {"flusher", "flush"}, {"addressttl", "10"}}}},
		{"ROUTE=r1 Route=r2", Member{Route: "r2"}},
	}
	for _, tt := range tests {
		t.Run(tt.params, func(t *testing.T) {
			f := mustParse(t, "BalancerMember balancer://b http://h:8080 "+tt.params+"\n")
			want := tt.want
			want.Pos, want.URL, want.Name = at(1), "http://h:8080", "http://h:8080"
			if diff := cmp.Diff(&want, f.Balancers[0].Members[0]); diff != "" {
				t.Errorf("member mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBalancerParams checks each balancer parameter as Apache reads it,
// given by ProxySet inside the section.
func TestBalancerParams(t *testing.T) {
	tests := []struct {
		params string
		want   Balancer // Name, Pos and Members are ignored
	}{
		{"lbmethod=bybusyness", Balancer{LBMethod: "bybusyness", LBMethodPos: at(2)}},
		{"lbmethod=heartbeat", Balancer{LBMethod: "heartbeat", LBMethodPos: at(2)}},
		{"maxattempts=0", Balancer{MaxAttemptsSet: true}},
		{"maxattempts=5", Balancer{MaxAttempts: 5, MaxAttemptsSet: true}},
		{"nofailover=On", Balancer{NoFailover: FlagOn}},
		{"nofailover=off", Balancer{NoFailover: FlagOff}},
		{"stickysession=JSESSIONID", Balancer{StickySession: "JSESSIONID", StickyCookie: "JSESSIONID", StickyParam: "JSESSIONID"}},
		{"stickysession=A|B", Balancer{StickySession: "A|B", StickyCookie: "A", StickyParam: "B"}},
		{"stickysession=A|B|C", Balancer{StickySession: "A|B|C", StickyCookie: "A", StickyParam: "B|C"}},
		{"stickysession=" + strings.Repeat("x", 80), Balancer{StickySession: strings.Repeat("x", 63), StickyCookie: strings.Repeat("x", 63), StickyParam: strings.Repeat("x", 63)}},
		{"stickysession=", Balancer{}},
		{"stickysessionsep=!", Balancer{StickySep: '!', StickySepSet: true}},
		{"stickysessionsep=-", Balancer{StickySep: '-', StickySepSet: true}},
		{"stickysessionsep=Off", Balancer{StickySep: 0, StickySepSet: true}},
		{"scolonpathdelim=On", Balancer{ScolonPathDelim: FlagOn}},
		{"timeout=2", Balancer{Timeout: 2 * time.Second}},
		{"timeout=1500ms", Balancer{Timeout: 1500 * time.Second}},
		{"failonstatus=500,503", Balancer{FailOnStatus: []int{500, 503}}},
		{`"failonstatus=500, 502 ,,503"`, Balancer{FailOnStatus: []int{500, 502, 503}}},
		{"failonstatus=500 failonstatus=502", Balancer{FailOnStatus: []int{502}}}, // the second replaces
		{"failonstatus=", Balancer{FailOnStatus: []int{}}},
		{"failontimeout=On", Balancer{FailOnTimeout: FlagOn}},
		{"growth=2", Balancer{Growth: 2}},
		{"forcerecovery=Off", Balancer{ForceRecovery: FlagOff}},
		{"nonce=None", Balancer{NonceSet: true}},
		{"nonce=4a0f6c2e-5b1d-4c1e-9f41-6d9e2c1b7a10", Balancer{Nonce: "4a0f6c2e-5b1d-4c1e-9f41-6d9e2c1b7a10", NonceSet: true}},
		{"LBMethod=bytraffic MAXATTEMPTS=1", Balancer{LBMethod: "bytraffic", LBMethodPos: at(2), MaxAttempts: 1, MaxAttemptsSet: true}},
	}
	for _, tt := range tests {
		t.Run(tt.params, func(t *testing.T) {
			f := mustParse(t, "<Proxy balancer://b>\nProxySet "+tt.params+"\n</Proxy>\n")
			want := tt.want
			got := *f.Balancers[0]
			got.Name, got.Pos, got.Members = "", Pos{}, nil
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("balancer mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestErrors checks that bad configurations fail with the file, the line,
// the directive and the reason.
func TestErrors(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		line      int
		directive string
		msg       string // substring of Msg
	}{
		{"unknown worker param", "BalancerMember balancer://b http://h foo=1", 1, "BalancerMember", "foo=1: unknown Worker parameter"},
		{"unknown balancer param", "<Proxy balancer://b>\nProxySet retry=5\n</Proxy>", 2, "ProxySet", "retry=5: unknown Balancer parameter"},
		{"worker param on balancer ProxyPass", "ProxyPass /a balancer://b/ retry=0", 1, "ProxyPass", "unknown Balancer parameter"},
		{"loadfactor too small", "BalancerMember balancer://b http://h loadfactor=0.999", 1, "BalancerMember", "LoadFactor must be a number between 1..100"},
		{"loadfactor too big", "BalancerMember balancer://b http://h loadfactor=101", 1, "BalancerMember", "between 1..100"},
		{"loadfactor garbage", "BalancerMember balancer://b http://h loadfactor=abc", 1, "BalancerMember", "between 1..100"},
		{"loadfactor nan", "BalancerMember balancer://b http://h loadfactor=nan", 1, "BalancerMember", "between 1..100"},
		{"loadfactor inf", "BalancerMember balancer://b http://h loadfactor=inf", 1, "BalancerMember", "between 1..100"},
		{"route too long", "BalancerMember balancer://b http://h route=" + strings.Repeat("r", 64), 1, "BalancerMember", "Route length must be < 64"},
		{"redirect too long", "BalancerMember balancer://b http://h redirect=" + strings.Repeat("r", 64), 1, "BalancerMember", "Redirect length"},
		{"negative retry", "BalancerMember balancer://b http://h retry=-1", 1, "BalancerMember", "Retry must be a positive value"},
		{"zero timeout", "BalancerMember balancer://b http://h timeout=0", 1, "BalancerMember", "Timeout must be at least one second"},
		{"timeout ms below a second", "BalancerMember balancer://b http://h timeout=ms", 1, "BalancerMember", "at least one second"},
		{"zero ttl", "BalancerMember balancer://b http://h ttl=0", 1, "BalancerMember", "TTL must be at least one second"},
		{"negative max", "BalancerMember balancer://b http://h max=-1", 1, "BalancerMember", "Max must be a positive number"},
		{"acquire bad unit", "BalancerMember balancer://b http://h acquire=5x", 1, "BalancerMember", "Acquire timeout has wrong format"},
		{"acquire zero", "BalancerMember balancer://b http://h acquire=0", 1, "BalancerMember", "Acquire must be at least one millisecond"},
		{"connectiontimeout space", `BalancerMember balancer://b http://h "connectiontimeout=5 s"`, 1, "BalancerMember", "Connectiontimeout has wrong format"},
		{"connectiontimeout m only", "BalancerMember balancer://b http://h connectiontimeout=5m", 1, "BalancerMember", "wrong format"},
		{"connectiontimeout overflow", "BalancerMember balancer://b http://h connectiontimeout=99999999999999999999", 1, "BalancerMember", "wrong format"},
		{"connectiontimeout huge hours", "BalancerMember balancer://b http://h connectiontimeout=9999999999999hr", 1, "BalancerMember", "wrong format"},
		{"ping zero", "BalancerMember balancer://b http://h ping=0ms", 1, "BalancerMember", "Ping/Pong timeout must be at least one millisecond"},
		{"disablereuse bad", "BalancerMember balancer://b http://h disablereuse=yes", 1, "BalancerMember", "DisableReuse must be On|Off"},
		{"lbset too big", "BalancerMember balancer://b http://h lbset=100", 1, "BalancerMember", "lbset must be between 0 and 99"},
		{"status unknown letter", "BalancerMember balancer://b http://h status=X", 1, "BalancerMember", "Unknown status parameter option"},
		{"status trailing plus", "BalancerMember balancer://b http://h status=D+", 1, "BalancerMember", "Unknown status parameter option"},
		{"status trailing minus", "BalancerMember balancer://b http://h status=-", 1, "BalancerMember", "Unknown status parameter option"},
		{"status doubled sign", "BalancerMember balancer://b http://h status=++H", 1, "BalancerMember", "Unknown status parameter option"},
		{"iobuffersize small", "BalancerMember balancer://b http://h iobuffersize=100", 1, "BalancerMember", "IOBufferSize must be >= 512"},
		{"flushpackets bad", "BalancerMember balancer://b http://h flushpackets=maybe", 1, "BalancerMember", "flushpackets must be on|off|auto"},
		{"flushwait big", "BalancerMember balancer://b http://h flushwait=1001", 1, "BalancerMember", "flushwait must be <= 1000"},
		{"hcmethod unknown", "BalancerMember balancer://b http://h hcmethod=POST", 1, "BalancerMember", "Unknown method"},
		{"hcinterval small", "BalancerMember balancer://b http://h hcinterval=99ms", 1, "BalancerMember", "Interval must be a positive value greater than 100ms"},
		{"hcinterval bad", "BalancerMember balancer://b http://h hcinterval=x", 1, "BalancerMember", "Unparse-able hcinterval"},
		{"hcpasses negative", "BalancerMember balancer://b http://h hcpasses=-1", 1, "BalancerMember", "Passes must be a positive value"},
		{"hcuri too long", "BalancerMember balancer://b http://h hcuri=/" + strings.Repeat("u", 63), 1, "BalancerMember", "Health check uri length"},
		{"hcexpr undefined", "BalancerMember balancer://b http://h hcexpr=nope", 1, "BalancerMember", "Unknown health check condition expr: nope"},
		{"hcexpr defined later", "BalancerMember balancer://b http://h hcexpr=ok\nProxyHCExpr ok {%{REQUEST_STATUS} -lt 400}", 1, "BalancerMember", "Unknown health check condition expr"},
		{"hctemplate undefined", "BalancerMember balancer://b http://h hctemplate=t", 1, "BalancerMember", "Unknown ProxyHCTemplate name: t"},
		{"stickysession empty param", "<Proxy balancer://b>\nProxySet stickysession=A|\n</Proxy>", 2, "ProxySet", "empty URL parameter name"},
		{"stickysessionsep two chars", "<Proxy balancer://b>\nProxySet stickysessionsep=ab\n</Proxy>", 2, "ProxySet", "stickysessionsep must be a single character or Off"},
		{"balancer timeout zero", "<Proxy balancer://b>\nProxySet timeout=0\n</Proxy>", 2, "ProxySet", "timeout must be at least one second"},
		{"maxattempts negative", "<Proxy balancer://b>\nProxySet maxattempts=-1\n</Proxy>", 2, "ProxySet", "maximum number of attempts"},
		{"lbmethod too long", "<Proxy balancer://b>\nProxySet lbmethod=abcdefghijklmnop\n</Proxy>", 2, "ProxySet", "unknown lbmethod"},
		{"failonstatus bad", "<Proxy balancer://b>\nProxySet failonstatus=500,99\n</Proxy>", 2, "ProxySet", "failonstatus must be one or more HTTP response codes"},
		{"failonstatus 600", "<Proxy balancer://b>\nProxySet failonstatus=600\n</Proxy>", 2, "ProxySet", "HTTP response codes"},
		{"growth zero", "<Proxy balancer://b>\nProxySet growth=0\n</Proxy>", 2, "ProxySet", "growth must be between 1 and 100"},
		{"growth big", "<Proxy balancer://b>\nProxySet growth=101\n</Proxy>", 2, "ProxySet", "growth must be between 1 and 100"},
		{"nonce too long", "<Proxy balancer://b>\nProxySet nonce=" + strings.Repeat("n", 37) + "\n</Proxy>", 2, "ProxySet", "Provided nonce is too large"},
		{"nofailover bad", "<Proxy balancer://b>\nProxySet nofailover=1\n</Proxy>", 2, "ProxySet", "failover must be On|Off"},
		{"section param error", "<Proxy balancer://b growth=0>\n</Proxy>", 1, "<Proxy>", "growth must be between"},
		{"ProxySet unknown balancer", "ProxySet balancer://nope lbmethod=bytraffic", 1, "ProxySet", "can not find 'balancer://nope' Worker/Balancer"},
		{"ProxySet not kv", "<Proxy balancer://b>\nProxySet lbmethod\n</Proxy>", 2, "ProxySet", "key=value"},
		{"member without balancer", "BalancerMember http://h", 1, "BalancerMember", "bad syntax for a balancer name"},
		{"member without url", "BalancerMember balancer://b", 1, "BalancerMember", "must define remote proxy server"},
		{"member no args", "BalancerMember", 1, "BalancerMember", "must define balancer name"},
		{"member balancer name in section", "<Proxy balancer://b>\nBalancerMember http://h http://i\n</Proxy>", 2, "BalancerMember", "can not have a balancer name"},
		{"member relative url", "<Proxy balancer://b>\nBalancerMember /x\n</Proxy>", 2, "BalancerMember", "URL must be absolute"},
		{"member bad port", "<Proxy balancer://b>\nBalancerMember http://h:99999\n</Proxy>", 2, "BalancerMember", "invalid port"},
		{"member no host", "<Proxy balancer://b>\nBalancerMember http://:80/\n</Proxy>", 2, "BalancerMember", "no host"},
		{"member is balancer", "<Proxy balancer://b>\nBalancerMember balancer://c\n</Proxy>", 2, "BalancerMember", "can not be a balancer"},
		{"member in location", "<Location /x>\nBalancerMember balancer://b http://h\n</Location>", 2, "BalancerMember", "not allowed inside <Location>"},
		{"ProxyPass no target", "ProxyPass /x", 1, "ProxyPass", "needs a path"},
		{"ProxyPass bad param", "ProxyPass /x balancer://b/ junk", 1, "ProxyPass", `"junk"`},
		{"ProxyPass comment is an argument", "ProxyPass /x balancer://b/ # comment", 1, "ProxyPass", `"#"`},
		{"ProxyPass path in location", "<Location /x>\nProxyPass /x http://h/\n</Location>", 2, "ProxyPass", "can not have a path when defined in a location"},
		{"ProxyPass relative target", "ProxyPass /x backend/", 1, "ProxyPass", "URL must be absolute"},
		{"ProxyPass bad mapping", "ProxyPass /x http://h/ mapping=raw", 1, "ProxyPass", "unknown mapping"},
		{"ProxyPass bad balancer name", "ProxyPass /x balancer:///", 1, "ProxyPass", "bad syntax for a balancer name"},
		{"ProxyPass in Proxy", "<Proxy balancer://b>\nProxyPass /x !\n</Proxy>", 2, "ProxyPass", "not allowed inside <Proxy>"},
		{"ProxyPassReverse no path", "ProxyPassReverse http://h/", 1, "ProxyPassReverse", "needs a path"},
		{"ProxyPassReverse bad option", "ProxyPassReverse / http://h/ sometimes", 1, "ProxyPassReverse", "unknown option"},
		{"cookie path one arg", "ProxyPassReverseCookiePath /a", 1, "ProxyPassReverseCookiePath", "two or three arguments"},
		{"hcexpr unsupported var", "ProxyHCExpr x {%{REMOTE_ADDR} == '1'}", 1, "ProxyHCExpr", "could not parse expression"},
		{"hcexpr bad regex", "ProxyHCExpr x {%{REQUEST_STATUS} =~ /(?<=a)b/}", 1, "ProxyHCExpr", "regular expression"},
		{"hcexpr name too long", "ProxyHCExpr abcdefghijklmnop {true}", 1, "ProxyHCExpr", "limited to 15 characters"},
		{"hcexpr missing", "ProxyHCExpr x", 1, "ProxyHCExpr", "missing expression"},
		{"hcexpr extra", "ProxyHCExpr x {true} more", 1, "ProxyHCExpr", "extra parameter"},
		{"hctemplate bad param", "ProxyHCTemplate t loadfactor=2", 1, "ProxyHCTemplate", "unknown Worker hcheck parameter"},
		{"hctemplate not kv", "ProxyHCTemplate t GET", 1, "ProxyHCTemplate", "key=value"},
		{"BalancerPersist bad", "BalancerPersist maybe", 1, "BalancerPersist", "must be On or Off"},
		{"BalancerPersist two args", "BalancerPersist On Off", 1, "BalancerPersist", "takes one argument"},
		{"BalancerGrowth big", "BalancerGrowth 1001", 1, "BalancerGrowth", "between 0 and 1000"},
		{"ProxyTimeout zero", "ProxyTimeout 0", 1, "ProxyTimeout", "at least 1 second"},
		{"unclosed section", "# x\n<Proxy balancer://b>\nBalancerMember http://h\n", 2, "<Proxy>", "expected </Proxy> before the end of the file"},
		{"mismatched end", "<Proxy balancer://b>\n</Location>", 2, "</Location>", "expected </Proxy>"},
		{"stray end", "\n\n</IfModule>", 3, "</IfModule>", "without matching <IfModule>"},
		{"missing >", "<Proxy balancer://b\n</Proxy>", 1, "<Proxy>", "missing closing '>'"},
		{"mismatch in skipped body", "<Directory />\n<Files x>\n</Directory>\n", 3, "</Directory>", "expected </Files>"},
		{"unclosed skipped", "<IfModule !mod_x.c>\n", 1, "<IfModule>", "before the end of the file"},
		{"IfModule no arg", "<IfModule>\n</IfModule>", 1, "<IfModule>", "takes one argument"},
		{"nested Location", "<Location /a>\n<Location /b>\n</Location>\n</Location>", 2, "<Location>", "cannot occur within"},
		{"nested VirtualHost", "<VirtualHost *>\n<VirtualHost *>\n</VirtualHost>\n</VirtualHost>", 2, "<VirtualHost>", "cannot occur within"},
		{"Proxy without URL", "<Proxy >\n</Proxy>", 1, "<Proxy>", "requires a URL"},
		{"bad balancer section", "<Proxy balancer://>\n</Proxy>", 1, "<Proxy>", "bad syntax for a balancer name"},
		{"IfVersion bad", "<IfVersion 2.x>\n</IfVersion>", 1, "<IfVersion>", "major[.minor[.patch]]"},
		{"continued line error on first line", "\nBalancerMember balancer://b \\\n  http://h \\\n  foo=1\n", 2, "BalancerMember", "unknown Worker parameter"},
		{"Define bad name", "Define a:b x", 1, "Define", "must not contain ':'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(testFile, strings.NewReader(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded, want error; balancers %v", f.Balancers)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is %T, want *Error", err, err)
			}
			if e.File != testFile || e.Line != tt.line || e.Directive != tt.directive || !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("error = %#v\nwant file %q line %d directive %q msg containing %q", e, testFile, tt.line, tt.directive, tt.msg)
			}
			if want := testFile + ":"; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Error() = %q, want prefix %q", err.Error(), want)
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	e := &Error{File: "a.conf", Line: 3, Directive: "ProxySet", Msg: "boom"}
	if got, want := e.Error(), "a.conf:3: ProxySet: boom"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	e = &Error{File: "a.conf", Msg: "cannot open"}
	if got, want := e.Error(), "a.conf: cannot open"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := at(7).Errorf("BalancerMember", "x %d", 1).Error(), "test.conf:7: BalancerMember: x 1"; got != want {
		t.Errorf("Pos.Errorf = %q, want %q", got, want)
	}
}

// TestWarnings checks that skipped and ignored things are listed with their
// lines.
func TestWarnings(t *testing.T) {
	src := `ServerName example.com
<Directory /var/www>
  ProxyPass /x balancer://x/
</Directory>
<IfModule !mod_proxy.c>
  BalancerMember balancer://b http://never
</IfModule>
BalancerMember balancer://b http://h:80/a retry=500ms loadfactor=2.259 iobuffersize=65536
BalancerMember balancer://b http://H/b route=ignored
<Proxy *>
  Require all granted
</Proxy>
<LocationMatch ^/x>
</LocationMatch>
ProxyPassMatch ^/(.*)$ http://h/$1
ProxyPass ~ ^/y http://h/
Header set X-Foo bar
Header add Set-Cookie "OTHER=%{BALANCER_WORKER_ROUTE}e" env=!BALANCER_ROUTE_CHANGED
Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/"
Include conf.d/*.conf
BalancerInherit Off
ProxyPassInherit Off
<Proxy balancer://b>
  ProxySet lbmethod=fancy stickysession=` + strings.Repeat("s", 70) + `
</Proxy>
ProxyPass /e balancer://empty/
ProxyPass /n ! stickysession=x
BalancerMember balancer://b http://v/${UNDEFINED}
SetHandler balancer-manager
`
	f := mustParse(t, src)
	want := []struct {
		line      int
		directive string
		msg       string
	}{
		{2, "<Directory>", "section skipped"},
		{5, "<IfModule>", "every module is assumed loaded"},
		{8, "BalancerMember", "retry=500ms read as 500 s"},
		{8, "BalancerMember", "loadfactor=2.259 read as 2.25"},
		{8, "BalancerMember", "iobuffersize=65536 accepted but ignored"},
		{9, "BalancerMember", "shares the worker http://h:80/a of line 8"},
		{13, "<LocationMatch>", "section skipped"},
		{18, "Header", `condition "env=!BALANCER_ROUTE_CHANGED"`},
		{20, "Include", "not followed"},
		{21, "BalancerInherit", "one name space"},
		{22, "ProxyPassInherit", "ProxyRemote only"},
		{24, "ProxySet", "lbmethod=fancy is not one of Apache's"},
		{24, "ProxySet", "truncated"},
		{27, "ProxyPass", "parameters of an exclusion are ignored"},
		{28, "", "${UNDEFINED} is not defined"},
		{29, "SetHandler", "serves every URL"},
		// From the final checks, in balancer then cookie order.
		{19, "Header", `route cookie "ROUTEID" matches no balancer`},
		{26, "", "balancer://empty has no members"},
	}
	got := f.Warnings
	for _, w := range want {
		found := false
		for _, g := range got {
			if g.File == testFile && g.Line == w.line && g.Directive == w.directive && strings.Contains(g.Msg, w.msg) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("missing warning %d %s %q", w.line, w.directive, w.msg)
		}
	}
	if len(got) != len(want) {
		for _, g := range got {
			t.Log(g.String())
		}
		t.Errorf("got %d warnings, want %d", len(got), len(want))
	}
	// The shared member kept the first member's parameters.
	b := f.Balancer("balancer://B/whatever")
	if b == nil || len(b.Members) != 2 || b.Members[0].Route != "" || b.Members[1].URL != "http://v/${UNDEFINED}" {
		t.Errorf("balancer b = %+v", b)
	}
	if got, want := f.ManagerPaths, []string{"/"}; !cmp.Equal(got, want) {
		t.Errorf("ManagerPaths = %v, want %v", got, want)
	}
	if f.BalancerInherit != FlagOff || f.ProxyPassInherit != FlagOff {
		t.Errorf("inherit flags = %v %v, want Off Off", f.BalancerInherit, f.ProxyPassInherit)
	}
}

// TestRouteCookieRecipe checks the recognised forms of the ROUTEID recipe
// and how they attach to balancers.
func TestRouteCookieRecipe(t *testing.T) {
	tests := []struct {
		name string
		line string
		want RouteCookie // Pos is filled in
	}{
		{"documented", `Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/" env=BALANCER_ROUTE_CHANGED`,
			RouteCookie{Name: "ROUTEID", Prefix: ".", Value: "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/", Path: "/", OnlyWhenChanged: true}},
		{"always set, all attributes", `Header always set Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; Path=/app; Domain=example.com; Max-Age=3600; Secure; HttpOnly; SameSite=Lax; Priority=High"`,
			RouteCookie{Name: "ROUTEID", Prefix: ".", Value: "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; Path=/app; Domain=example.com; Max-Age=3600; Secure; HttpOnly; SameSite=Lax; Priority=High", Always: true, Path: "/app", Domain: "example.com", MaxAge: 3600, HasMaxAge: true, Secure: true, HTTPOnly: true, SameSite: http.SameSiteLaxMode, Extra: []string{"Priority=High"}}},
		{"suffix and expires", `Header onsuccess append set-cookie "ROUTEID=x-%{BALANCER_WORKER_ROUTE}e-y;expires=Wed, 21 Oct 2037 07:28:00 GMT;samesite=strict;max-age=zz" ENV=balancer_route_changed`,
			RouteCookie{Name: "ROUTEID", Prefix: "x-", Suffix: "-y", Value: "ROUTEID=x-%{BALANCER_WORKER_ROUTE}e-y;expires=Wed, 21 Oct 2037 07:28:00 GMT;samesite=strict;max-age=zz", OnlyWhenChanged: true, Expires: "Wed, 21 Oct 2037 07:28:00 GMT", SameSite: http.SameSiteStrictMode, Extra: []string{"max-age=zz"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustParse(t, tt.line+"\n<Proxy balancer://b>\nBalancerMember http://h\nProxySet stickysession=ROUTEID\n</Proxy>\n")
			want := tt.want
			want.Pos = at(1)
			if len(f.RouteCookies) != 1 {
				t.Fatalf("RouteCookies = %v, warnings %v", f.RouteCookies, f.Warnings)
			}
			if diff := cmp.Diff(want, f.RouteCookies[0]); diff != "" {
				t.Errorf("route cookie mismatch (-want +got):\n%s", diff)
			}
			if f.Balancers[0].RouteCookie != &f.RouteCookies[0] {
				t.Errorf("route cookie not attached to the balancer")
			}
		})
	}

	// Inside a <Proxy> section it belongs to that balancer whatever its
	// cookie name; elsewhere it goes by the sticky cookie name, and two
	// balancers sharing the name both get it.
	f := mustParse(t, `<Proxy balancer://a>
BalancerMember http://a
Header add Set-Cookie "SID=.%{BALANCER_WORKER_ROUTE}e"
</Proxy>
Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e"
BalancerMember balancer://b http://b
BalancerMember balancer://c http://c
ProxySet balancer://b stickysession=ROUTEID
ProxySet balancer://c stickysession=ROUTEID|routeid
`)
	a, b, c := f.Balancer("balancer://a"), f.Balancer("balancer://b"), f.Balancer("balancer://c")
	if a.RouteCookie == nil || a.RouteCookie.Name != "SID" || a.RouteCookie.Balancer != "balancer://a" {
		t.Errorf("a.RouteCookie = %+v", a.RouteCookie)
	}
	if b.RouteCookie == nil || b.RouteCookie != c.RouteCookie || b.RouteCookie.Name != "ROUTEID" {
		t.Errorf("b, c RouteCookie = %+v, %+v", b.RouteCookie, c.RouteCookie)
	}
}

func TestHCExprRedefinition(t *testing.T) {
	f := mustParse(t, `ProxyHCExpr ok {%{REQUEST_STATUS} == 200}
ProxyHCExpr other {true}
BalancerMember balancer://b http://h hcexpr=OK
ProxyHCExpr Ok {%{REQUEST_STATUS} == 204}
ProxyHCTemplate t hcmethod=GET
ProxyHCTemplate T hcmethod=HEAD
BalancerMember balancer://b http://i hctemplate=t
`)
	if len(f.HCExprs) != 2 || f.HCExprs[0].Name != "Ok" || f.HCExprs[0].Pos != at(4) {
		t.Fatalf("HCExprs = %+v", f.HCExprs)
	}
	e := f.HCExpr(f.Balancers[0].Members[0].HealthCheck.Expr)
	if e == nil || e.Expr.Eval(200, nil, nil) || !e.Expr.Eval(204, nil, nil) {
		t.Errorf("member's expression should be the redefinition, got %v", e)
	}
	if m := f.Balancers[0].Members[1]; m.HealthCheck.Method != HCGet || m.HealthCheck.Template != "t" {
		t.Errorf("hctemplate should use the first template named t: %+v", m.HealthCheck)
	}
	if f.HCExpr("missing") != nil {
		t.Error("HCExpr(missing) != nil")
	}
}

func TestBalancerLookup(t *testing.T) {
	f := mustParse(t, "BalancerMember balancer://Web http://h\n")
	for _, name := range []string{"balancer://web", "BALANCER://WEB/x", "balancer://Web"} {
		if f.Balancer(name) == nil {
			t.Errorf("Balancer(%q) = nil", name)
		}
	}
	for _, name := range []string{"balancer://other", "web", "balancer://"} {
		if f.Balancer(name) != nil {
			t.Errorf("Balancer(%q) != nil", name)
		}
	}
}

func TestStatusHelpers(t *testing.T) {
	s := Status{Set: StatusStopped, Clear: StatusHotStandby | StatusDisabled}
	if got := s.Apply(StatusInit | StatusHotStandby | StatusDisabled); got != StatusInit|StatusStopped {
		t.Errorf("Apply = %v, want OS", got)
	}
	if got := StatusFlags(0x0fff).String(); got != "OINGUDSEHFCR" {
		t.Errorf("String = %q", got)
	}
	if FlagUnset.Or(true) != true || FlagOff.Or(true) != false || FlagOn.Or(false) != true {
		t.Error("Flag.Or")
	}
	if FlagOn.String() != "On" || FlagOff.String() != "Off" || FlagUnset.String() != "unset" {
		t.Error("Flag.String")
	}
}

// TestProxyPassWorkerSharing: a second ProxyPass to the same scheme, host
// and port shares the first worker and its parameters are ignored (Apache
// AH01145/AH01146); ProxySet finds that worker.
func TestProxyPassWorkerSharing(t *testing.T) {
	f := mustParse(t, `ProxyPass /a http://h:8080/app1/ timeout=5
ProxyPass /b HTTP://H:8080/app2/ timeout=9
ProxySet http://h:8080/other retry=3
`)
	a, b := f.ProxyPass[0], f.ProxyPass[1]
	if a.Worker == nil || a.Worker != b.Worker {
		t.Fatalf("workers not shared: %+v %+v", a.Worker, b.Worker)
	}
	if a.Worker.Timeout != 5*time.Second || a.Worker.Retry != 3*time.Second || !a.Worker.RetrySet {
		t.Errorf("shared worker = %+v", a.Worker)
	}
	if b.Target != "HTTP://H:8080/app2/" || !cmp.Equal(b.Params, []Param{{"timeout", "9"}}) {
		t.Errorf("second mount = %+v", b)
	}
	if len(f.Warnings) != 1 || f.Warnings[0].Line != 2 || !strings.Contains(f.Warnings[0].Msg, "parameters are ignored") {
		t.Errorf("warnings = %v", f.Warnings)
	}
}

func TestLocationForms(t *testing.T) {
	f := mustParse(t, `<Location /static>
  ProxyPass !
</Location>
<Location "/app/">
  ProxyPass http://h:8080/app/ nocanon retry=0
  ProxyPassReverse http://h:8080/app/ interpolate
</Location>
`)
	want := []Mount{
		{Pos: at(2), Path: "/static", Target: "!", Exclude: true, InLocation: true},
		{Pos: at(5), Path: "/app/", Target: "http://h:8080/app/", InLocation: true, NoCanon: true,
			Params: []Param{{"retry", "0"}},
			Worker: &Member{Pos: at(5), URL: "http://h:8080/app/", Name: "http://h:8080/app/", RetrySet: true}},
	}
	if diff := cmp.Diff(want, f.ProxyPass); diff != "" {
		t.Errorf("mounts (-want +got):\n%s", diff)
	}
	wantRev := []ReverseMap{{Pos: at(6), Path: "/app/", URL: "http://h:8080/app/", Interpolate: true}}
	if diff := cmp.Diff(wantRev, f.Reverse); diff != "" {
		t.Errorf("reverse (-want +got):\n%s", diff)
	}
}

func TestMiscWarningsAndForms(t *testing.T) {
	f := mustParse(t, `<Location /status>
SetHandler server-status
</Location>
<Proxy balancer://b>
BalancerMember http://h
SetHandler balancer-manager
</Proxy>
Header add Set-Cookie "=.%{BALANCER_WORKER_ROUTE}e"
Header add Set-Cookie "ROUTEID=%{BALANCER_WORKER_ROUTE}e%{X}e"
Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; expires=%{T}e"
Header add Set-Cookie "path=/; ROUTEID=.%{BALANCER_WORKER_ROUTE}e"
Header edit Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e"
Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e" env=BALANCER_ROUTE_CHANGED env=BALANCER_ROUTE_CHANGED
<IfVersion !~ ^1\.>
BalancerMember balancer://v http://yes1
</IfVersion>
<IfVersion = /^2\.4/>
BalancerMember balancer://v http://yes2
</IfVersion>
<IfVersion > 2.4.80>
BalancerMember balancer://v http://no
</IfVersion>
<IfVersion <= 2>
BalancerMember balancer://v http://no2
</IfVersion>
<Else>
</Else>
`)
	want := []struct {
		line int
		msg  string
	}{
		{2, `handler "server-status" skipped`},
		{6, "balancer-manager inside <Proxy> skipped"},
		{8, "no cookie name"},
		{9, "format specifiers other than"},
		{10, "format specifiers in cookie attributes"},
		{11, "must be in the cookie value"},
		{12, "action edit"},
		{13, "condition"},
		{26, "section skipped"},
	}
	if len(f.Warnings) != len(want) {
		for _, w := range f.Warnings {
			t.Log(w.String())
		}
		t.Fatalf("got %d warnings, want %d", len(f.Warnings), len(want))
	}
	for i, w := range want {
		if g := f.Warnings[i]; g.Line != w.line || !strings.Contains(g.Msg, w.msg) {
			t.Errorf("warning %d = %s, want line %d containing %q", i, g, w.line, w.msg)
		}
	}
	if got := f.Warnings[0].String(); got != `test.conf:2: SetHandler: handler "server-status" skipped: outside the balancing subset` {
		t.Errorf("Warning.String = %q", got)
	}
	if at(3).String() != "test.conf:3" {
		t.Errorf("Pos.String = %q", at(3).String())
	}
	v := f.Balancer("balancer://v")
	if v == nil || len(v.Members) != 2 || v.Members[0].URL != "http://yes1" || v.Members[1].URL != "http://yes2" {
		t.Errorf("IfVersion members = %+v", v)
	}
	if len(f.ManagerPaths) != 0 || len(f.RouteCookies) != 0 {
		t.Errorf("ManagerPaths %v RouteCookies %v", f.ManagerPaths, f.RouteCookies)
	}
}
