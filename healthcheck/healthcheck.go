// Package healthcheck runs active health checks against balancer members with
// the semantics of Apache httpd's mod_proxy_hcheck.
//
// A [Checker] looks at the balancer's members (seen through [Target]) every
// 100 ms, as Apache's watchdog does, and checks each member whose interval
// has passed, using the member's [Check] settings (Apache's hcmethod, hcuri,
// hcinterval, hcpasses, hcfails and hcexpr). The outcome of each check goes
// to [Target.Report]; the balancer sets the member's C (health-check failed)
// flag when a result makes the member unhealthy, and clears C and E (error)
// when a result makes it healthy again.
//
// # Scheduling
//
// A member is checked when it is not stopped (Apache's S flag), its method is
// not [MethodNone], and one interval has passed since its last check ended or,
// before its first check, since the Checker first saw it. So the first check
// comes one interval after [Checker.Run] starts, as in Apache. Disabled (D)
// members are checked; a member whose Check does not validate is not (see
// [TargetState].Invalid). A member whose check is still running is not checked
// again (no pile-up). At most [Checker.Limit] checks run at once (Apache's
// ProxyHCTPsize); when the limit is reached the remaining due members wait
// for a free slot, most overdue first.
//
// # Methods
//
// [MethodTCP] only connects. The HTTP methods send exactly
//
//	<METHOD> <path> HTTP/1.0\r\nHost: <host>:<port>\r\n\r\n
//
// (HTTP/1.1 for the ...11 variants; OPTIONS sends "OPTIONS *"), read the
// response, and close the connection. A check passes when the status is
// 200–399, or when [Check.Expect] returns true.
//
// # Differences from Apache
//
//   - Passes and fails are counted consecutively: a failure resets the count
//     of passes and a pass resets the count of failures. Apache counts them
//     cumulatively since the last transition, so with hcfails=3 the results
//     500, 200, 500, 200, 500 disable a member in Apache and leave it healthy
//     here.
//   - The check path is the member's path and hcuri joined with exactly one
//     slash: "/app" + "/health" is "/app/health" (Apache sends "/app//health"),
//     "" + "health" is "/health" (Apache sends "health"), and no hcuri gives the
//     member's path or "/" (Apache sends an empty request target).
//   - The expression language (hcexpr) is replaced by a Go predicate,
//     [Check.Expect], that sees the status, the headers and the body.
//   - AJP's CPING method is not supported.
package healthcheck

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Defaults and limits of a [Check] and a [Checker].
const (
	// DefaultInterval is the interval used when Check.Interval is zero
	// (Apache's hcinterval default).
	DefaultInterval = 30 * time.Second
	// MinInterval is the smallest interval Check.Validate accepts (Apache's
	// hcinterval minimum and watchdog tick).
	MinInterval = 100 * time.Millisecond
	// DefaultTimeout is the time a check may take when Check.Timeout is zero
	// (Apache's default worker timeout, which mod_proxy_hcheck honours).
	DefaultTimeout = 60 * time.Second
	// DefaultLimit is the number of checks run at once when Checker.Limit is
	// zero (Apache's ProxyHCTPsize default).
	DefaultLimit = 16
	// MaxBody is the number of body bytes a GET check reads and hands to
	// Check.Expect; the rest of the body is not read.
	MaxBody = 64 << 10
)

// Method is a health-check method (Apache's hcmethod). The zero value is
// [MethodNone].
type Method uint8

// The methods, named in their String form as Apache names them.
const (
	MethodNone      Method = iota // NONE: no checks
	MethodTCP                     // TCP: connect only
	MethodOptions                 // OPTIONS: "OPTIONS * HTTP/1.0"
	MethodHead                    // HEAD: "HEAD <path> HTTP/1.0"
	MethodGet                     // GET: "GET <path> HTTP/1.0", body read
	MethodOptions11               // OPTIONS11: "OPTIONS * HTTP/1.1"
	MethodHead11                  // HEAD11: "HEAD <path> HTTP/1.1"
	MethodGet11                   // GET11: "GET <path> HTTP/1.1", body read
	numMethods
)

var methodNames = [numMethods]string{"NONE", "TCP", "OPTIONS", "HEAD", "GET", "OPTIONS11", "HEAD11", "GET11"}

// String returns Apache's name of the method ("GET11"), or "Method(n)" for a
// value that is not a method.
func (m Method) String() string {
	if m < numMethods {
		return methodNames[m]
	}
	return fmt.Sprintf("Method(%d)", uint8(m))
}

// ParseMethod returns the method with the given Apache name, ignoring case
// ("get11" is [MethodGet11]). "NONE" is [MethodNone]. Any other name, including
// the empty string and AJP's CPING, is an error.
func ParseMethod(s string) (Method, error) {
	for m, name := range methodNames {
		if strings.EqualFold(s, name) {
			return Method(m), nil
		}
	}
	return MethodNone, fmt.Errorf("healthcheck: method %q: unknown (want one of %s)", s, strings.Join(methodNames[:], ", "))
}

