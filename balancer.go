// Package balancer is Apache httpd's mod_proxy_balancer for Go: an
// [http.Handler] that spreads requests over backend members, keeps sticky
// sessions on the member that owns them, survives dead and slow members,
// and proxies through a tuned [httputil.ReverseProxy].
//
// Routing decisions (which member serves a request, and the BALANCER_*
// values) match Apache httpd 2.4.71, quirks included, so a gateway migrated
// from Apache sends every request where Apache would have.
//
// # Example
//
//	b, err := balancer.New(balancer.Config{
//		Name:          "mycluster",
//		StickySession: "JSESSIONID|jsessionid",
//		Members: []balancer.Member{
//			{URL: "http://10.0.0.1:8080", Route: "node1"},
//			{URL: "http://10.0.0.2:8080", Route: "node2"},
//			{URL: "http://10.0.0.3:8080", Status: "+H"}, // hot standby
//		},
//	})
//	if err != nil { ... }
//	http.ListenAndServe(":8080", b)
//
// # Members and tiers
//
// Members carry Apache's flags ([Status]): disabled, stopped, draining, hot
// standby, hot spare, ignore-errors, in error, health-check failed. The
// scheduler chooses among the usable members of the lowest lbset that has
// any; spares stand in for unusable members one for one; standbys serve only
// when nothing else in the set can. A member whose connection fails goes into
// error state for its Retry and the request goes to another member.
//
// # Load-balancing methods
//
// The method is a [lbmethod.Method]; nil means Apache's byrequests.
// Package lbmethod has Apache's methods and ones Apache lacks, and makes a
// Method of any custom [lbmethod.Scheduler].
package balancer

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/proxybalancer/balancer/healthcheck"
	"github.com/proxybalancer/balancer/lbmethod"
	"github.com/proxybalancer/balancer/transport"
)

