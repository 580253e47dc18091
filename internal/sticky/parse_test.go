package sticky_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/proxybalancer/balancer/internal/sticky"
)

func TestParseStickySession(t *testing.T) {
	long := strings.Repeat("x", 80)
	tests := []struct {
		name       string
		give       string
		wantCookie string
		wantParam  string
		wantErr    string // substring of the error; "" = no error
	}{
		{name: "empty: no stickiness", give: ""},
		{name: `§2.1 "stickysession=NAME": the same name is used for the cookie and for the URL parameter`,
			give: "JSESSIONID", wantCookie: "JSESSIONID", wantParam: "JSESSIONID"},
		{name: `§2.1 "stickysession=COOKIENAME|URLPARAMNAME"`,
			give: "JSESSIONID|jsessionid", wantCookie: "JSESSIONID", wantParam: "jsessionid"},
		{name: `§2.1 "A|B|C" gives cookie "A" and parameter "B|C"`,
			give: "A|B|C", wantCookie: "A", wantParam: "B|C"},
		{name: `§2.1 "stickysession=A|" (empty parameter name) is degenerate: rejected`,
			give: "A|", wantErr: `sticky: stickysession "A|": empty URL parameter name`},
		{name: "empty cookie name", give: "|B", wantErr: `sticky: stickysession "|B": empty cookie name`},
		{name: "both halves empty", give: "|", wantErr: `sticky: stickysession "|": empty cookie name`},
		{name: `§2.1 an 80-char name is accepted by Apache (silently truncated): rejected`,
			give: long, wantErr: `sticky: stickysession "` + long + `": cookie name "` + long + `" is 80 bytes long: at most 63`},
		{name: "63 bytes is the longest name", give: strings.Repeat("y", 63),
			wantCookie: strings.Repeat("y", 63), wantParam: strings.Repeat("y", 63)},
		{name: "long URL parameter name", give: "A|" + strings.Repeat("p", 64), wantErr: "URL parameter name"},
		{name: "'=' in a name", give: "a=b", wantErr: `sticky: stickysession "a=b": cookie name "a=b" contains '='`},
		{name: "';' in a name", give: "a;b", wantErr: `contains ';'`},
		{name: "',' in a name", give: "a,b", wantErr: `contains ','`},
		{name: "space in a name", give: "JSESSIONID ", wantErr: `contains ' '`},
		{name: "tab in a name", give: "a\tb", wantErr: `contains '\t'`},
		{name: "control byte in a name", give: "a\x7fb", wantErr: `contains '\x7f'`},
		{name: "'&' in the URL parameter name", give: "A|b&c", wantErr: `URL parameter name "b&c" contains '&'`},
		{name: "'?' in the URL parameter name", give: "A|b?c", wantErr: `URL parameter name "b?c" contains '?'`},
		{name: "'&' in a single name (also the URL parameter)", give: "b&c", wantErr: `URL parameter name "b&c" contains '&'`},
		{name: "'&' in the cookie half is allowed", give: "a&b|p", wantCookie: "a&b", wantParam: "p"},
		{name: "'-' is a name, not the manager's clear value", give: "-", wantCookie: "-", wantParam: "-"},
		{name: "non-ASCII bytes are allowed", give: "sessión", wantCookie: "sessión", wantParam: "sessión"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cookie, param, err := sticky.ParseStickySession(tt.give)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseStickySession(%q) error = %v, want one containing %q", tt.give, err, tt.wantErr)
				}
				if cookie != "" || param != "" {
					t.Errorf("ParseStickySession(%q) = (%q, %q) with an error, want empty names", tt.give, cookie, param)
				}
				return
			}
			if err != nil || cookie != tt.wantCookie || param != tt.wantParam {
				t.Errorf("ParseStickySession(%q) = (%q, %q, %v), want (%q, %q, nil)",
					tt.give, cookie, param, err, tt.wantCookie, tt.wantParam)
			}
		})
	}
}

func TestParseSeparator(t *testing.T) {
	tests := []struct {
		name    string
		give    string
		want    byte
		wantErr bool
	}{
		{name: "§2.5 default '.'", give: "", want: '.'},
		{name: "§2.5 stickysessionsep=<one char>", give: "-", want: '-'},
		{name: "'.' given explicitly", give: ".", want: '.'},
		{name: "'|'", give: "|", want: '|'},
		{name: "high byte", give: "\xff", want: 0xff},
		{name: "§2.5 disabled with stickysessionsep=Off", give: "Off", want: 0},
		{name: "Off is strcasecmp: off", give: "off", want: 0},
		{name: "Off is strcasecmp: OFF", give: "OFF", want: 0},
		{name: "Off is strcasecmp: oFf", give: "oFf", want: 0},
		{name: "'O' alone is a separator", give: "O", want: 'O'},
		{name: "§2.5 Any other length is a configuration error", give: "ab", wantErr: true},
		{name: "On is not a separator", give: "On", wantErr: true},
		{name: "Offf", give: "Offf", wantErr: true},
		{name: "multi-byte UTF-8", give: "·", wantErr: true},
		{name: "NUL would silently mean Off", give: "\x00", wantErr: true},
		{name: "Unicode folding is not strcasecmp", give: "Oﬀ", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sticky.ParseSeparator(tt.give)
			if tt.wantErr {
				want := "sticky: stickysessionsep " + strconv.Quote(tt.give) + ": " // names the field and the value
				if err == nil || !strings.HasPrefix(err.Error(), want) {
					t.Fatalf("ParseSeparator(%q) = (%q, %v), want an error naming the value", tt.give, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseSeparator(%q) = (%q, %v), want (%q, nil)", tt.give, got, err, tt.want)
			}
		})
	}
}

func TestNewExtractorErrors(t *testing.T) {
	tests := []struct {
		name    string
		cookie  string
		param   string
		pattern *regexp.Regexp
		wantErr string
	}{
		{name: "bad cookie name", cookie: "a b", param: "p", wantErr: `sticky: cookie name "a b" contains ' '`},
		{name: "bad param name", cookie: "c", param: "a&b", wantErr: `sticky: URL parameter name "a&b" contains '&'`},
		{name: "long cookie name", cookie: strings.Repeat("c", 64), wantErr: "is 64 bytes long: at most 63"},
		{name: "pattern without a group", cookie: "c", pattern: regexp.MustCompile(`\.r\d+`),
			wantErr: `sticky: route pattern "\\.r\\d+": needs a capturing group`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := sticky.NewExtractor(tt.cookie, tt.param, '.', false, tt.pattern)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || e != nil {
				t.Errorf("NewExtractor(%q, %q) = (%v, %v), want nil and an error containing %q",
					tt.cookie, tt.param, e, err, tt.wantErr)
			}
		})
	}
}

func TestNewExtractorOneSide(t *testing.T) {
	cookieOnly, err := sticky.NewExtractor("SID", "", '.', false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r, n, ok := cookieOnly.Find("/", "SID=a.r1", []string{"SID=a.r2"}); r != "r2" || n != "SID" || !ok {
		t.Errorf("cookie-only Find = (%q, %q, %v), want (\"r2\", \"SID\", true): the URL must not be consulted", r, n, ok)
	}
	urlOnly, err := sticky.NewExtractor("", "SID", '.', false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r, n, ok := urlOnly.Find("/", "", []string{"SID=a.r2"}); ok {
		t.Errorf("URL-only Find = (%q, %q, %v), want nothing: the cookie must not be consulted", r, n, ok)
	}
}
