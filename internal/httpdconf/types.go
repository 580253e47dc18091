package httpdconf

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Pos is where something was written: a file name and a 1-based line
// number (the first physical line of a continued line).
type Pos struct {
	File string
	Line int
}

// String returns "file:line".
func (p Pos) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// Errorf returns an *Error at p for the given directive, so a caller that
// validates parsed values later (for example an unknown lbmethod) can report
// the configuration line.
func (p Pos) Errorf(directive, format string, args ...any) *Error {
	return &Error{File: p.File, Line: p.Line, Directive: directive, Msg: fmt.Sprintf(format, args...)}
}

// Error is a configuration error. Parsing stops at the first one, as httpd's
// does. Line is at least 1 for every error found in configuration text; it is
// 0 only when a file could not be opened or read at all (Err then holds the
// cause).
type Error struct {
	File      string
	Line      int
	Directive string // canonical directive name, "<Proxy>" for a section; may be empty
	Msg       string
	Err       error // underlying I/O error, if any
}

// Error formats the error as "file:line: Directive: msg", leaving out the
// parts that are empty.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Directive != "" {
		b.WriteString(e.Directive)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the underlying I/O error, if any.
func (e *Error) Unwrap() error { return e.Err }

// Warning reports a directive, section or parameter that was accepted but
// is not represented (outside the balancing subset, or ignored by design).
type Warning struct {
	File      string
	Line      int
	Directive string
	Msg       string
}

// String formats the warning like an [Error].
func (w Warning) String() string {
	return (&Error{File: w.File, Line: w.Line, Directive: w.Directive, Msg: w.Msg}).Error()
}

// Flag is an On/Off parameter that may be absent. The zero value is
// [FlagUnset]; the field's documentation says what Apache does then.
type Flag int8

// Flag values.
const (
	FlagUnset Flag = iota
	FlagOn
	FlagOff
)

// Or returns true for FlagOn, false for FlagOff and def for FlagUnset.
func (f Flag) Or(def bool) bool {
	switch f {
	case FlagOn:
		return true
	case FlagOff:
		return false
	}
	return def
}

// String returns "On", "Off" or "unset".
func (f Flag) String() string {
	switch f {
	case FlagOn:
		return "On"
	case FlagOff:
		return "Off"
	}
	return "unset"
}

// Param is one key=value parameter as written.
type Param struct {
	Key   string
	Value string
}

// File is a parsed configuration. Everything is listed in configuration
// order. A File is plain data: safe to read from several goroutines, not to
// modify concurrently.
type File struct {
	// Balancers in the order they were first named (by a <Proxy> section, a
	// BalancerMember, or a ProxyPass target).
	Balancers []*Balancer
	// ProxyPass mappings, including exclusions ("ProxyPass /p !") and
	// non-balancer targets.
	ProxyPass []Mount
	// ProxyPassReverse mappings.
	Reverse []ReverseMap
	// ProxyPassReverseCookieDomain and ProxyPassReverseCookiePath rules.
	ReverseCookieDomain []CookieMap
	ReverseCookiePath   []CookieMap
	// ProxyHCExpr definitions. A later definition with the same name
	// (case-insensitive) replaces the earlier one in place, as in Apache,
	// where members look the expression up by name when they are checked.
	HCExprs []*HCExpr
	// ProxyHCTemplate definitions; hctemplate= uses the first one with the
	// name (case-insensitive), as Apache does.
	HCTemplates []*HCTemplate
	// RouteCookies are the recognised ROUTEID recipes (Header ... Set-Cookie
	// "NAME=.%{BALANCER_WORKER_ROUTE}e..."). Each is also attached to the
	// balancers it belongs to (Balancer.RouteCookie).
	RouteCookies []RouteCookie
	// ManagerPaths are the <Location> paths with "SetHandler
	// balancer-manager", in order.
	ManagerPaths []string
	// Sections are the <Location> and <Proxy> sections with access rules
	// or a balancer-manager handler, in configuration order (the order
	// httpd merges them in).
	Sections []*Section
	// Headers are the Header and RequestHeader edits with static values
	// (other than the route-cookie recipe), in configuration order.
	Headers []HeaderEdit
	// VirtualHosts are the <VirtualHost> sections in order; VHost fields
	// index them from 1.
	VirtualHosts []*VirtualHost
	// ServerName is the main server's ServerName as written ("" if none).
	ServerName string
	// FileAccess lists the <Directory> and <Files> sections holding
	// access rules: they apply to what httpd serves from files (the
	// balancer-manager's URL too), never to proxied requests.
	FileAccess []Pos

	// Persist is BalancerPersist (Apache default Off). Apache then lets
	// runtime state saved by the manager override this configuration after
	// a restart.
	Persist    Flag
	PersistPos Pos
	// BalancerGrowth is BalancerGrowth (0..1000; Apache default 5 when
	// BalancerGrowthSet is false).
	BalancerGrowth    int
	BalancerGrowthSet bool
	// BalancerInherit and ProxyPassInherit are recorded only; virtual host
	// scoping is flattened (see the package documentation).
	BalancerInherit  Flag
	ProxyPassInherit Flag
	// ProxyTimeout is the server-wide fallback for member timeouts (whole
	// seconds, as Apache reads it); zero means not set (Apache then uses
	// Timeout, default 60 s).
	ProxyTimeout time.Duration
	// PreserveHost is ProxyPreserveHost (Apache default Off).
	PreserveHost Flag
	// LimitRequestLine, LimitRequestFieldSize and LimitRequestFields as
	// written; nil when not set (Apache's defaults: 8190, 8190, 100).
	LimitRequestLine, LimitRequestFieldSize, LimitRequestFields *int
	// ServerRoot as written, if given; Include paths are relative to it.
	ServerRoot string

	// Warnings lists what was skipped or ignored, in order.
	Warnings []Warning
}

