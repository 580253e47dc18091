package httpdconf

import (
	"math"
	"strconv"
	"time"
)

// atoi is C's atoi as glibc implements it on a 64-bit system: leading
// whitespace is skipped, an optional sign and the longest run of digits are
// read (nothing else), the value is clamped to the long range by strtol and
// then truncated to a 32-bit int. exact reports whether the whole string was
// a plain in-range number, so callers can warn about "500ms" read as 500.
func atoi(s string) (v int, exact bool) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var n uint64
	overflow := false
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		if n > (math.MaxUint64-9)/10 {
			overflow = true
		} else {
			n = n*10 + uint64(s[i]-'0')
		}
		i++
	}
	digits := i > start
	var l int64
	switch {
	case !neg && (overflow || n > math.MaxInt64):
		l, overflow = math.MaxInt64, true
	case neg && (overflow || n > 1<<63):
		l, overflow = math.MinInt64, true
	case neg:
		l = -int64(n)
	default:
		l = int64(n)
	}
	v32 := int32(l) // glibc: (int) strtol(...)
	exact = digits && i == len(s) && !overflow && int64(v32) == l && start == skipSignStart(s)
	return int(v32), exact
}

// skipSignStart returns where the digits of a plain number would start
// (no leading whitespace allowed for an exact read).
func skipSignStart(s string) int {
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		return 1
	}
	return 0
}

// atof is C's atof (strtod) for decimal input: leading whitespace is
// skipped and the longest prefix that is a decimal floating-point number,
// "inf", "infinity" or "nan" is converted; no number gives 0. Hexadecimal
// floats, which glibc also accepts, are not supported (they read as 0).
// exact reports whether the whole string was used.
func atof(s string) (v float64, exact bool) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	start := i
	j := i
	if j < len(s) && (s[j] == '+' || s[j] == '-') {
		j++
	}
	if k := matchFold(s[j:], "infinity"); k > 0 {
		j += k
	} else if k := matchFold(s[j:], "inf"); k > 0 {
		j += k
	} else if k := matchFold(s[j:], "nan"); k > 0 {
		j += k
	} else {
		mant := 0
		for j < len(s) && isDigit(s[j]) {
			j++
			mant++
		}
		if j < len(s) && s[j] == '.' {
			k := j + 1
			frac := 0
			for k < len(s) && isDigit(s[k]) {
				k++
				frac++
			}
			if mant > 0 || frac > 0 {
				j = k
				mant += frac
			}
		}
		if mant == 0 {
			return 0, false
		}
		if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
			k := j + 1
			if k < len(s) && (s[k] == '+' || s[k] == '-') {
				k++
			}
			ds := k
			for k < len(s) && isDigit(s[k]) {
				k++
			}
			if k > ds {
				j = k
			}
		}
	}
	f, err := strconv.ParseFloat(s[start:j], 64)
	if err != nil {
		// Out of range: ParseFloat still returns ±Inf or ±0, like strtod.
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			return 0, false
		}
	}
	return f, start == 0 && j == len(s)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// matchFold returns len(word) if s starts with word (ASCII
// case-insensitive), else 0.
func matchFold(s, word string) int {
	if len(s) < len(word) {
		return 0
	}
	for i := 0; i < len(word); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != word[i] {
			return 0
		}
	}
	return len(word)
}

// parseTimeout is httpd's ap_timeout_parameter_parse: an integer
// (strtoll, base 10: leading whitespace and a sign allowed) followed by an
// optional unit; without one, defUnit ("s" or "ms") applies. Only the
// leading characters of the unit are examined, as in httpd: "s..." is
// seconds, "h..." hours, "ms..." milliseconds, "mi..." minutes; anything
// else is an error. The result may be zero or negative; callers check the
// minimum. Values beyond time.Duration's range are an error (httpd would
// overflow silently).
func parseTimeout(s, defUnit string) (time.Duration, bool) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	j := i
	if j < len(s) && (s[j] == '+' || s[j] == '-') {
		j++
	}
	ds := j
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	var n int64
	if j > ds {
		var err error
		n, err = strconv.ParseInt(s[i:j], 10, 64)
		if err != nil {
			return 0, false // ERANGE
		}
	} else {
		// strtoll converted nothing: the value is 0 and the unit is the
		// whole string (httpd then usually rejects it).
		j = 0
	}
	unit := s[j:]
	if unit == "" {
		unit = defUnit
	}
	var mult time.Duration
	switch unit[0] {
	case 's':
		mult = time.Second
	case 'h':
		mult = time.Hour
	case 'm':
		if len(unit) < 2 {
			return 0, false
		}
		switch unit[1] {
		case 's':
			mult = time.Millisecond
		case 'i':
			mult = time.Minute
		default:
			return 0, false
		}
	default:
		return 0, false
	}
	if n > int64(math.MaxInt64/mult) || n < int64(math.MinInt64/mult) {
		return 0, false
	}
	return time.Duration(n) * mult, true
}
