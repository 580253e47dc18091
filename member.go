package balancer

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/proxybalancer/balancer/healthcheck"
	"github.com/proxybalancer/balancer/lbmethod"
	"github.com/proxybalancer/balancer/transport"
)

// DefaultRetry is how long a member stays in error state before it is
// tried again when Member.Retry is zero (Apache's retry=60).
const DefaultRetry = 60 * time.Second

// RetryNow as Member.Retry makes a member in error eligible again at the
// next selection (Apache's retry=0).
const RetryNow time.Duration = -1

// Member configures one backend member of a balancer, like one Apache
// BalancerMember line. Zero values mean Apache's defaults.
type Member struct {
	// URL is the member's base URL, http or https, with an optional path.
	// Request paths are appended to it as Apache does: plain concatenation,
	// so "http://h/app" serves "/x" as "/app/x" (and "http://h/app/" as
	// "/app//x"). Scheme and host are compared case-insensitively and a
	// default port is dropped: "HTTP://Host:80/a" is the member
	// "http://host/a". Required.
	URL string

	// LoadFactor is the member's weight, 1 to 100 with two decimals
	// (Apache's loadfactor; more decimals are truncated). Zero means 1.
	LoadFactor float64

	// LBSet is the member's tier, 0 to 99 (Apache's lbset): a higher set is
	// used only when no lower set has a usable member.
	LBSet int

	// Route is the member's sticky-session route (Apache's route=), at most
	// 63 bytes, compared case-sensitively. Empty means none.
	Route string

	// Redirect names the route to send this member's sticky sessions to
	// while the member is unusable (Apache's redirect=). Empty means none.
	Redirect string

	// Status sets initial flags in Apache's status= syntax, for example
	// "+H" (hot standby), "D" (disabled), "+R" (hot spare), "N" (draining)
	// or "I" (ignore errors). Letters are case-insensitive.
	Status string

	// Retry is how long the member stays in error state before it is tried
	// again (Apache's retry=). Zero means DefaultRetry; RetryNow (any
	// negative value) means at the next selection.
	Retry time.Duration

	// Connection tunes the member's connections: Apache's timeout,
	// connectiontimeout, disablereuse, keepalive, ttl, max, smax, acquire
	// and ping, and whether the member speaks HTTP/2 (h2c). The zero value
	// is a transport sized for a proxy. Ignored when Config.Transport is
	// set.
	Connection transport.Options

	// HealthCheck configures active health checks of the member (Apache's
	// hcmethod, hcuri, hcinterval, hcpasses, hcfails and, as a Go
	// predicate, hcexpr). The zero value checks nothing. Checks run only
	// while [Balancer.RunHealthChecks] runs.
	HealthCheck healthcheck.Check
}

// member is the runtime state of one member. One exists per member
// identity (its normalised URL) and survives configuration updates, so its
// counters, error state and transport are kept.
type member struct {
	name string   // normalised URL: BALANCER_WORKER_NAME and identity
	url  *url.URL // parsed URL; never modified
	// path and rawPath are the URL's path forms the request path is
	// appended to.
	path, rawPath string

	lb lbmethod.Member

	status    atomic.Uint32 // Status bits
	errorTime atomic.Int64  // when it entered error state, Unix ns; 0 = at start
	retries   atomic.Int64  // times it left error state

	cfg   atomic.Pointer[memberConfig]
	owner *Balancer

	since   atomic.Int64 // when the flags last changed, Unix ns; 0 = never
	latency atomic.Int64 // EWMA of the time to response headers, ns
	errors  atomic.Int64 // attempts that failed or ended in error state

	out outlierMember // passive outlier detection
}

// observeLatency folds one response time into the member's moving average
// (weight 1/8 for the new sample).
func (m *member) observeLatency(d time.Duration) {
	for {
		old := m.latency.Load()
		nv := int64(d)
		if old != 0 {
			nv = old + (int64(d)-old)/8
		}
		if m.latency.CompareAndSwap(old, nv) {
			return
		}
	}
}

// memberConfig is the validated, editable configuration of a member.
// A change replaces the whole value.
type memberConfig struct {
	route, redirect string
	lbset           int
	retry           time.Duration // <0 = at the next selection
	factor          int64         // ×100
	status          Status        // the flags Member.Status sets (from Init)
	conn            transport.Options
	hc              healthcheck.Check
	rt              http.RoundTripper // the member's transport for these options
	hook            *wrapped          // Config.WrapTransport around rt, or nil
	wrapGen         uint64            // the snapshot's wrapGen when hook was made
}

func (m *member) flags() Status { return Status(m.status.Load()) }

// enterError puts the member into error state at now, unless it ignores
// errors. It reports whether the member was put into error state.
func (m *member) enterError(now time.Time, why string) bool {
	if m.flags()&StatusIgnoreErrors != 0 {
		return false
	}
	m.errorTime.Store(now.UnixNano())
	m.errors.Add(1)
	m.changeAt(StatusError, 0, why, now)
	return true
}