// Config configures a Balancer. Zero values mean Apache's defaults; the
// names follow mod_proxy_balancer's parameters. New validates everything.
type Config struct {
	// Name is the balancer's name, as in balancer://Name. It is lower-cased
	// (Apache's names are case-insensitive) and must not contain '/'.
	// Required.
	Name string

	// Members are the backend members in configuration order, which
	// decides ties. Two members may not share a normalised URL.
	Members []Member

	// Method is the load-balancing method. Nil means byrequests
	// ([lbmethod.MethodByRequests]). The balancer makes its own scheduler
	// with Method.New, so one Method may configure any number of
	// balancers. [lbmethod.ByName] gives a method by Apache's name.
	Method lbmethod.Method

	// StickySession names the session cookie and URL parameter: "NAME"
	// for both, or "COOKIE|PARAM" (Apache's stickysession). Empty means no
	// sticky sessions.
	StickySession string

	// StickySessionSep is the character between session id and route:
	// empty means ".", any one character, or "Off" (the whole value is the
	// route). Apache's stickysessionsep.
	StickySessionSep string

	// ScolonPathDelim makes ';' end a URL session value too (Apache's
	// scolonpathdelim).
	ScolonPathDelim bool

	// RoutePattern, if set, is a regular expression matched against the
	// session value whose first group is the route, for applications whose
	// session value is not <id><separator><route>. It replaces the
	// separator rule; a value it does not match carries no route.
	RoutePattern string

	// RouteCookie, if set, makes member responses carry a cookie naming
	// the member's route whenever the route changed (the Apache docs'
	// ROUTEID recipe). Needs StickySession.
	RouteCookie *RouteCookie

	// NoFailover answers 503 instead of choosing another member when the
	// member owning a request's route is unusable (Apache's nofailover).
	NoFailover bool

	// MaxAttempts is how many times a request whose member could not be
	// reached is sent to another member (Apache's maxattempts). Zero means
	// Apache's default: members−1, none with one member; a negative value
	// means never.
	MaxAttempts int

	// Timeout is how long a request waits for a usable member before it
	// gets 503 (Apache's balancer timeout). It is woken as soon as a member
	// becomes usable. Zero means no wait.
	Timeout time.Duration

	// FailOnStatus lists response statuses that put the member into error
	// state after the response went to the client unchanged (Apache's
	// failonstatus); it also matches the 502 and 503 the balancer makes.
	// Each must be 100..599.
	FailOnStatus []int

	// FailOnTimeout puts a member into error state when it did not send its
	// response headers within its Connection.Timeout (Apache's
	// failontimeout); the client gets 502.
	FailOnTimeout bool

	// DisableIdempotentRetry turns off a retry Apache does not make: an
	// idempotent request (see IsIdempotent) whose connection broke after
	// it was sent and before any response byte came back goes to a member
	// it has not tried, within MaxAttempts and the retry budget, if its
	// body can be sent again (it had none, or it has GetBody).
	DisableIdempotentRetry bool

	// IsIdempotent decides which requests may be sent twice; nil means
	// DefaultIdempotent.
	IsIdempotent func(*http.Request) bool

	// RetryBudget is the share of recent requests that may be retried after
	// they were sent, 0..1; zero means 0.2. The budget starts with, and
	// holds at most, 10 retries, so a quiet balancer can retry a burst.
	RetryBudget float64

	// DisableForceRecovery keeps members in error state even when all of
	// them are (Apache's forcerecovery=Off). By default, when every member
	// is in error state they are all tried again at once.
	DisableForceRecovery bool

	// Transport, if set, carries every request to every member, instead of
	// one tuned transport per member (see package transport). Failover
	// then recognises connection failures by *net.OpError with Op "dial".
	// Reconfigure to another Transport (or to nil) replaces every member's
	// transport.
	Transport http.RoundTripper

	// WrapTransport, if set, wraps each member's transport: for tracing,
	// authentication or metrics around every attempt, keeping the
	// member's own settings (Member.Connection: Max, TTL, Ping, ...) and
	// its way of sending, since the wrapper calls the transport it is
	// given. member is the member's normalised URL. It is called once per
	// member transport, on the first attempt sent to the member (a member
	// whose Connection changes gets a new transport, wrapped anew), never
	// under a balancer lock, and may be called concurrently for different
	// members; a nil result leaves the transport unwrapped. The wrapper's
	// RoundTrip is called for every attempt, retries and failovers
	// included, with the request the member is to get; [FromContext]
	// gives the routing decision. It must pass the request through
	// without reading its body and return the transport's errors
	// unchanged or wrapped (fmt.Errorf("...: %w", err)), or failover
	// cannot tell that nothing was sent. A wrapper that replaces a
	// response body must keep a 101 Switching Protocols body an
	// io.ReadWriteCloser, or upgrades (WebSockets) fail. Requests keep
	// the way they travel (see package transport) as long as the wrapper
	// adds no body and no httptrace hook. Health checks do not go through
	// it. Reconfigure with another WrapTransport wraps every member's
	// transport anew (on its next attempt).
	WrapTransport func(member string, rt http.RoundTripper) http.RoundTripper

	// Rewrite, if set, is called after the balancer has set the outbound
	// URL and X-Forwarded-* headers, to change the outbound request
	// further, as [httputil.ReverseProxy.Rewrite]: it may edit pr.Out or
	// replace it. [FromContext] on pr.Out.Context() gives the routing
	// decision.
	Rewrite func(pr *httputil.ProxyRequest)

	// PreserveHost sends the client's Host header to the member instead
	// of the member's host (Apache's ProxyPreserveHost On).
	PreserveHost bool

	// ServerName is the front end's host name, sent to members in
	// X-Forwarded-Server (Apache's ServerName). Empty means the system's
	// host name, as Apache's default.
	ServerName string

	// TrustedProxies switches the X-Forwarded-* headers from Apache's
	// policy to the trusted-proxy policy. Nil means Apache's: the client's
	// address, Host and ServerName are appended (", ") to whatever
	// X-Forwarded-For, X-Forwarded-Host and X-Forwarded-Server the client
	// sent, and X-Forwarded-Proto and Forwarded pass unchanged. Non-nil
	// (even empty) lists the networks ("10.0.0.0/8", "2001:db8::/32", or
	// single addresses) of proxies in front of the balancer whose headers
	// are believed: from them the headers are appended to as by default,
	// and X-Forwarded-Proto is set if absent; from any other client every
	// X-Forwarded-* and Forwarded header is dropped and replaced by the
	// balancer's own (X-Forwarded-For: the client's address,
	// X-Forwarded-Host, X-Forwarded-Server, X-Forwarded-Proto).
	TrustedProxies []string

	// ModifyResponse, if set, is called with each backend response, as
	// [httputil.ReverseProxy.ModifyResponse]; an error is passed to the
	// ErrorHandler.
	ModifyResponse func(*http.Response) error

	// ErrorHandler, if set, writes the response for a request that could
	// not be proxied: err wraps [ErrNoMember] when no member could take it
	// (the default answer is 503), is a member's name resolution failure
	// (500, as Apache) or is the transport's error otherwise (502).
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

	// FlushInterval is passed to the ReverseProxy: zero flushes only what
	// must be (server-sent events and unknown lengths stream anyway), a
	// negative value flushes after every write.
	FlushInterval time.Duration

	// ErrorLog receives the proxy's error messages ("http: proxy error:
	// ..."): transport errors, ModifyResponse errors and requests no member
	// could take, as [httputil.ReverseProxy.ErrorLog]. Nil discards them.
	ErrorLog *log.Logger

	// SlowStart, if positive, ramps up a member that becomes usable (added
	// by Update, re-enabled, out of error state, healthy again) from 1% to
	// its full weight over this window, for every method, instead of giving
	// it its full share at once. Members the balancer starts with are not
	// ramped. Zero means no slow start (Apache).
	SlowStart time.Duration

	// Logger receives the balancer's log: routing decisions at debug level
	// (the route found and where, the member chosen, why the route
	// changed), member state changes at info (back in use) or warn (out of
	// use), and warnings about the configuration (a member URL ending in
	// '/', a redirect to no route, a route cookie the balancer never reads)
	// at warn when it is applied. Nil is silent.
	Logger *slog.Logger

	// Observer, if set, receives the balancer's events for metrics.
	Observer *Observer

	// Now returns the current time; nil means time.Now. Tests inject a
	// clock to drive retry timers without sleeping. It may be called with
	// the selection lock held and must not call the balancer. It cannot
	// change after New (Reconfigure refuses it).
	Now func() time.Time
}

