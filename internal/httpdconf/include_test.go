package httpdconf

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseFSIncludes(t *testing.T) {
	fsys := fstest.MapFS{
		"etc/httpd/httpd.conf": {Data: []byte(`ServerRoot /etc/httpd
Include conf.d/*.conf
IncludeOptional sites/*.conf
IncludeOptional missing.conf
<Proxy balancer://main>
  Include /etc/httpd/members
</Proxy>
`)},
		"etc/httpd/conf.d/10-hc.conf":    {Data: []byte("ProxyHCExpr ok {%{REQUEST_STATUS} -lt 400}\n")},
		"etc/httpd/conf.d/20-pass.conf":  {Data: []byte("ProxyPass / balancer://main/\n")},
		"etc/httpd/conf.d/readme.txt":    {Data: []byte("not a config\n")},
		"etc/httpd/members/b.conf":       {Data: []byte("BalancerMember http://b hcexpr=ok\n")},
		"etc/httpd/members/a.conf":       {Data: []byte("BalancerMember http://a\n")},
		"etc/httpd/members/sub/c.member": {Data: []byte("\n\nBalancerMember http://c\n")},
	}
	f, err := ParseFS(fsys, "etc/httpd/httpd.conf")
	if err != nil {
		t.Fatal(err)
	}
	want := &File{
		ServerRoot: "/etc/httpd",
		HCExprs:    []*HCExpr{{Pos: Pos{"etc/httpd/conf.d/10-hc.conf", 1}, Name: "ok", Expr: mustExpr(t, "%{REQUEST_STATUS} -lt 400")}},
		ProxyPass:  []Mount{{Pos: Pos{"etc/httpd/conf.d/20-pass.conf", 1}, Path: "/", Target: "balancer://main/", Balancer: "balancer://main", BalancerPath: "/"}},
		Balancers: []*Balancer{{
			Pos: Pos{"etc/httpd/conf.d/20-pass.conf", 1}, Name: "balancer://main",
			Members: []*Member{
				{Pos: Pos{"etc/httpd/members/a.conf", 1}, URL: "http://a", Name: "http://a"},
				{Pos: Pos{"etc/httpd/members/b.conf", 1}, URL: "http://b", Name: "http://b", HealthCheck: HealthCheck{Expr: "ok"}},
				{Pos: Pos{"etc/httpd/members/sub/c.member", 3}, URL: "http://c", Name: "http://c"},
			},
		}},
	}
	if diff := cmp.Diff(want, f, cmpFile); diff != "" {
		t.Errorf("ParseFS mismatch (-want +got):\n%s", diff)
	}
}

func TestParseFSIncludeErrors(t *testing.T) {
	tests := []struct {
		name string
		fsys fstest.MapFS
		file string
		line int
		msg  string
	}{
		{"missing file", fstest.MapFS{"m.conf": {Data: []byte("\nInclude nope.conf\n")}}, "m.conf", 2, "cannot open"},
		{"no wildcard match", fstest.MapFS{"m.conf": {Data: []byte("Include conf.d/*.conf\n")}}, "m.conf", 1, "no matches"},
		{"bad pattern", fstest.MapFS{"m.conf": {Data: []byte("Include [\n")}}, "m.conf", 1, "bad pattern"},
		{"self include", fstest.MapFS{"m.conf": {Data: []byte("Include m.conf\n")}}, "m.conf", 1, "nested more than"},
		{"error inside include", fstest.MapFS{
			"m.conf": {Data: []byte("Include x.conf\n")},
			"x.conf": {Data: []byte("\n\nProxyTimeout 0\n")},
		}, "x.conf", 3, "at least 1 second"},
		{"section must close in its file", fstest.MapFS{
			"m.conf": {Data: []byte("<IfModule x>\nInclude x.conf\n</IfModule>\n")},
			"x.conf": {Data: []byte("</IfModule>\n")},
		}, "x.conf", 1, "without matching"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFS(tt.fsys, "m.conf")
			var e *Error
			if !errors.As(err, &e) || e.File != tt.file || e.Line != tt.line || !strings.Contains(e.Msg, tt.msg) {
				t.Fatalf("err = %v, want %s:%d ... %q", err, tt.file, tt.line, tt.msg)
			}
		})
	}
	_, err := ParseFS(fstest.MapFS{}, "absent.conf")
	var e *Error
	if !errors.As(err, &e) || e.Line != 0 || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want a not-exist *Error", err)
	}
}