// Balancer finds a balancer by name ("balancer://name", case-insensitive,
// any path ignored). It returns nil if there is none.
func (f *File) Balancer(name string) *Balancer {
	n, ok := balancerName(name)
	if !ok {
		return nil
	}
	for _, b := range f.Balancers {
		if b.Name == n {
			return b
		}
	}
	return nil
}

// HCExpr returns the ProxyHCExpr with the given name (case-insensitive), or
// nil.
func (f *File) HCExpr(name string) *HCExpr {
	for _, e := range f.HCExprs {
		if strings.EqualFold(e.Name, name) {
			return e
		}
	}
	return nil
}

// Balancer is one balancer://name with its parameters (Apache's
// set_balancer_param) and members. Fields left at their zero value were not
// configured; each says what Apache does then.
type Balancer struct {
	// Pos is where the balancer was first named.
	Pos Pos
	// Name is "balancer://name", lower-cased, without any path.
	Name string

	// LBMethod is the lbmethod= value as written ("" = byrequests).
	// Apache's provider names are byrequests, bytraffic, bybusyness and
	// heartbeat (matched case-sensitively); other names draw a warning and
	// are left for the caller to resolve, reporting errors at LBMethodPos.
	LBMethod    string
	LBMethodPos Pos
	// MaxAttempts is maxattempts=; MaxAttemptsSet says whether it was
	// given (Apache then uses members-1, or 0 for one member, and the
	// manager's b_max only works when it was set).
	MaxAttempts    int
	MaxAttemptsSet bool
	// NoFailover is nofailover= (default Off).
	NoFailover Flag
	// StickySession is the stickysession= value, truncated to 63 bytes as
	// Apache stores it; StickyCookie and StickyParam are the cookie and URL
	// parameter names: the value split at its first "|", or the same name
	// twice. All empty means no stickiness. A value with an empty cookie
	// name ("|param") is recorded as written.
	StickySession string
	StickyCookie  string
	StickyParam   string
	// RouteRegex is Helicon Ape's routeregex= (not an httpd parameter):
	// a regular expression whose first group, matched in the session
	// value, is the route. "" = not set.
	RouteRegex    string
	RouteRegexPos Pos
	// StickySep is stickysessionsep=: the separator byte, or 0 for Off.
	// When StickySepSet is false Apache uses '.'.
	StickySep    byte
	StickySepSet bool
	// ScolonPathDelim is scolonpathdelim= (default Off).
	ScolonPathDelim Flag
	// Timeout is the balancer timeout= (whole seconds, as Apache reads it):
	// how long to wait for a usable member. Zero means no wait.
	Timeout time.Duration
	// FailOnStatus is failonstatus= (nil when not given; a later
	// failonstatus replaces an earlier one).
	FailOnStatus []int
	// FailOnTimeout is failontimeout= (default Off).
	FailOnTimeout Flag
	// Growth is growth= (1..100; 0 = not set).
	Growth int
	// ForceRecovery is forcerecovery= (default On).
	ForceRecovery Flag
	// Nonce is nonce=; NonceSet says whether it was given. nonce=None sets
	// NonceSet with an empty Nonce (Apache then makes the manager
	// read-only). Unset means a random nonce.
	Nonce    string
	NonceSet bool
	// RouteCookie is the ROUTEID recipe whose cookie name equals
	// StickyCookie (or that was written inside this balancer's <Proxy>
	// section); nil if none.
	RouteCookie *RouteCookie

	// Members in configuration order.
	Members []*Member
}

