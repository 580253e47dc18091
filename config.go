package balancer

import (
	"log"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"time"

	"github.com/proxybalancer/balancer/lbmethod"
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
	// body can be sent again (it had none, it has GetBody, or ReplayBuffer
	// kept it).
	DisableIdempotentRetry bool

	// IsIdempotent decides which requests may be sent twice; nil means
	// DefaultIdempotent.
	IsIdempotent func(*http.Request) bool

	// RetryBudget bounds the retries of requests already sent (see
	// DisableIdempotentRetry) by concurrency, as Envoy's retry budget
	// does: at any moment at most this share of the client requests in
	// flight may be retrying, 0..1; zero means 0.4. A request holds its
	// retries until it ends. Losing one member of three makes a third of
	// the requests in flight retry at once, which the default absorbs; a
	// fleet failing every request after it was sent gets at most
	// ratio/(1−ratio) retries per client request (2/3 by default) plus
	// RetryBudgetMin in flight. Failover before anything was sent
	// (Apache's) is bounded by MaxAttempts only.
	RetryBudget float64

	// PerTryTimeout, if positive, sends an idempotent request whose member
	// has not sent its response headers within it to another member as
	// well (one not tried yet, within MaxAttempts and the retry budget),
	// if its body can be read twice (none, GetBody, or kept whole by
	// ReplayBuffer): the first answer goes to the client, the other
	// attempt is canceled. Upgrade requests are never sent twice. Zero
	// means off (Apache has no such thing).
	PerTryTimeout time.Duration

	// Outlier, if set, turns on passive outlier detection: members whose
	// answers show them failing are ejected for a while (see
	// OutlierDetection). Nil means none (Apache has none).
	Outlier *OutlierDetection

	// PanicThreshold, if positive, is Envoy's healthy_panic_threshold, a
	// share 0..1: when fewer than this share of the members meant to serve
	// (not disabled, stopped, draining, hot standby or hot spare) are
	// usable, the scheduler spreads requests over all of them, in error
	// state, failing health checks or ejected included, and whatever their
	// lbset, rather than overload the few left. A request never goes twice
	// to one member. Sticky routes are followed as usual. Zero means off
	// (Apache).
	PanicThreshold float64

	// RetryBudgetMin is how many retries may be in flight whatever the
	// share allows, so that a quiet balancer can retry at all; zero means
	// 3, a negative value means none beyond the share.
	RetryBudgetMin int

	// ReplayBuffer is the most bytes of an idempotent request's body the
	// balancer keeps so that it can send the request again after its
	// connection was lost (see DisableIdempotentRetry): it applies to
	// bodies that declare their length (Content-Length) of at most this
	// many bytes and have no GetBody, such as those of requests from an
	// http.Server. Larger bodies and bodies of unknown length (streamed,
	// chunked) are not kept, and such requests are not sent twice. Zero
	// means DefaultReplayBuffer (64 KiB); a negative value keeps nothing.
	ReplayBuffer int

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