// ErrNoMember is returned (wrapped) when no member can take a request: all
// are unusable, failover was exhausted, or nofailover forbids another
// member.
var ErrNoMember = errors.New("balancer: no usable member")

// Balancer is an http.Handler that load-balances requests over its members.
// It is safe for concurrent use; configuration changes apply atomically to
// the next request.
type Balancer struct {
	name string // "balancer://name"
	now  func() time.Time
	// mono is the time elapsed since born on the balancer's clock, the
	// request path's timestamps: with the default clock one monotonic
	// clock read (time.Since).
	mono func() time.Duration
	born time.Time

	snap atomic.Pointer[snapshot]

	// mu is the selection lock, Apache's balancer mutex: it serialises
	// force recovery, sticky bookkeeping and the scheduler's Pick, which
	// update the members' LBStatus together. Held for arithmetic only.
	mu      sync.Mutex
	scratch scratch // selection buffers, guarded by mu

	// adminMu serialises configuration changes; cfg is the configuration
	// the current snapshot was built from.
	adminMu sync.Mutex
	cfg     Config
	cfgGen  uint64 // counts changes of cfg
	editSeq uint64 // changes applied by Apply, guarded by adminMu
	// pending holds what a configuration change made under adminMu must
	// report or release once it is unlocked (see unlockAdmin).
	pending pending

	listeners listeners // OnChange

	checker atomic.Pointer[healthcheck.Checker] // while RunHealthChecks runs

	changeCh atomic.Pointer[chan struct{}] // closed and replaced by notify
	ramping  atomic.Bool                   // a member may be in slow start
	flagGen  atomic.Uint64                 // counts member flag changes
	budget   retryBudget
	retries  atomic.Int64 // requests retried after they were sent

	// wrapGen counts the WrapTransport functions the balancer was given
	// (by New and Reconfigure), guarded by adminMu: a member's transport
	// is wrapped anew when it changes.
	wrapGen uint64

	// closed is set by Close; stopChecks ends a running RunHealthChecks
	// (guarded by adminMu).
	closed     atomic.Bool
	closeOnce  sync.Once
	stopChecks context.CancelCauseFunc
}

