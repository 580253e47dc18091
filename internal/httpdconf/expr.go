package httpdconf

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// Expr is a parsed ProxyHCExpr condition: the subset of httpd's ap_expr
// that health checks use.
//
// Supported, with ap_expr's meaning:
//
//   - operands: %{REQUEST_STATUS} (the check's status code), hc('body') and
//     %{HC_BODY} (the response body), %{resp:Name}, resp('Name') and
//     %{Content-Type} (a response header, first value), 'string' and
//     "string" literals, and numbers;
//   - string comparisons = == != < <= > >= (byte-wise, as ap_expr compares
//     strings: "%{REQUEST_STATUS} < 400" is a string comparison, the same as
//     the numeric one for three-digit codes);
//   - integer comparisons -eq -ne -lt -le -gt -ge (an operand that is not
//     an integer is an evaluation error);
//   - regular expression matches =~ and !~ against /regex/ or m#regex#
//     with the optional flag i (Go's RE2 syntax: PCRE-only features such as
//     back-references are rejected when the configuration is parsed);
//   - true, false, !, &&, || and parentheses (! binds tightest, then &&,
//     then ||).
//
// Anything else (other variables, functions, string interpolation, -in,
// -ipmatch, ...) is a parse error. An Expr is immutable and safe for
// concurrent use.
type Expr struct {
	src  string
	root exprNode
}

// ParseExpr parses an expression in the subset described at [Expr].
func ParseExpr(src string) (*Expr, error) {
	p := &exprParser{src: src}
	if err := p.lex(); err != nil {
		return nil, err
	}
	n, err := p.parseOrDepth(0)
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("unexpected %q at offset %d", p.toks[p.pos].text, p.toks[p.pos].off)
	}
	return &Expr{src: src, root: n}, nil
}

// String returns the expression as written.
func (e *Expr) String() string {
	if e == nil {
		return ""
	}
	return e.src
}

// Eval reports whether the condition holds for a health-check response. An
// evaluation error (an integer comparison with a non-integer operand) makes
// it false, as Apache counts such a check as failed. A nil Expr is false.
func (e *Expr) Eval(status int, header http.Header, body []byte) bool {
	ok, err := e.Evaluate(status, header, body)
	return ok && err == nil
}

// Evaluate is [Expr.Eval] that also returns the evaluation error.
func (e *Expr) Evaluate(status int, header http.Header, body []byte) (bool, error) {
	if e == nil || e.root == nil {
		return false, errors.New("empty expression")
	}
	return e.root.eval(&exprEnv{status: strconv.Itoa(status), header: header, body: body})
}

type exprEnv struct {
	status string
	header http.Header
	body   []byte
}

type exprNode interface {
	eval(env *exprEnv) (bool, error)
}

type (
	constNode bool
	notNode   struct{ x exprNode }
	andNode   struct{ l, r exprNode }
	orNode    struct{ l, r exprNode }
	cmpNode   struct {
		op   string
		l, r operand
	}
	matchNode struct {
		l      operand
		re     *regexp.Regexp
		negate bool
	}
)

func (n constNode) eval(*exprEnv) (bool, error) { return bool(n), nil }

func (n notNode) eval(env *exprEnv) (bool, error) {
	v, err := n.x.eval(env)
	return !v, err
}

func (n andNode) eval(env *exprEnv) (bool, error) {
	v, err := n.l.eval(env)
	if err != nil || !v {
		return false, err
	}
	return n.r.eval(env)
}

func (n orNode) eval(env *exprEnv) (bool, error) {
	v, err := n.l.eval(env)
	if err != nil || v {
		return v, err
	}
	return n.r.eval(env)
}

