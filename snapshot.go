package balancer

import (
	"fmt"
	"log"
	"log/slog"
	"math"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"time"

	"github.com/proxybalancer/balancer/lbmethod"
	"github.com/proxybalancer/balancer/transport"
)

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
	budgetMin         int64 // Config.RetryBudgetMin with its default
	replayLimit       int   // Config.ReplayBuffer with its default; 0 = off
	perTry            time.Duration
	outlier           *outlierConfig // nil: no outlier detection
	panic             float64        // Config.PanicThreshold; 0 = off
	maxAttempts       int
	forceRecover      bool
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
	if cfg.RetryBudget < 0 || cfg.RetryBudget > 1 || math.IsNaN(cfg.RetryBudget) {
		return nil, fmt.Errorf("balancer: retrybudget %v: out of range 0..1", cfg.RetryBudget)
	}
	if s.retryRatio == 0 {
		s.retryRatio = defaultRetryBudget
	}
	if cfg.PerTryTimeout < 0 {
		return nil, fmt.Errorf("balancer: pertrytimeout %v: must be >= 0", cfg.PerTryTimeout)
	}
	s.perTry = cfg.PerTryTimeout
	if cfg.PanicThreshold < 0 || cfg.PanicThreshold > 1 || math.IsNaN(cfg.PanicThreshold) {
		return nil, fmt.Errorf("balancer: panicthreshold %v: out of range 0..1", cfg.PanicThreshold)
	}
	s.panic = cfg.PanicThreshold
	oc, err := newOutlierConfig(cfg.Outlier)
	if err != nil {
		return nil, err
	}
	s.outlier = oc
	s.budgetMin = int64(cfg.RetryBudgetMin)
	switch {
	case cfg.RetryBudgetMin == 0:
		s.budgetMin = defaultRetryBudgetMin
	case cfg.RetryBudgetMin < 0:
		s.budgetMin = 0
	}
	switch {
	case cfg.ReplayBuffer == 0:
		s.replayLimit = DefaultReplayBuffer
	case cfg.ReplayBuffer > 0:
		s.replayLimit = cfg.ReplayBuffer
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
	// The members of the new list: those that stay, and new ones (not
	// seen by any request yet).
	ms := make([]*member, len(vs))
	for i, v := range vs {
		if ms[i] = old[v.name]; ms[i] == nil {
			m := &member{name: v.name, url: v.u, path: v.u.Path, rawPath: v.u.RawPath, owner: b}
			m.lb.Name, m.lb.Host = v.name, v.u.Hostname()
			ms[i] = m
		}
	}
	if p, ok := s.sched.(lbmethod.Preparer); ok {
		// What the scheduler builds from the member lists (hash rings),
		// before any factor changes: without the selection lock, so
		// requests are served meanwhile, with the list in force.
		factors, lbsets := make([]int64, len(vs)), make([]int, len(vs))
		for i, v := range vs {
			factors[i], lbsets[i] = v.settings.factor, v.settings.lbset
		}
		p.Prepare(prepareLists(ms, factors, lbsets, s.all, s.panic > 0))
	}
	for i, v := range vs {
		m := ms[i]
		if old[v.name] == nil {
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

// prepareLists returns the lists a lbmethod.Preparer is told of: ms by
// lbset tier, ascending (lbsets[i] is ms[i]'s), or all in one list for a
// scheduler that ignores tiers (all), with their new load factors; with
// several tiers and a panic threshold, all of them once more at the end.
func prepareLists(ms []*member, factors []int64, lbsets []int, all, panicMode bool) ([][]*lbmethod.Member, [][]int64) {
	var lists [100][]*lbmethod.Member
	var fs [100][]int64
	for i, m := range ms {
		set := lbsets[i]
		if all {
			set = 0
		}
		lists[set] = append(lists[set], &m.lb)
		fs[set] = append(fs[set], factors[i])
	}
	var outL [][]*lbmethod.Member
	var outF [][]int64
	for set := range lists {
		if len(lists[set]) > 0 {
			outL, outF = append(outL, lists[set]), append(outF, fs[set])
		}
	}
	if panicMode && len(outL) > 1 {
		every := make([]*lbmethod.Member, len(ms))
		for i, m := range ms {
			every[i] = &m.lb
		}
		outL, outF = append(outL, every), append(outF, factors)
	}
	return outL, outF
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