// snapshot is an immutable view of the configuration. Runtime state lives
// in the members, which snapshots share.
type snapshot struct {
	members []*member              // configuration order
	tiers   [][]*member            // by lbset, ascending; configuration order within
	method  lbmethod.Method        // Config.Method, or byrequests for nil
	sched   lbmethod.Scheduler     // method's scheduler, owned by the balancer
	all     bool                   // the scheduler ignores tiers (lbmethod.AllMembers)
	keys    lbmethod.KeyScheduler  // sched, when it picks by a request key; else nil
	lists   lbmethod.ListScheduler // sched, when it keeps state per candidate list; else nil

	sticky *stickyConfig // nil: no sticky sessions
	fwd    forwarding    // X-Forwarded-* policy and Host
	obs    *Observer
	log    *slog.Logger

	// proxy is the ReverseProxy requests go through, with this
	// configuration's FlushInterval, ErrorLog and hooks.
	proxy      httputil.ReverseProxy
	errHandler func(http.ResponseWriter, *http.Request, error) // Config.ErrorHandler
	rewrite    func(*httputil.ProxyRequest)                    // Config.Rewrite
	modify     func(*http.Response) error                      // Config.ModifyResponse
	errorLog   *log.Logger                                     // Config.ErrorLog
	retryRatio float64                                         // Config.RetryBudget, or its default
	transport  http.RoundTripper                               // Config.Transport, or nil
	wrap       func(member string, rt http.RoundTripper) http.RoundTripper
	wrapGen    uint64 // Balancer.wrapGen when wrap was set

	slow   lbmethod.SlowStart
	lbs    []*lbmethod.Member   // every member's scheduler view, in order
	routes map[string][]*member // members by route, in order

	// Candidate caches, guarded by the balancer's selection lock.
	tierCache   []candCache
	usableCache candCache
	timeout     time.Duration
	failOn      []int
	failOnTime  bool
	idempotent  func(*http.Request) bool

	noIdempotentRetry bool
	noFailover        bool
	maxAttempts       int
	forceRecover      bool
}

// New validates cfg and returns a Balancer. The error names the field and
// the value at fault.
func New(cfg Config) (*Balancer, error) {
	name := strings.ToLower(cfg.Name)
	if name == "" {
		return nil, errors.New("balancer: name: must not be empty")
	}
	if strings.ContainsAny(name, "/ \t?#") {
		return nil, fmt.Errorf("balancer: name %q: must not contain '/', '?', '#' or spaces", cfg.Name)
	}
	b := &Balancer{name: "balancer://" + name, now: cfg.Now}
	if b.now == nil {
		b.now = time.Now
		b.born = time.Now()
		b.mono = func() time.Duration { return time.Since(b.born) }
	} else {
		b.born = b.now()
		b.mono = func() time.Duration { return b.now().Sub(b.born) }
	}
	ch := make(chan struct{})
	b.changeCh.Store(&ch)
	b.budget.init(retryBudgetCap)
	cfg = cfg.clone()
	s, err := b.buildSnapshot(&cfg, nil)
	if err != nil {
		return nil, err
	}
	b.cfg = cfg
	b.snap.Store(s)
	b.logConfigWarnings(b.name, s.log, configWarnings(&cfg, s))
	return b, nil
}