// Member is one BalancerMember (or the worker of a non-balancer ProxyPass)
// with its parameters (Apache's set_worker_param). Fields left at their zero
// value were not configured; each says what Apache does then.
type Member struct {
	Pos Pos
	// URL as written.
	URL string
	// Name is the normalised URL (Apache's worker name, BALANCER_WORKER_NAME):
	// scheme and host lower-cased, the scheme's default port removed, the
	// rest as written.
	Name string

	// LoadFactor is loadfactor ×100 as Apache stores it: the decimal value
	// times 100 in floating point, truncated (2.259 gives 225; 1.15 gives
	// 114, Apache's own rounding). 0 means not set (Apache: 100).
	LoadFactor int
	// Route and Redirect are route= and redirect= (at most 63 bytes).
	Route    string
	Redirect string
	// Retry is retry= in whole seconds (C atoi, so "500ms" is 500 s);
	// RetrySet says whether it was given (Apache default 60 s; 0 is valid).
	Retry    time.Duration
	RetrySet bool
	// Timeout is timeout= in whole seconds (atoi, at least 1); 0 = not set
	// (ProxyTimeout, then Timeout).
	Timeout time.Duration
	// ConnectionTimeout (default unit s), Acquire (default unit ms) and Ping
	// (default unit s) accept the suffixes ms, s, mi and hr; 0 = not set.
	ConnectionTimeout time.Duration
	Acquire           time.Duration
	Ping              time.Duration
	// DisableReuse is disablereuse= (enablereuse=On is recorded as
	// DisableReuse Off). Default Off.
	DisableReuse Flag
	// KeepAlive is keepalive= (SO_KEEPALIVE on backend sockets). Default Off.
	KeepAlive Flag
	// TTL is ttl= in whole seconds; 0 = not set.
	TTL time.Duration
	// Max, Smax and Min are the connection pool sizes; the *Set fields say
	// whether each was given (0 is a valid value).
	Max, Smax, Min          int
	MaxSet, SmaxSet, MinSet bool
	// LBSet is lbset= (0..99).
	LBSet int
	// Status is the status= value (initial flags).
	Status Status
	// HealthCheck holds the hc* parameters.
	HealthCheck HealthCheck
	// Ignored lists parameters Apache accepts that have no effect here
	// (iobuffersize, receivebuffersize, flushpackets, ...). Each also
	// produced a warning.
	Ignored []Param
}

// StatusFlags is a set of Apache worker status flags, with Apache's bit
// values.
type StatusFlags uint16

// The worker status flags, in Apache's table order (letter in parentheses).
const (
	StatusInit         StatusFlags = 0x0001 // O
	StatusIgnoreErrors StatusFlags = 0x0002 // I
	StatusDrain        StatusFlags = 0x0004 // N
	StatusGeneric      StatusFlags = 0x0008 // G
	StatusShutdown     StatusFlags = 0x0010 // U
	StatusDisabled     StatusFlags = 0x0020 // D
	StatusStopped      StatusFlags = 0x0040 // S
	StatusError        StatusFlags = 0x0080 // E
	StatusHotStandby   StatusFlags = 0x0100 // H
	StatusFree         StatusFlags = 0x0200 // F
	StatusHCFailed     StatusFlags = 0x0400 // C
	StatusHotSpare     StatusFlags = 0x0800 // R
)

