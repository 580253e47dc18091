package balancer

import (
	"context"
	"net/http"
	"sync/atomic"
)

// Info holds the routing decision for a request: Apache's six BALANCER_*
// environment variables. They are set on each attempt once a member is
// chosen and never removed, so after a failover they describe the last
// attempt and keep what earlier attempts set.
type Info struct {
	// Name is BALANCER_NAME: "balancer://" and the lower-cased name.
	Name string
	// WorkerName is BALANCER_WORKER_NAME: the member's normalised URL.
	WorkerName string
	// WorkerRoute is BALANCER_WORKER_ROUTE: the member's route, "" if none.
	WorkerRoute string
	// RouteChanged is BALANCER_ROUTE_CHANGED=1: the request carried no
	// usable route (the method chose the member, on every such request of
	// a balancer with sticky sessions) or its route was redirected. Never
	// set without sticky sessions.
	RouteChanged bool
	// Session reports whether a route was extracted from the request, so
	// that SessionSticky and SessionRoute are set (the route may be empty,
	// as in "abc.").
	Session bool
	// SessionSticky is BALANCER_SESSION_STICKY: the cookie or URL parameter
	// name the route came from.
	SessionSticky string
	// SessionRoute is BALANCER_SESSION_ROUTE: the route the request carried,
	// even when no member has it.
	SessionRoute string
}

// Lookup returns the value of one of Apache's BALANCER_* variables by its
// name, and whether Apache would have it set: BALANCER_NAME,
// BALANCER_WORKER_NAME, BALANCER_WORKER_ROUTE, BALANCER_ROUTE_CHANGED
// ("1"), BALANCER_SESSION_STICKY, BALANCER_SESSION_ROUTE. On the zero Info
// (no member chosen) nothing is set.
func (i Info) Lookup(name string) (string, bool) {
	if i.Name == "" {
		return "", false
	}
	switch name {
	case "BALANCER_NAME":
		return i.Name, true
	case "BALANCER_WORKER_NAME":
		return i.WorkerName, true
	case "BALANCER_WORKER_ROUTE":
		return i.WorkerRoute, true
	case "BALANCER_ROUTE_CHANGED":
		if i.RouteChanged {
			return "1", true
		}
	case "BALANCER_SESSION_STICKY":
		if i.Session {
			return i.SessionSticky, true
		}
	case "BALANCER_SESSION_ROUTE":
		if i.Session {
			return i.SessionRoute, true
		}
	}
	return "", false
}

type stateKey struct{}
type captureKey struct{}

// captureUsed is set once Capture is called in the process: until then no
// request can carry a capture, and the balancer does not look for one (a
// walk up the request's whole context chain).
var captureUsed atomic.Bool

// FromContext returns the routing decision of the request whose outbound
// request (or inbound request, inside the balancer) carries ctx. It works in
// the Rewrite, ModifyResponse and ErrorHandler hooks and in a Transport.
// ok is false when ctx is not from a request the balancer routed to a
// member.
func FromContext(ctx context.Context) (info Info, ok bool) {
	st := stateFrom(ctx)
	if st == nil || st.member == nil {
		return Info{}, false
	}
	return st.info(), true
}

// Capture prepares r for a balancer that handles it further down the
// handler chain, so that middleware around the balancer (an access log, a
// cookie writer) can read the routing decision once ServeHTTP returns:
//
//	r, info := balancer.Capture(r)
//	next.ServeHTTP(w, r)
//	log.Print(info.WorkerRoute)
//
// The balancer fills *info on every attempt; read it only after the
// balancer's ServeHTTP has returned. A request the balancer answered without
// choosing a member leaves it zero.
func Capture(r *http.Request) (*http.Request, *Info) {
	captureUsed.Store(true)
	info := new(Info)
	return r.WithContext(context.WithValue(r.Context(), captureKey{}, info)), info
}

func stateFrom(ctx context.Context) *requestState {
	if st, ok := ctx.(*requestState); ok {
		return st // the proxy's own request: no lookup
	}
	st, _ := ctx.Value(stateKey{}).(*requestState)
	return st
}