// discardLog is the ReverseProxy's ErrorLog when Config.ErrorLog is nil.
var discardLog = log.New(discard{}, "", 0)

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// buildSnapshot validates cfg and builds a snapshot, reusing the runtime
// state of members in prev that keep their identity. Nothing is changed
// unless everything is valid: members are touched only after validation.
func (b *Balancer) buildSnapshot(cfg *Config, prev *snapshot) (*snapshot, error) {
	s := &snapshot{
		errHandler:        cfg.ErrorHandler,
		rewrite:           cfg.Rewrite,
		modify:            cfg.ModifyResponse,
		errorLog:          cfg.ErrorLog,
		retryRatio:        cfg.RetryBudget,
		transport:         cfg.Transport,
		wrap:              cfg.WrapTransport,
		wrapGen:           b.wrapGen,
		method:            cfg.Method,
		noFailover:        cfg.NoFailover,
		forceRecover:      !cfg.DisableForceRecovery,
		timeout:           cfg.Timeout,
		failOnTime:        cfg.FailOnTimeout,
		idempotent:        cfg.IsIdempotent,
		noIdempotentRetry: cfg.DisableIdempotentRetry,
		obs:               cfg.Observer,
		log:               cfg.Logger,
		slow:              lbmethod.SlowStart{Window: cfg.SlowStart},
	}
	if cfg.SlowStart < 0 {
		return nil, fmt.Errorf("balancer: slowstart %v: must be >= 0", cfg.SlowStart)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("balancer: timeout %v: must be >= 0", cfg.Timeout)
	}
	for _, code := range cfg.FailOnStatus {
		if code < 100 || code > 599 {
			return nil, fmt.Errorf("balancer: failonstatus %d: out of range 100..599", code)
		}
	}
	s.failOn = append([]int(nil), cfg.FailOnStatus...)
	if cfg.RetryBudget < 0 || cfg.RetryBudget > 1 {
		return nil, fmt.Errorf("balancer: retrybudget %v: out of range 0..1", cfg.RetryBudget)
	}
	if s.retryRatio == 0 {
		s.retryRatio = defaultRetryRatio
	}
	s.proxy = httputil.ReverseProxy{
		Rewrite:        b.rewrite,
		Transport:      (*failover)(b),
		FlushInterval:  cfg.FlushInterval,
		ErrorLog:       cfg.ErrorLog,
		BufferPool:     &bufferPool,
		ModifyResponse: b.modifyResponse,
		ErrorHandler:   b.handleError,
	}
	if s.proxy.ErrorLog == nil {
		s.proxy.ErrorLog = discardLog
	}
	if s.method == nil {
		s.method = lbmethod.MethodByRequests
	}
	if prev != nil && same(prev.method, s.method) {
		// The scheduler is kept across rebuilds, so that Update does not
		// reset its state.
		s.sched = prev.sched
	} else if s.sched = s.method.New(); s.sched == nil {
		return nil, fmt.Errorf("balancer: method %q: New returned nil", s.method.Name())
	}
	if a, ok := s.sched.(lbmethod.AllMembers); ok && a.AllMembers() {
		s.all = true
	}
	s.keys, _ = s.sched.(lbmethod.KeyScheduler)
	s.lists, _ = s.sched.(lbmethod.ListScheduler)
	sc, err := newStickyConfig(cfg)
	if err != nil {
		return nil, err
	}
	s.sticky = sc
	if s.fwd, err = newForwarding(cfg, os.Hostname); err != nil {
		return nil, err
	}

	type valid struct {
		u        *url.URL
		name     string
		settings *memberConfig
		status   Status // flags the config sets
	}
	vs := make([]valid, len(cfg.Members))
	seen := map[string]bool{}
	for i := range cfg.Members {
		mc := &cfg.Members[i]
		u, name, err := normalizeURL(mc.URL)
		if err != nil {
			return nil, fmt.Errorf("balancer: member %q: url: %v", mc.URL, err)
		}
		if seen[name] {
			return nil, fmt.Errorf("balancer: member %q: duplicate of another member (same URL %q)", mc.URL, name)
		}
		seen[name] = true
		settings, st, err := memberSettings(mc)
		if err != nil {
			return nil, fmt.Errorf("balancer: member %q: %v", mc.URL, err)
		}
		vs[i] = valid{u, name, settings, st}
	}
	old := map[string]*member{}
	if prev != nil && same(prev.transport, s.transport) {
		// Members that stay keep their transports; a new
		// Config.Transport replaces every one.
		for _, m := range prev.members {
			old[m.name] = m
		}
	}
	// Transports for new members and changed connection settings, before
	// any member is changed; wrapped anew when the WrapTransport changed.
	for i, v := range vs {
		if m := old[v.name]; m != nil {
			if c := m.cfg.Load(); c.conn == v.settings.conn {
				v.settings.rt, v.settings.hook, v.settings.wrapGen = c.rt, c.hook, c.wrapGen
				if c.wrapGen != s.wrapGen {
					v.settings.hook, v.settings.wrapGen = s.hook(v.name, c.rt), s.wrapGen
				}
				continue
			}
		}
		rt, err := s.memberTransport(v.settings.conn)
		if err != nil {
			return nil, fmt.Errorf("balancer: member %q: %v", cfg.Members[i].URL, err)
		}
		v.settings.rt = rt
		v.settings.hook, v.settings.wrapGen = s.hook(v.name, rt), s.wrapGen
	}
	if prev != nil {
		for _, m := range prev.members {
			old[m.name] = m
		}
	}
	for _, v := range vs {
		m := old[v.name]
		if m == nil {
			m = &member{name: v.name, url: v.u, path: v.u.Path, rawPath: v.u.RawPath, owner: b}
			m.lb.Name, m.lb.Host = v.name, v.u.Hostname()
			m.status.Store(uint32(v.status))
			if prev != nil && s.slow.Window > 0 {
				// Added to a running balancer: it ramps up.
				m.lb.SetFactor(v.settings.factor)
				s.slow.Begin(&m.lb, b.now())
				b.ramping.Store(true)
			}
		} else {
			c := m.cfg.Load()
			if c.status != v.status {
				// A member that stays keeps its runtime flags (set by
				// errors, health checks, the manager); only what its
				// configured status changed is applied.
				if from, to, ok := m.swapFlags(v.status&^c.status, c.status&^v.status, b.now()); ok {
					b.pending.events = append(b.pending.events, flagEvent{m, from, to, "configuration"})
				}
			}
			if !same(c.rt, v.settings.rt) {
				b.pending.idle = append(b.pending.idle, c.rt)
			}
		}
		m.lb.SetFactor(v.settings.factor)
		m.cfg.Store(v.settings)
		s.members = append(s.members, m)
	}
	s.tiers = tiersOf(s.members)
	s.tierCache = make([]candCache, len(s.tiers))
	s.routes = map[string][]*member{}
	for _, m := range s.members {
		if r := m.cfg.Load().route; r != "" {
			s.routes[r] = append(s.routes[r], m)
		}
	}
	for _, m := range s.members {
		s.lbs = append(s.lbs, &m.lb)
	}
	switch {
	case cfg.MaxAttempts < 0:
		s.maxAttempts = 0
	case cfg.MaxAttempts > 0:
		s.maxAttempts = cfg.MaxAttempts
	case len(s.members) > 1:
		s.maxAttempts = len(s.members) - 1
	}
	return s, nil
}

