package httpdconf

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

func TestGetWord(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`a b  c`, []string{"a", "b", "c"}},
		{"  a\tb\vc\f", []string{"a", "b", "c"}},
		{`"a b" 'c d'`, []string{"a b", "c d"}},
		{`"a \"b\" c"`, []string{`a "b" c`}},
		{`'it\'s'`, []string{"it's"}},
		{`"back\\slash" un\\quoted un\quoted`, []string{`back\slash`, `un\quoted`, `un\quoted`}},
		{`"a\'b"`, []string{`a\'b`}}, // only the matching quote is escaped
		{`"unterminated word`, []string{"unterminated word"}},
		{`"a"b`, []string{"a", "b"}}, // a word ends at its closing quote
		{`key="quoted value"`, []string{`key="quoted`, `value"`}},
		{`"" x`, []string{"", "x"}},
		{`"trailing\`, []string{`trailing\`}},
	}
	for _, tt := range tests {
		if got := words(tt.in); !cmp.Equal(got, tt.want) {
			t.Errorf("words(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestGetWord2(t *testing.T) {
	tests := []struct {
		in, word, rest string
	}{
		{`{%{REQUEST_STATUS} =~ /^[234]/} tail`, `%{REQUEST_STATUS} =~ /^[234]/`, "tail"},
		{`{a {b} c}`, `a {b} c`, ""},
		{`{unclosed {x}`, `unclosed {x}`, ""},
		{`{a\\b}`, `a\b`, ""},
		{`"quoted {x}" y`, `quoted {x}`, "y"},
		{`plain rest`, "plain", "rest"},
		{`  `, "", ""},
	}
	for _, tt := range tests {
		w, r := getWord2(tt.in)
		if w != tt.word || r != tt.rest {
			t.Errorf("getWord2(%q) = %q, %q; want %q, %q", tt.in, w, r, tt.word, tt.rest)
		}
	}
}

type lexLine struct {
	Line int
	Text string
}

func lexAll(t *testing.T, r io.Reader) []lexLine {
	t.Helper()
	lx := newLexer(r)
	var out []lexLine
	for {
		n, s, err := lx.next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("next: %v", err)
		}
		out = append(out, lexLine{n, s})
	}
}

func TestLexer(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []lexLine
	}{
		{"plain", "a\nb\n", []lexLine{{1, "a"}, {2, "b"}}},
		{"no final newline", "a\nb", []lexLine{{1, "a"}, {2, "b"}}},
		{"blank and comments", "\n  # c\n\t\na # not a comment\n#x\n", []lexLine{{4, "a # not a comment"}}},
		{"continuation", "a \\\n  b\\\nc\nd\n", []lexLine{{1, "a   bc"}, {4, "d"}}},
		{"crlf", "a\r\nb \\\r\nc\r\n", []lexLine{{1, "a"}, {2, "b c"}}},
		{"continued comment swallows a line", "# comment \\\nProxyPass / !\nx\n", []lexLine{{3, "x"}}},
		{"continuation at eof", "a \\", []lexLine{{1, "a"}}},
		{"trailing space breaks continuation", "a \\ \nb\n", []lexLine{{1, `a \`}, {2, "b"}}},
		{"whitespace trimmed", " \t a b \t \n", []lexLine{{1, "a b"}}},
		{"byte-order mark", "\xef\xbb\xbfa\n\xef\xbb\xbfb\n", []lexLine{{1, "a"}, {2, "\xef\xbb\xbfb"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lexAll(t, strings.NewReader(tt.in))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("lines mismatch (-want +got):\n%s", diff)
			}
			// Byte-at-a-time reads must give the same lines.
			if got := lexAll(t, iotest.OneByteReader(strings.NewReader(tt.in))); !cmp.Equal(tt.want, got) {
				t.Errorf("one-byte reader: %v", got)
			}
		})
	}
}

func TestLexerLongLine(t *testing.T) {
	in := "a\n" + strings.Repeat("x", maxLogicalLine+10) + "\n"
	_, err := Parse("big.conf", strings.NewReader(in))
	var e *Error
	if !errors.As(err, &e) || e.Line != 2 || !strings.Contains(e.Msg, "line longer than") {
		t.Fatalf("err = %v, want line-too-long at line 2", err)
	}
	// Continuations count towards the limit too.
	in = strings.Repeat(strings.Repeat("y", 1<<16)+"\\\n", 20)
	_, err = Parse("big.conf", strings.NewReader(in))
	if !errors.As(err, &e) || e.Line != 1 {
		t.Fatalf("err = %v, want line-too-long at line 1", err)
	}
}

func TestReadError(t *testing.T) {
	r := io.MultiReader(strings.NewReader("ProxyTimeout 5\n"), iotest.ErrReader(errors.New("disk on fire")))
	_, err := Parse("r.conf", r)
	var e *Error
	if !errors.As(err, &e) || e.Line < 1 || !strings.Contains(e.Msg, "disk on fire") || e.Err == nil {
		t.Fatalf("err = %#v, want a read error with a line", err)
	}
}

func TestExpandVars(t *testing.T) {
	f := mustParse(t, `Define H h.example
Define P 8080
BalancerMember balancer://b http://${H}:${P}/${NOPE}/${H
`)
	if got, want := f.Balancers[0].Members[0].URL, "http://h.example:8080/${NOPE}/${H"; got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
	// A variable cannot be used to blow up memory.
	src := "Define X " + strings.Repeat("x", 1<<16) + "\nProxyTimeout " + strings.Repeat("${X}", 20) + "\n"
	_, err := Parse(testFile, strings.NewReader(src))
	var e *Error
	if !errors.As(err, &e) || e.Line != 2 {
		t.Fatalf("err = %v, want expansion error at line 2", err)
	}
}
