package httpdconf

import (
	"net/http"
	"strings"
	"testing"
)

func TestExprEval(t *testing.T) {
	hdr := http.Header{"Content-Type": {"application/json; charset=utf-8"}, "X-State": {"ready", "second"}}
	body := []byte("status: OK\nUnder maintenance? no")
	tests := []struct {
		expr   string
		status int
		want   bool
	}{
		// The documented examples.
		{`%{REQUEST_STATUS} =~ /^[234]/`, 200, true},
		{`%{REQUEST_STATUS} =~ /^[234]/`, 302, true},
		{`%{REQUEST_STATUS} =~ /^[234]/`, 500, false},
		{`hc('body') !~ /Under maintenance/`, 200, false},
		{`hc("body") !~ /Down for repair/`, 200, true},
		// String comparisons, as ap_expr makes them.
		{`%{REQUEST_STATUS} == 200`, 200, true},
		{`%{REQUEST_STATUS} = 200`, 201, false},
		{`%{REQUEST_STATUS} != 200`, 201, true},
		{`%{REQUEST_STATUS} < 400`, 399, true},
		{`%{REQUEST_STATUS} < 400`, 400, false},
		{`%{REQUEST_STATUS} <= 400`, 400, true},
		{`%{REQUEST_STATUS} > '199'`, 200, true},
		{`%{REQUEST_STATUS} >= "200"`, 200, true},
		{`%{REQUEST_STATUS} < 50`, 200, true}, // "200" < "50" byte-wise, as in Apache
		// Integer comparisons.
		{`%{REQUEST_STATUS} -lt 50`, 200, false},
		{`%{REQUEST_STATUS} -eq 204`, 204, true},
		{`%{REQUEST_STATUS} -ne 204`, 204, false},
		{`%{REQUEST_STATUS} -le 204`, 204, true},
		{`%{REQUEST_STATUS} -gt 204`, 205, true},
		{`%{REQUEST_STATUS} -ge 300`, 204, false},
		{`%{REQUEST_STATUS} -lt 'abc'`, 200, false},    // evaluation error: fails
		{`!(%{REQUEST_STATUS} -lt 'abc')`, 200, false}, // an error fails even under !
		{`%{REQUEST_STATUS} -eq ' +200'`, 200, true},
		// Headers and the body.
		{`%{Content-Type} =~ m#^application/json#`, 200, true},
		{`%{resp:content-type} =~ /JSON/i`, 200, true},
		{`%{resp:content-type} =~ /JSON/`, 200, false},
		{`resp('X-State') == 'ready'`, 200, true},
		{`%{resp:Missing} == ''`, 200, true},
		{`%{HC_BODY} =~ /status: OK/`, 200, true},
		{`hc('body') =~ /a\/b/`, 200, false},
		// Logic.
		{`true`, 500, true},
		{`false || %{REQUEST_STATUS} == 200`, 200, true},
		{`%{REQUEST_STATUS} == 200 && hc('body') =~ /OK/`, 200, true},
		{`%{REQUEST_STATUS} == 200 && hc('body') =~ /NOPE/`, 200, false},
		{`!%{REQUEST_STATUS} == 500`, 200, true},
		{`!(%{REQUEST_STATUS} =~ /^5/ || hc('body') =~ /maintenance/)`, 200, false},
		{`true || false && false`, 200, true}, // && binds tighter
		{`(true || false) && false`, 200, false},
		{`! ! true`, 200, true},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			e, err := ParseExpr(tt.expr)
			if err != nil {
				t.Fatalf("ParseExpr: %v", err)
			}
			if got := e.Eval(tt.status, hdr, body); got != tt.want {
				t.Errorf("Eval(%d) = %v, want %v", tt.status, got, tt.want)
			}
			if e.String() != tt.expr {
				t.Errorf("String() = %q", e.String())
			}
		})
	}
}

func TestExprEvaluateError(t *testing.T) {
	e := mustExpr(t, `%{REQUEST_STATUS} -gt 'x'`)
	ok, err := e.Evaluate(200, nil, nil)
	if ok || err == nil || !strings.Contains(err.Error(), "not a number") {
		t.Errorf("Evaluate = %v, %v; want false and a not-a-number error", ok, err)
	}
	var nilExpr *Expr
	if nilExpr.Eval(200, nil, nil) || nilExpr.String() != "" {
		t.Error("nil Expr should be false and empty")
	}
}

func TestExprParseErrors(t *testing.T) {
	tests := []struct{ expr, msg string }{
		{``, "expected a condition"},
		{`%{REQUEST_STATUS}`, "expected a comparison operator"},
		{`%{REQUEST_STATUS} ==`, "expected an operand"},
		{`%{REQUEST_STATUS} =~ 'x'`, "expected /regex/"},
		{`%{REQUEST_STATUS} =~ /x`, "unterminated regular expression"},
		{`%{REQUEST_STATUS} =~ /(/`, "regular expression"},
		{`%{REMOTE_ADDR} == 'x'`, "not supported"},
		{`%{REQUEST_STATUS == 1`, "unterminated %{"},
		{`'abc`, "unterminated string"},
		{`'%{REQUEST_STATUS}' == '200'`, "variables inside strings"},
		{`hc('headers') =~ /x/`, "only hc('body')"},
		{`resp('') == 'x'`, "needs a header name"},
		{`md5('x') == 'y'`, "not supported"},
		{`hc 'body'`, "expected ("},
		{`hc(body) == 1`, "quoted argument"},
		{`hc('body' == 1`, "expected )"},
		{`%{REQUEST_STATUS} -in 'x'`, "-in is not supported"},
		{`%{REQUEST_STATUS} -in {'200'}`, "unexpected character"},
		{`%{HC_BODY} =~ /x/m`, "unexpected"}, // only the i flag exists
		{`-z hc('body')`, "expected an operand"},
		{`(true`, "expected )"},
		{`true)`, "unexpected"},
		{`true false`, "unexpected"},
		{`%{REQUEST_STATUS} == 200 &`, "unexpected character"},
		{`true && `, "expected a condition"},
		{strings.Repeat("!", 200) + "true", "nested too deeply"},
		{strings.Repeat("(", 200) + "true" + strings.Repeat(")", 200), "nested too deeply"},
	}
	for _, tt := range tests {
		_, err := ParseExpr(tt.expr)
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("ParseExpr(%q) error = %v, want containing %q", tt.expr, err, tt.msg)
		}
	}
}