// httpVerb returns the request method and protocol of an HTTP check, or ok
// false for NONE and TCP.
func (m Method) httpVerb() (verb, proto string, ok bool) {
	switch m {
	case MethodOptions:
		return "OPTIONS", "HTTP/1.0", true
	case MethodHead:
		return "HEAD", "HTTP/1.0", true
	case MethodGet:
		return "GET", "HTTP/1.0", true
	case MethodOptions11:
		return "OPTIONS", "HTTP/1.1", true
	case MethodHead11:
		return "HEAD", "HTTP/1.1", true
	case MethodGet11:
		return "GET", "HTTP/1.1", true
	}
	return "", "", false
}

// Check holds one member's health-check settings. The zero value means no
// checks (Method is MethodNone); every other zero field means Apache's
// default. A Check is a value: the Checker reads it from [Target.Check] each
// time it decides whether to check, so settings may change at runtime.
type Check struct {
	// Method is the check method (hcmethod). MethodNone disables checks.
	Method Method
	// URI is the path (and query) checked, relative to the member URL's path
	// (hcuri). The two are joined with exactly one slash; an empty URI checks
	// the member's path itself, or "/". It is sent as given, so it must
	// already be escaped. Not used by TCP and OPTIONS.
	URI string
	// Interval is the time between the end of one check and the start of the
	// next (hcinterval). Zero means DefaultInterval; otherwise it must be at
	// least MinInterval.
	Interval time.Duration
	// Passes is the number of consecutive passing checks that make an
	// unhealthy member healthy (hcpasses). Zero means 1.
	Passes int
	// Fails is the number of consecutive failing checks that make a healthy
	// member unhealthy (hcfails). Zero means 1.
	Fails int
	// Expect decides whether an HTTP check's response passes (hcexpr). Nil
	// means a status of 200–399 passes. It is called from the check's
	// goroutine, possibly concurrently for different members, and must not
	// keep the Response. TCP checks do not call it.
	Expect func(*Response) bool
	// Timeout bounds a whole check: connecting, sending, and reading the
	// response. Zero means DefaultTimeout.
	Timeout time.Duration
}

// Response is the response to an HTTP check, as [Check.Expect] sees it.
type Response struct {
	// StatusCode is the response status (200).
	StatusCode int
	// Header holds the response headers, canonicalised as net/http does.
	Header http.Header
	// Body holds the first MaxBody bytes of the body for GET and GET11
	// checks, and is nil for the others.
	Body []byte
}

// Validate reports whether the settings are usable, naming the first bad field
// and its value. The zero Check is valid.
func (c Check) Validate() error {
	switch {
	case c.Method >= numMethods:
		return fmt.Errorf("healthcheck: method %d: unknown", uint8(c.Method))
	case c.Interval < 0 || c.Interval > 0 && c.Interval < MinInterval:
		return fmt.Errorf("healthcheck: interval %v: must be >= %v, or 0 for the default (%v)", c.Interval, MinInterval, DefaultInterval)
	case c.Passes < 0:
		return fmt.Errorf("healthcheck: passes %d: must be >= 1, or 0 for the default (1)", c.Passes)
	case c.Fails < 0:
		return fmt.Errorf("healthcheck: fails %d: must be >= 1, or 0 for the default (1)", c.Fails)
	case c.Timeout < 0:
		return fmt.Errorf("healthcheck: timeout %v: must be > 0, or 0 for the default (%v)", c.Timeout, DefaultTimeout)
	}
	for i := 0; i < len(c.URI); i++ {
		if b := c.URI[i]; b <= ' ' || b == 0x7f {
			return fmt.Errorf("healthcheck: uri %q: byte %#02x at %d is not allowed in a request target", c.URI, b, i)
		}
	}
	return nil
}

func (c Check) interval() time.Duration { return orDefault(c.Interval, DefaultInterval) }
func (c Check) timeout() time.Duration  { return orDefault(c.Timeout, DefaultTimeout) }
func (c Check) passes() int             { return max(c.Passes, 1) }
func (c Check) fails() int              { return max(c.Fails, 1) }

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// joinPath joins a member URL path and an hcuri with exactly one slash
// between them, and makes the result start with a slash. An empty uri leaves
// the member path alone ("/" if empty).
func joinPath(base, uri string) string {
	if uri == "" {
		if base == "" {
			return "/"
		}
		if base[0] != '/' {
			return "/" + base
		}
		return base
	}
	base = strings.TrimRight(base, "/")
	uri = strings.TrimLeft(uri, "/")
	if base != "" && base[0] != '/' {
		base = "/" + base
	}
	return base + "/" + uri
}
