// Package transport is the HTTP client side of one balancer member: an
// [http.RoundTripper] tuned with the connection parameters of Apache's
// BalancerMember (connectiontimeout, timeout, disablereuse, keepalive, ttl,
// max, smax, acquire, ping) that tells its caller, reliably, when a failed
// attempt sent nothing to the member.
//
// # Failover
//
// A balancer may send a request to another member only if the first member
// cannot have acted on it (Apache fails over on connect errors, pool acquire
// timeouts and 100-continue ping failures, never after the request was sent).
// [Transport.RoundTrip] returns a [*NotSentError] exactly in those cases, and
// then guarantees that the request body has been neither read nor closed, so
// the same request, body included, can be given to another member's
// Transport:
//
//	resp, err := members[i].RoundTrip(req)
//	if transport.NotSent(err) && req.Context().Err() == nil {
//		// try the next member with the same req
//	}
//
// [IsTimeout] tells a member that did not answer in time after the request
// was written (Apache's failontimeout) from other errors.
//
// # How requests travel
//
// Most requests a proxy forwards are HTTP/1.1 GET, HEAD, OPTIONS or TRACE
// without a body. The Transport writes those and reads their response on
// the calling goroutine, over connections it pools itself. The bytes sent
// are those (*http.Request).Write sends and responses are parsed as
// [http.ReadResponse] parses them; the commonest requests and response
// heads are written and parsed by the Transport itself, with fewer
// allocations, and fuzz tests compare both with net/http's. Every other request (a body, another method, https,
// h2c, an upgrade, a trace hook other than Got1xxResponse, Max or
// DisableReuse set) goes through an [http.Transport]. The two carry the same
// bytes and give the same responses and errors; the direct way spares the
// two goroutine hand-offs net/http makes per request, which under load cost
// more CPU than the balancer's own work. An idle connection of the direct
// pool is checked without blocking before reuse (closed by the member, or
// bytes it sent unasked: not used), and a reused connection the member
// closed meanwhile is replaced and the request written again, as net/http
// does for a request that may be replayed.
//
// # What is not Apache
//
// Durations are Go durations, not Apache's integer seconds. max caps the
// requests in flight on one Transport (one member, one process), which for
// HTTP/1.1 is the number of connections in use. smax is the number of idle
// connections kept; a connection that would exceed it is closed at once
// instead of being reaped later.
package transport