var statusLetters = [...]struct {
	letter byte
	flag   StatusFlags
}{
	{'O', StatusInit}, {'I', StatusIgnoreErrors}, {'N', StatusDrain}, {'G', StatusGeneric},
	{'U', StatusShutdown}, {'D', StatusDisabled}, {'S', StatusStopped}, {'E', StatusError},
	{'H', StatusHotStandby}, {'F', StatusFree}, {'C', StatusHCFailed}, {'R', StatusHotSpare},
}

// String returns the flags' letters in Apache's table order ("" for none).
func (f StatusFlags) String() string {
	var b []byte
	for _, l := range statusLetters {
		if f&l.flag != 0 {
			b = append(b, l.letter)
		}
	}
	return string(b)
}

// Status is a status= parameter: the raw value and its effect. Apache reads
// the value left to right; '+' switches to setting, '-' to clearing (the
// initial mode is setting), and each letter (case-insensitive) is applied.
type Status struct {
	// Raw is the last status= value as written ("" if none).
	Raw string
	// Set and Clear are the flags the value(s) turn on and off.
	Set, Clear StatusFlags
}

// Apply returns f with the status parameter applied.
func (s Status) Apply(f StatusFlags) StatusFlags { return f&^s.Clear | s.Set }

// HCMethod is a health-check method (hcmethod=), upper-cased.
type HCMethod string

// Health-check methods Apache knows. CPING is accepted (Apache accepts it
// when mod_proxy_ajp is loaded) although it only means something for AJP.
const (
	HCNone      HCMethod = "NONE"
	HCTCP       HCMethod = "TCP"
	HCOptions   HCMethod = "OPTIONS"
	HCHead      HCMethod = "HEAD"
	HCGet       HCMethod = "GET"
	HCCPing     HCMethod = "CPING"
	HCOptions11 HCMethod = "OPTIONS11"
	HCHead11    HCMethod = "HEAD11"
	HCGet11     HCMethod = "GET11"
)

var hcMethods = []HCMethod{HCNone, HCTCP, HCOptions, HCHead, HCGet, HCCPing, HCOptions11, HCHead11, HCGet11}

// HealthCheck is the mod_proxy_hcheck part of a member or template.
type HealthCheck struct {
	// Method is hcmethod= ("" = not set: NONE for a member).
	Method HCMethod
	// Interval is hcinterval= (default unit s, at least 100 ms); 0 = not
	// set (30 s).
	Interval time.Duration
	// Passes and Fails are hcpasses= and hcfails= (default 1; 0 is valid).
	Passes, Fails       int
	PassesSet, FailsSet bool
	// URI is hcuri= (at most 63 bytes).
	URI string
	// Expr is hcexpr=: the name of a ProxyHCExpr defined earlier, as
	// written. Look it up with [File.HCExpr].
	Expr string
	// Template is the name given to hctemplate=, if any: its method,
	// interval, passes, fails, uri and expr were copied at that point.
	Template string
}

// HCTemplate is a ProxyHCTemplate: named health-check settings. Its
// defaults are Apache's template defaults: method TCP, interval 30 s,
// passes and fails 1.
type HCTemplate struct {
	Pos         Pos
	Name        string
	HealthCheck HealthCheck
}

// HCExpr is a ProxyHCExpr: a named health-check condition.
type HCExpr struct {
	Pos  Pos
	Name string
	// Expr is the parsed expression; Expr.String() is the text as written.
	Expr *Expr
}

