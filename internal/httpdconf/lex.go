package httpdconf

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
)

// maxLogicalLine bounds one logical line (after continuations). httpd's own
// limit is far larger than any real directive; the bound keeps hostile input
// from using unbounded memory.
const maxLogicalLine = 1 << 20

// errLineTooLong is reported with the line where the long line started.
var errLineTooLong = errors.New("line too long")

// lexer reads logical lines as httpd's ap_cfg_getline does: a line ending in
// a backslash continues on the next line (the backslash is removed, nothing
// else is inserted), leading and trailing whitespace is dropped, and empty
// lines and lines starting with '#' are skipped. As in httpd, continuation is
// resolved before comments are recognised, so a comment ending in a
// backslash swallows the next line. A UTF-8 byte-order mark at the start is
// skipped.
type lexer struct {
	r    *bufio.Reader
	line int // physical lines read so far
	eof  bool
}

func newLexer(r io.Reader) *lexer { return &lexer{r: bufio.NewReader(r)} }

// next returns the next logical line and the number of its first physical
// line. At the end it returns io.EOF.
func (l *lexer) next() (int, string, error) {
	for {
		if l.eof {
			return 0, "", io.EOF
		}
		start := l.line + 1
		var buf []byte
		for {
			phys, err := l.readPhysical()
			if err != nil {
				if errors.Is(err, errLineTooLong) {
					return start, "", err
				}
				if !errors.Is(err, io.EOF) {
					return start, "", err
				}
				l.eof = true
				if len(phys) == 0 {
					break
				}
			}
			if l.line == 0 {
				// httpd ignores a UTF-8 byte-order mark at the start of a
				// configuration file.
				phys = bytes.TrimPrefix(phys, []byte("\xef\xbb\xbf"))
			}
			l.line++
			phys = trimEOL(phys)
			if n := len(phys); n > 0 && phys[n-1] == '\\' {
				buf = append(buf, phys[:n-1]...)
				if len(buf) > maxLogicalLine {
					return start, "", errLineTooLong
				}
				if l.eof {
					break
				}
				continue
			}
			buf = append(buf, phys...)
			if len(buf) > maxLogicalLine {
				return start, "", errLineTooLong
			}
			break
		}
		s := trimSpace(string(buf))
		if s == "" || s[0] == '#' {
			continue
		}
		return start, s, nil
	}
}

// readPhysical reads one physical line including its '\n', or what is left
// at the end of input (with io.EOF).
func (l *lexer) readPhysical() ([]byte, error) {
	var out []byte
	for {
		chunk, err := l.r.ReadSlice('\n')
		out = append(out, chunk...)
		if len(out) > maxLogicalLine {
			return nil, errLineTooLong
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return out, err
	}
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

// isSpace is C's isspace in the "C" locale, which httpd uses.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func trimSpace(s string) string {
	i, j := 0, len(s)
	for i < j && isSpace(s[i]) {
		i++
	}
	for j > i && isSpace(s[j-1]) {
		j--
	}
	return s[i:j]
}

func skipSpace(s string) string {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return s[i:]
}

// unescape is httpd's substring_conf: a backslash before another backslash,
// or before the quote character of a quoted word, is dropped. Every other
// backslash is kept.
func unescape(s string, quote byte) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '\\' || (quote != 0 && s[i+1] == quote)) {
			i++
		}
		b = append(b, s[i])
	}
	return string(b)
}

// getWord is httpd's ap_getword_conf: it returns the next word of s and the
// rest. A word is either quoted with " or ' (up to the matching unescaped
// quote, or the end of the line if unterminated) or runs up to whitespace.
func getWord(s string) (word, rest string) {
	s = skipSpace(s)
	if s == "" {
		return "", ""
	}
	var end int
	if q := s[0]; q == '"' || q == '\'' {
		end = 1
		for end < len(s) && s[end] != q {
			if s[end] == '\\' && end+1 < len(s) && (s[end+1] == q || s[end+1] == '\\') {
				end += 2
			} else {
				end++
			}
		}
		if end > len(s) {
			end = len(s)
		}
		word = unescape(s[1:end], q)
		if end < len(s) {
			end++ // the closing quote
		}
	} else {
		for end < len(s) && !isSpace(s[end]) {
			end++
		}
		word = unescape(s[:end], 0)
	}
	return word, skipSpace(s[end:])
}

// getWord2 is httpd's ap_getword_conf2: like getWord, but a word may also be
// enclosed in braces, which nest ("{%{REQUEST_STATUS} =~ /^2/}").
func getWord2(s string) (word, rest string) {
	s = skipSpace(s)
	if s == "" || s[0] != '{' {
		return getWord(s)
	}
	depth := 1
	end := 1
	for end < len(s) {
		c := s[end]
		if c == '}' {
			depth--
			if depth == 0 {
				break
			}
		}
		if c == '{' {
			depth++
		}
		if c == '\\' && end+1 < len(s) && s[end+1] == '\\' {
			end++
		}
		end++
	}
	if end > len(s) {
		end = len(s)
	}
	word = unescape(s[1:end], 0)
	if end < len(s) {
		end++
	}
	return word, skipSpace(s[end:])
}

// words splits all of s with getWord.
func words(s string) []string {
	var out []string
	for {
		s = skipSpace(s)
		if s == "" {
			return out
		}
		var w string
		w, s = getWord(s)
		out = append(out, w)
	}
}