func (n cmpNode) eval(env *exprEnv) (bool, error) {
	l, r := n.l.value(env), n.r.value(env)
	if n.op[0] == '-' {
		a, err := exprInt(l)
		if err != nil {
			return false, err
		}
		b, err := exprInt(r)
		if err != nil {
			return false, err
		}
		switch n.op {
		case "-eq":
			return a == b, nil
		case "-ne":
			return a != b, nil
		case "-lt":
			return a < b, nil
		case "-le":
			return a <= b, nil
		case "-gt":
			return a > b, nil
		default: // -ge
			return a >= b, nil
		}
	}
	switch n.op {
	case "=", "==":
		return l == r, nil
	case "!=":
		return l != r, nil
	case "<":
		return l < r, nil
	case "<=":
		return l <= r, nil
	case ">":
		return l > r, nil
	default: // >=
		return l >= r, nil
	}
}

func (n matchNode) eval(env *exprEnv) (bool, error) {
	var m bool
	if n.l.kind == opBody {
		m = n.re.Match(env.body)
	} else {
		m = n.re.MatchString(n.l.value(env))
	}
	return m != n.negate, nil
}

// exprInt reads an integer as ap_expr does (strtoi64, base 10, leading
// whitespace allowed, nothing may follow).
func exprInt(s string) (int64, error) {
	t := skipSpace(s)
	t = strings.TrimPrefix(t, "+")
	if t == "" || t[0] == '+' {
		return 0, fmt.Errorf("not a number: %q", s)
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("not a number: %q", s)
	}
	return v, nil
}

type operandKind uint8

const (
	opLiteral operandKind = iota
	opStatus
	opBody
	opHeader
)

type operand struct {
	kind operandKind
	text string // literal value or header name
}

func (o operand) value(env *exprEnv) string {
	switch o.kind {
	case opStatus:
		return env.status
	case opBody:
		return string(env.body)
	case opHeader:
		return env.header.Get(o.text)
	}
	return o.text
}

// Lexer and parser.

type tokKind uint8

const (
	tkOp     tokKind = iota // operator or punctuation
	tkVar                   // %{NAME}
	tkString                // quoted literal
	tkNumber                // digits
	tkIdent                 // true, false, function names
	tkRegex                 // /re/flags
)

type token struct {
	kind tokKind
	text string // op, var name, literal, ident, or regex source
	flag string // regex flags
	off  int
}

type exprParser struct {
	src  string
	toks []token
	pos  int
}

func (p *exprParser) lex() error {
	s := p.src
	i := 0
	for i < len(s) {
		c := s[i]
		if isSpace(c) {
			i++
			continue
		}
		start := i
		prevMatch := len(p.toks) > 0 && p.toks[len(p.toks)-1].kind == tkOp &&
			(p.toks[len(p.toks)-1].text == "=~" || p.toks[len(p.toks)-1].text == "!~")
		switch {
		case prevMatch && (c == '/' || (c == 'm' && i+1 < len(s) && isRegexDelim(s[i+1]))):
			delim := byte('/')
			if c == 'm' {
				delim = s[i+1]
				i++
			}
			i++
			var re []byte
			closed := false
			for i < len(s) {
				if s[i] == '\\' && i+1 < len(s) && s[i+1] == delim {
					re = append(re, delim)
					i += 2
					continue
				}
				if s[i] == delim {
					closed = true
					i++
					break
				}
				re = append(re, s[i])
				i++
			}
			if !closed {
				return fmt.Errorf("unterminated regular expression at offset %d", start)
			}
			fl := i
			for i < len(s) && s[i] == 'i' {
				i++
			}
			p.toks = append(p.toks, token{kind: tkRegex, text: string(re), flag: s[fl:i], off: start})
		case c == '%' && i+1 < len(s) && s[i+1] == '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return fmt.Errorf("unterminated %%{ at offset %d", start)
			}
			p.toks = append(p.toks, token{kind: tkVar, text: s[i+2 : i+2+end], off: start})
			i += end + 3
		case c == '\'' || c == '"':
			i++
			var b []byte
			closed := false
			for i < len(s) {
				if s[i] == '\\' && i+1 < len(s) {
					b = append(b, s[i+1])
					i += 2
					continue
				}
				if s[i] == c {
					closed = true
					i++
					break
				}
				b = append(b, s[i])
				i++
			}
			if !closed {
				return fmt.Errorf("unterminated string at offset %d", start)
			}
			lit := string(b)
			if strings.Contains(lit, "%{") {
				return fmt.Errorf("variables inside strings are not supported (offset %d)", start)
			}
			p.toks = append(p.toks, token{kind: tkString, text: lit, off: start})
		case isDigit(c):
			for i < len(s) && isDigit(s[i]) {
				i++
			}
			p.toks = append(p.toks, token{kind: tkNumber, text: s[start:i], off: start})
		case isIdentStart(c):
			for i < len(s) && (isIdentStart(s[i]) || isDigit(s[i])) {
				i++
			}
			p.toks = append(p.toks, token{kind: tkIdent, text: s[start:i], off: start})
		case c == '-' && i+1 < len(s) && isIdentStart(s[i+1]):
			i++
			for i < len(s) && isIdentStart(s[i]) {
				i++
			}
			p.toks = append(p.toks, token{kind: tkOp, text: s[start:i], off: start})
		default:
			op := ""
			for _, o := range []string{"==", "=~", "!=", "!~", "<=", ">=", "&&", "||", "=", "<", ">", "!", "(", ")", ","} {
				if strings.HasPrefix(s[i:], o) {
					op = o
					break
				}
			}
			if op == "" {
				return fmt.Errorf("unexpected character %q at offset %d", c, start)
			}
			i += len(op)
			p.toks = append(p.toks, token{kind: tkOp, text: op, off: start})
		}
	}
	return nil
}