// retryDue reports whether a member in error state may leave it at now
// (Apache's ap_proxy_retry_worker: never when stopped; at once when it
// ignores errors; else once its retry has passed).
func (m *member) retryDue(now time.Time) bool {
	st := m.flags()
	if st&StatusError == 0 || st&StatusStopped != 0 {
		return false
	}
	if st&StatusIgnoreErrors != 0 {
		return true
	}
	retry := m.cfg.Load().retry
	if retry < 0 {
		return true
	}
	return now.UnixNano() > m.errorTime.Load()+int64(retry)
}

// retryAt returns the clock reading (ns) after which m's retry is due, as
// retryDue judges it; ever is false when it never is (stopped). For a
// member whose retry is due at once (ignore-errors, a negative retry) it
// returns 0.
func (m *member) retryAt() (at int64, ever bool) {
	st := m.flags()
	if st&StatusStopped != 0 {
		return 0, false
	}
	retry := m.cfg.Load().retry
	if st&StatusIgnoreErrors != 0 || retry < 0 {
		return 0, true
	}
	return m.errorTime.Load() + int64(retry), true
}

// errorUntil returns when the member's error state ends, or the zero time
// when it is not in error state.
func (m *member) errorUntil() time.Time {
	if m.flags()&StatusError == 0 {
		return time.Time{}
	}
	r := m.cfg.Load().retry
	if r < 0 {
		r = 0
	}
	return time.Unix(0, m.errorTime.Load()+int64(r))
}

// normalizeURL validates a member URL and returns it in Apache's normalised
// form (scheme and host lower-cased, default port dropped, path kept).
func normalizeURL(raw string) (*url.URL, string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", fmt.Errorf("not a URL: %v", err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, "", fmt.Errorf("scheme %q: want http or https", u.Scheme)
	}
	if u.Host == "" {
		return nil, "", fmt.Errorf("no host")
	}
	if u.User != nil {
		return nil, "", fmt.Errorf("user information is not supported")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, "", fmt.Errorf("query or fragment is not allowed")
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return nil, "", fmt.Errorf("no host")
	}
	host = strings.ToLower(host)
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	if port != "" {
		u.Host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		u.Host = "[" + host + "]"
	} else {
		u.Host = host
	}
	return u, u.Scheme + "://" + u.Host + u.EscapedPath(), nil
}

// loadFactor converts a LoadFactor to Apache's ×100 integer.
func loadFactor(f float64) (int64, error) {
	if f == 0 {
		return 100, nil
	}
	if math.IsNaN(f) || f < 1 || f > 100 {
		return 0, fmt.Errorf("out of range 1..100")
	}
	// Truncate to two decimals; the small epsilon keeps 1.15 from becoming
	// 114 through binary floating point.
	return int64(math.Floor(f*100 + 1e-6)), nil
}

const maxRouteLen = 63 // Apache stores routes in 64-byte fields

// memberSettings validates the editable settings of m.
func memberSettings(m *Member) (*memberConfig, Status, error) {
	c := &memberConfig{route: m.Route, redirect: m.Redirect, lbset: m.LBSet}
	var err error
	if c.factor, err = loadFactor(m.LoadFactor); err != nil {
		return nil, 0, fmt.Errorf("loadfactor %v: %v", m.LoadFactor, err)
	}
	if m.LBSet < 0 || m.LBSet > 99 {
		return nil, 0, fmt.Errorf("lbset %d: out of range 0..99", m.LBSet)
	}
	if err := checkRoute(m.Route); err != nil {
		return nil, 0, fmt.Errorf("route %q: %v", m.Route, err)
	}
	if err := checkRoute(m.Redirect); err != nil {
		return nil, 0, fmt.Errorf("redirect %q: %v", m.Redirect, err)
	}
	switch {
	case m.Retry == 0:
		c.retry = DefaultRetry
	case m.Retry < 0:
		c.retry = -1
	default:
		c.retry = m.Retry
	}
	st, err := ParseStatus(m.Status, StatusInit)
	if err != nil {
		return nil, 0, fmt.Errorf("status: %v", err)
	}
	c.status = st
	if err := m.HealthCheck.Validate(); err != nil {
		return nil, 0, err
	}
	c.conn, c.hc = m.Connection, m.HealthCheck
	return c, st, nil
}

func checkRoute(r string) error {
	if len(r) > maxRouteLen {
		return fmt.Errorf("longer than %d bytes", maxRouteLen)
	}
	for i := 0; i < len(r); i++ {
		if r[i] < 0x20 || r[i] == 0x7f {
			return fmt.Errorf("control character at byte %d", i)
		}
	}
	return nil
}
