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
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/proxybalancer/balancer/healthcheck"
	"github.com/proxybalancer/balancer/transport"
)

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
	out      outlierRun
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
	cfg = cfg.clone()
	s, err := b.buildSnapshot(&cfg, nil)
	if err != nil {
		return nil, err
	}
	b.cfg = cfg
	b.snap.Store(s)
	b.outlierConfigured(s)
	b.logConfigWarnings(b.name, s.log, configWarnings(&cfg, s))
	return b, nil
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
	path, code := requestPath(r)
	if code != 0 {
		http.Error(w, http.StatusText(code), code)
		return
	}
	b.serve(w, r, path, nil)
}

// serve routes r with path (decoded) as the balancer-relative path; pass
// is the mount it came through, if any.
func (b *Balancer) serve(w http.ResponseWriter, r *http.Request, path string, pass *ProxyPass) {
	st := newRequestState(b, r, path)
	st.pass = pass
	b.budget.begin() // ended by finish
	st.res.w = w
	defer st.finish()
	if b.closed.Load() {
		st.fail(w, r, errClosedRequest)
		return
	}
	b.outlierTick(st.snap)
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