// same reports whether a and b are equal interface values (a Method, a
// RoundTripper): then the balancer keeps what it made of a. A value of an
// incomparable dynamic type is equal to nothing.
func same[T any](a, b T) (eq bool) {
	defer func() {
		if recover() != nil { // comparing incomparable values panics
			eq = false
		}
	}()
	return any(a) == any(b)
}

// memberTransport returns the transport for a member with options o: the
// configuration's Transport, or a new tuned one.
func (s *snapshot) memberTransport(o transport.Options) (http.RoundTripper, error) {
	if s.transport != nil {
		return s.transport, nil
	}
	t, err := transport.New(o)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// closeIdle closes the idle connections of a member transport that is no
// longer used (not the user's shared Config.Transport).
func closeIdle(rt http.RoundTripper) {
	if t, ok := rt.(*transport.Transport); ok {
		t.CloseIdleConnections()
	}
}

// tiersOf groups members by lbset, ascending, keeping configuration order
// within a set.
func tiersOf(ms []*member) [][]*member {
	var sets [100][]*member
	for _, m := range ms {
		l := m.cfg.Load().lbset
		sets[l] = append(sets[l], m)
	}
	var tiers [][]*member
	for _, t := range sets {
		if len(t) > 0 {
			tiers = append(tiers, t)
		}
	}
	return tiers
}

// Name returns the balancer's name as Apache's BALANCER_NAME shows it:
// "balancer://name".
func (b *Balancer) Name() string { return b.name }

// ServeHTTP routes r to a member and proxies it there.
//
// The request path is normalised first, as Apache's core does (dot
// segments removed, slashes merged); a path climbing above the root gets
// 400.
func (b *Balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path, rawPath, code := requestPath(r)
	if code != 0 {
		http.Error(w, http.StatusText(code), code)
		return
	}
	b.serve(w, r, path, rawPath, nil)
}

// serve routes r with path (and its escaped form rawPath, if it needs one)
// as the balancer-relative path; pass is the mount it came through, if any.
func (b *Balancer) serve(w http.ResponseWriter, r *http.Request, path, rawPath string, pass *ProxyPass) {
	st := newRequestState(b, r, path, rawPath)
	st.pass = pass
	defer st.finish()
	if b.closed.Load() {
		st.fail(w, r, errClosedRequest)
		return
	}
	b.budget.deposit(st.snap.retryRatio)
	if m, err := b.chooseWait(st); m == nil {
		st.fail(w, r, err)
		return
	}
	st.snap.proxy.ServeHTTP(w, st.request(r))
	if b.closed.Load() {
		b.afterClose(st.snap)
	}
}

var _ http.Handler = (*Balancer)(nil)

// The ReverseProxy's hooks: the request's life is in request.go.

func (b *Balancer) rewrite(pr *httputil.ProxyRequest) { stateFrom(pr.In.Context()).rewrite(pr) }

func (b *Balancer) modifyResponse(res *http.Response) error {
	return stateFrom(res.Request.Context()).modifyResponse(res)
}

func (b *Balancer) handleError(w http.ResponseWriter, r *http.Request, err error) {
	stateFrom(r.Context()).fail(w, r, err)
}

// bufferPool holds the copy buffers of every balancer's ReverseProxy.
var bufferPool transport.BufferPool