// TestParseFileSample parses the sample configuration shipped in testdata,
// the one the examples use.
func TestParseFileSample(t *testing.T) {
	path := filepath.Join("testdata", "httpd-balancer.conf")
	f, err := ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(path)
	if f.Balancers[0].Pos.File != abs {
		t.Errorf("positions name %q, want %q", f.Balancers[0].Pos.File, abs)
	}
	tc, php := f.Balancer("balancer://tomcat"), f.Balancer("balancer://php")
	if tc == nil || php == nil {
		t.Fatalf("balancers = %v", f.Balancers)
	}
	if got := len(tc.Members); got != 3 {
		t.Fatalf("tomcat members = %d", got)
	}
	m := tc.Members[0]
	if m.URL != "http://10.0.0.11:8080/app" || m.LoadFactor != 200 || m.ConnectionTimeout != 500*time.Millisecond ||
		m.Retry != 30*time.Second || m.HealthCheck.Template != "tomcat" || m.HealthCheck.Method != HCGet {
		t.Errorf("first tomcat member = %+v", m)
	}
	if tc.Members[2].Status.Set != StatusHotStandby {
		t.Errorf("third tomcat member status = %+v", tc.Members[2].Status)
	}
	if tc.StickyCookie != "JSESSIONID" || tc.StickyParam != "jsessionid" || tc.ScolonPathDelim != FlagOn ||
		tc.LBMethod != "bybusyness" || !cmp.Equal(tc.FailOnStatus, []int{502, 503}) || !tc.NonceSet {
		t.Errorf("tomcat balancer = %+v", tc)
	}
	if php.RouteCookie == nil || php.RouteCookie.Name != "ROUTEID" || !php.RouteCookie.OnlyWhenChanged || php.Growth != 4 {
		t.Errorf("php balancer = %+v", php)
	}
	if php.Members[2].LBSet != 1 {
		t.Errorf("php tier-2 member = %+v", php.Members[2])
	}
	if !cmp.Equal(f.ManagerPaths, []string{"/balancer-manager"}) || f.ProxyTimeout != 30*time.Second {
		t.Errorf("ManagerPaths %v ProxyTimeout %v", f.ManagerPaths, f.ProxyTimeout)
	}
	e := f.HCExpr(tc.Members[0].HealthCheck.Expr)
	if e == nil || !e.Expr.Eval(302, nil, nil) || e.Expr.Eval(503, nil, nil) {
		t.Errorf("ok234 = %v", e)
	}
	for _, w := range f.Warnings {
		if !strings.Contains(w.Msg, "outside the balancing subset") {
			t.Errorf("unexpected warning %s", w)
		}
	}
}

func TestParseFileMissing(t *testing.T) {
	_, err := ParseFile(filepath.Join(t.TempDir(), "none.conf"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want not exist", err)
	}
}

func TestParseFileIncludeRelative(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("main.conf", "Include parts/*.conf\nInclude "+filepath.Join(dir, "abs.conf")+"\n")
	write("parts/a.conf", "BalancerMember balancer://x http://a\n")
	write("abs.conf", "BalancerMember balancer://x http://b\n")
	f, err := ParseFile(filepath.Join(dir, "main.conf"))
	if err != nil {
		t.Fatal(err)
	}
	b := f.Balancer("balancer://x")
	if b == nil || len(b.Members) != 2 || b.Members[0].Pos.File != filepath.Join(dir, "parts", "a.conf") || b.Members[1].Pos.File != filepath.Join(dir, "abs.conf") {
		t.Fatalf("balancer = %+v", b)
	}
}

func TestParseFSRelativeServerRoot(t *testing.T) {
	fsys := fstest.MapFS{
		"conf/httpd.conf":          {Data: []byte("ServerRoot ..\nInclude conf/extra/proxy.conf\nIncludeOptional none/*.conf\n")},
		"conf/extra/proxy.conf":    {Data: []byte("BalancerMember balancer://r http://a\n")},
		"conf/extra/proxy.conf.bk": {Data: []byte("junk\n")},
	}
	f, err := ParseFS(fsys, "conf/httpd.conf")
	if err != nil {
		t.Fatal(err)
	}
	if b := f.Balancer("balancer://r"); b == nil || b.Members[0].Pos != (Pos{"conf/extra/proxy.conf", 1}) {
		t.Fatalf("balancers = %+v", f.Balancers)
	}
}
