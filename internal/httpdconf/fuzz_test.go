package httpdconf

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that no input makes the parser panic, that every error is
// an *Error with a line number, and that whatever parses can be used
// (expressions evaluate, warnings carry lines).
func FuzzParse(f *testing.F) {
	seeds := []string{
		"<Proxy balancer://b>\nBalancerMember http://h route=r1 loadfactor=2.5 status=+H-D\nProxySet stickysession=A|B\n</Proxy>\nProxyPass / balancer://b/\n",
		"ProxyHCExpr ok {%{REQUEST_STATUS} =~ /^[234]/ && hc('body') !~ /maint/i}\nProxyHCTemplate t hcmethod=GET hcexpr=ok\nBalancerMember balancer://x http://a hctemplate=t\n",
		"Header add Set-Cookie \"ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/\" env=BALANCER_ROUTE_CHANGED\n",
		"<IfModule !x>\n<VirtualHost *>\n</VirtualHost>\n</IfModule>\n<Location /m>\nSetHandler balancer-manager\nProxyPass !\n</Location>\n",
		"Define A b\nBalancerMember balancer://${A} http://h \\\n  retry=5ms connectiontimeout=1mi acquire=3\n",
		"<IfVersion >= 2.4>\nProxyPassReverse / balancer://b/\n</IfVersion>\n# \\\n\"quoted \\\" word\n",
		"ProxyPass /a http://h/ nocanon timeout=5 ttl=1 max=2\nProxySet http://h/ smax=1\n",
		"<Proxy balancer://b lbmethod=bytraffic\n",
		"</Proxy>",
		"Include x\n",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	if b, err := os.ReadFile(filepath.Join("testdata", "httpd-balancer.conf")); err == nil {
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, src string) {
		file, err := Parse("fuzz.conf", strings.NewReader(src))
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is %T, not *Error", err, err)
			}
			if e.Line < 1 || e.File != "fuzz.conf" {
				t.Fatalf("error without a position: %#v", e)
			}
			_ = e.Error()
			return
		}
		for _, w := range file.Warnings {
			if w.Line < 1 {
				t.Fatalf("warning without a line: %#v", w)
			}
		}
		for _, e := range file.HCExprs {
			e.Expr.Eval(200, http.Header{"Content-Type": {"text/plain"}}, []byte("ok"))
			e.Expr.Eval(503, nil, nil)
		}
		for _, b := range file.Balancers {
			if file.Balancer(b.Name) != b {
				t.Fatalf("Balancer(%q) does not find itself", b.Name)
			}
			for _, m := range b.Members {
				if m.LoadFactor != 0 && (m.LoadFactor < 100 || m.LoadFactor > 10000) {
					t.Fatalf("loadfactor %d out of range", m.LoadFactor)
				}
			}
		}
	})
}
