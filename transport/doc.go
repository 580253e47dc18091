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
// # What is not Apache
//
// Durations are Go durations, not Apache's integer seconds. max caps the
// requests in flight on one Transport (one member, one process), which for
// HTTP/1.1 is the number of connections in use. smax is the number of idle
// connections kept; a connection that would exceed it is closed at once
// instead of being reaped later.
package transport