func isIdentStart(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isRegexDelim(c byte) bool {
	return c > ' ' && c < 0x7f && !isIdentStart(c) && !isDigit(c) && c != '\\'
}

func (p *exprParser) peek() (token, bool) {
	if p.pos < len(p.toks) {
		return p.toks[p.pos], true
	}
	return token{}, false
}

func (p *exprParser) isOp(text string) bool {
	t, ok := p.peek()
	return ok && t.kind == tkOp && t.text == text
}

func (p *exprParser) errAt(what string) error {
	if t, ok := p.peek(); ok {
		return fmt.Errorf("%s, found %q at offset %d", what, tokenText(t), t.off)
	}
	return fmt.Errorf("%s at end of expression", what)
}

func tokenText(t token) string {
	switch t.kind {
	case tkVar:
		return "%{" + t.text + "}"
	case tkRegex:
		return "/" + t.text + "/" + t.flag
	}
	return t.text
}

// maxExprDepth bounds nesting of ! and parentheses.
const maxExprDepth = 100

func (p *exprParser) parseUnary(depth int) (exprNode, error) {
	if depth > maxExprDepth {
		return nil, errors.New("expression nested too deeply")
	}
	t, ok := p.peek()
	if !ok {
		return nil, p.errAt("expected a condition")
	}
	switch {
	case t.kind == tkOp && t.text == "!":
		p.pos++
		x, err := p.parseUnary(depth + 1)
		if err != nil {
			return nil, err
		}
		return notNode{x}, nil
	case t.kind == tkOp && t.text == "(":
		p.pos++
		x, err := p.parseOrDepth(depth + 1)
		if err != nil {
			return nil, err
		}
		if !p.isOp(")") {
			return nil, p.errAt("expected )")
		}
		p.pos++
		return x, nil
	case t.kind == tkIdent && (t.text == "true" || t.text == "false"):
		if n, ok := p.peekAt(1); !ok || n.kind != tkOp || n.text != "(" {
			p.pos++
			return constNode(t.text == "true"), nil
		}
	}
	return p.parseComparison()
}

// parseOrDepth parses "a || b || ...", where depth counts the enclosing
// parentheses and negations so that hostile nesting is bounded.
func (p *exprParser) parseOrDepth(depth int) (exprNode, error) {
	l, err := p.parseAndDepth(depth)
	if err != nil {
		return nil, err
	}
	for p.isOp("||") {
		p.pos++
		r, err := p.parseAndDepth(depth)
		if err != nil {
			return nil, err
		}
		l = orNode{l, r}
	}
	return l, nil
}

func (p *exprParser) parseAndDepth(depth int) (exprNode, error) {
	l, err := p.parseUnary(depth)
	if err != nil {
		return nil, err
	}
	for p.isOp("&&") {
		p.pos++
		r, err := p.parseUnary(depth)
		if err != nil {
			return nil, err
		}
		l = andNode{l, r}
	}
	return l, nil
}

func (p *exprParser) peekAt(k int) (token, bool) {
	if p.pos+k < len(p.toks) {
		return p.toks[p.pos+k], true
	}
	return token{}, false
}

var exprCmpOps = map[string]bool{
	"=": true, "==": true, "!=": true, "<": true, "<=": true, ">": true, ">=": true,
	"-eq": true, "-ne": true, "-lt": true, "-le": true, "-gt": true, "-ge": true,
}

func (p *exprParser) parseComparison() (exprNode, error) {
	l, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	t, ok := p.peek()
	if !ok || t.kind != tkOp {
		return nil, p.errAt("expected a comparison operator")
	}
	switch {
	case t.text == "=~" || t.text == "!~":
		p.pos++
		rt, ok := p.peek()
		if !ok || rt.kind != tkRegex {
			return nil, p.errAt("expected /regex/ after " + t.text)
		}
		p.pos++
		src := rt.text
		if rt.flag != "" {
			src = "(?i)" + src
		}
		re, err := regexp.Compile(src)
		if err != nil {
			return nil, fmt.Errorf("regular expression /%s/: %v", rt.text, err)
		}
		return matchNode{l: l, re: re, negate: t.text == "!~"}, nil
	case exprCmpOps[t.text]:
		p.pos++
		r, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		return cmpNode{op: t.text, l: l, r: r}, nil
	case t.text[0] == '-':
		return nil, fmt.Errorf("operator %s is not supported", t.text)
	}
	return nil, p.errAt("expected a comparison operator")
}

func (p *exprParser) parseOperand() (operand, error) {
	t, ok := p.peek()
	if !ok {
		return operand{}, p.errAt("expected an operand")
	}
	switch t.kind {
	case tkString, tkNumber:
		p.pos++
		return operand{kind: opLiteral, text: t.text}, nil
	case tkVar:
		p.pos++
		name := t.text
		switch {
		case strings.EqualFold(name, "REQUEST_STATUS"):
			return operand{kind: opStatus}, nil
		case strings.EqualFold(name, "HC_BODY"):
			return operand{kind: opBody}, nil
		case strings.EqualFold(name, "Content-Type"):
			return operand{kind: opHeader, text: "Content-Type"}, nil
		case len(name) > 5 && strings.EqualFold(name[:5], "resp:"):
			return operand{kind: opHeader, text: name[5:]}, nil
		}
		return operand{}, fmt.Errorf("variable %%{%s} is not supported", name)
	case tkIdent:
		fn := strings.ToLower(t.text)
		if fn != "hc" && fn != "resp" {
			return operand{}, fmt.Errorf("function or word %q is not supported", t.text)
		}
		p.pos++
		if !p.isOp("(") {
			return operand{}, p.errAt("expected ( after " + t.text)
		}
		p.pos++
		arg, ok := p.peek()
		if !ok || arg.kind != tkString {
			return operand{}, p.errAt("expected a quoted argument to " + t.text)
		}
		p.pos++
		if !p.isOp(")") {
			return operand{}, p.errAt("expected )")
		}
		p.pos++
		if fn == "resp" {
			if arg.text == "" {
				return operand{}, errors.New("resp() needs a header name")
			}
			return operand{kind: opHeader, text: arg.text}, nil
		}
		if arg.text != "body" {
			return operand{}, fmt.Errorf("hc(%q) is not supported (only hc('body'))", arg.text)
		}
		return operand{kind: opBody}, nil
	}
	return operand{}, p.errAt("expected an operand")
}