// Mount is one ProxyPass mapping.
type Mount struct {
	Pos Pos
	// Path is the local path (the first argument, or the <Location> path).
	Path string
	// Exclude is true for "ProxyPass /path !".
	Exclude bool
	// Target is the second argument as written.
	Target string
	// Balancer is "balancer://name" (lower-cased) when Target is a
	// balancer URL; BalancerPath is what follows the name in Target
	// ("/sub", "/" or ""), which Apache appends to the member URL.
	// Parameters given on such a ProxyPass are balancer parameters and
	// were applied to the Balancer.
	Balancer     string
	BalancerPath string
	// Worker holds the target and its parameters when Target is an
	// ordinary URL (not a balancer, not "!"). Mounts whose targets have
	// the same scheme, host and port share one Worker, configured by the
	// first of them: Apache ignores the later mounts' parameters (they
	// are still listed in Params, and a warning says so).
	Worker *Member
	// Params are the key=value parameters as written, after Apache's table
	// merge (a repeated key keeps its first position and its last value).
	Params []Param
	// The ProxyPass keywords nocanon, interpolate and noquery, and
	// mapping= (encoded or servlet, lower-cased).
	NoCanon, Interpolate, NoQuery bool
	Mapping                       string
	// InLocation is true for a ProxyPass inside <Location>; Apache checks
	// those before the server-level mappings.
	InLocation bool
	// VirtualHost is the <VirtualHost> address the mapping was written in
	// ("" for the main server).
	VirtualHost string
	// VHost is the 1-based index in File.VirtualHosts of the
	// <VirtualHost> the directive was written in; 0 for the main server.
	VHost int
	// Regex is the regular expression of a ProxyPassMatch (or "ProxyPass
	// ~"), as written; Path is then empty and Target may hold $1..$9.
	Regex string
}

// ReverseMap is one ProxyPassReverse.
type ReverseMap struct {
	Pos Pos
	// Path is the local path; URL the backend URL as written.
	Path string
	URL  string
	// Balancer and BalancerPath are set when URL is a balancer URL:
	// "balancer://name" lower-cased and the part after the name. Apache
	// then tries every member URL followed by BalancerPath.
	Balancer     string
	BalancerPath string
	Interpolate  bool
	VirtualHost  string
	VHost        int
}

// CookieMap is one ProxyPassReverseCookieDomain or
// ProxyPassReverseCookiePath rule: a cookie attribute value starting with
// Internal is replaced as a whole by Public.
type CookieMap struct {
	Pos         Pos
	Internal    string
	Public      string
	Interpolate bool
	VirtualHost string
	VHost       int
}

// RouteCookie is the recognised form of Apache's documented recipe for
// issuing the route cookie:
//
//	Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/" env=BALANCER_ROUTE_CHANGED
//
// The cookie value is Prefix + route + Suffix.
type RouteCookie struct {
	Pos    Pos
	Name   string
	Prefix string
	Suffix string
	// Value is the whole Set-Cookie value as written (the format, with
	// %{BALANCER_WORKER_ROUTE}e), attributes included.
	Value string
	// OnlyWhenChanged is true with env=BALANCER_ROUTE_CHANGED: the cookie is
	// sent only when the balancer chose a member by scheduling. Without a
	// condition it is sent on every response.
	OnlyWhenChanged bool
	// Always is true for "Header always ...", which also applies to error
	// responses.
	Always bool
	// Cookie attributes. MaxAge is meaningful only when HasMaxAge.
	Path      string
	Domain    string
	MaxAge    int
	HasMaxAge bool
	Expires   string
	Secure    bool
	HTTPOnly  bool
	SameSite  http.SameSite
	// Extra lists attributes not understood above, as written.
	Extra []string
	// Balancer is the balancer of the <Proxy> section the Header was
	// written in; "" when written elsewhere (it then applies to balancers
	// whose sticky cookie name equals Name).
	Balancer    string
	VirtualHost string
	VHost       int
}

// VirtualHost is one <VirtualHost> section: its addresses and names.
type VirtualHost struct {
	Pos Pos
	// Addrs are the section's addresses as written ("*:80",
	// "_default_:443", "10.0.0.1", "[::1]:8080").
	Addrs []string
	// ServerName is the ServerName (without any scheme or port), "" if
	// none; Aliases are the ServerAlias names, wildcards (* and ?) as
	// written.
	ServerName string
	Aliases    []string
	// PreserveHost is the section's ProxyPreserveHost (unset: the main
	// server's).
	PreserveHost Flag
}
