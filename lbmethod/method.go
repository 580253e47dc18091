package lbmethod

import (
	"fmt"
	"strings"
)

// Method is a load-balancing method: a name and a factory of schedulers.
// A balancer calls New once when it starts with the method (and again only
// when its configuration changes to a different Method, compared with ==)
// and owns the [Scheduler] it gets, so one Method value may configure any
// number of balancers at once. A Method should be comparable (a pointer,
// or a struct of comparable fields, as the built-in ones are): one that is
// not equals nothing, so every configuration change gives the balancer a
// new scheduler.
//
// Name is Apache's lbmethod name for Apache's methods. Two Methods with the
// same name are taken to be the same method: a balancer whose method
// changes to one of the same name keeps the members' scheduler state, and
// one whose method changes name resets it, as Apache does when the
// balancer-manager changes lbmethod.
//
// The built-in methods are [MethodByRequests], [MethodByBusyness],
// [MethodByTraffic], [MethodLatency] and [MethodHeartbeat]; [MethodFunc]
// makes a Method of any Scheduler, on the same footing.
type Method interface {
	// Name returns the method's name, e.g. "byrequests".
	Name() string
	// New returns a new scheduler, used by one balancer only. It must not
	// return nil.
	New() Scheduler
}

// funcMethod is the Method MethodFunc returns.
type funcMethod struct {
	name string
	new  func() Scheduler
}

func (m *funcMethod) Name() string   { return m.name }
func (m *funcMethod) New() Scheduler { return m.new() }

// MethodFunc returns a Method named name whose New calls newScheduler.
// Each call returns a distinct Method: reuse the value to configure
// several balancers with one method.
//
//	var leastRecent = lbmethod.MethodFunc("leastrecent", func() lbmethod.Scheduler { return &myScheduler{} })
func MethodFunc(name string, newScheduler func() Scheduler) Method {
	return &funcMethod{name: name, new: newScheduler}
}

// The built-in methods. They are the values [ByName] returns.
var (
	// MethodByRequests is Apache's byrequests: weighted request counting
	// ([ByRequests]). A nil Config.Method means this method.
	// Its schedulers keep the credits for the candidate lists the balancer
	// names ([ListScheduler]), so a pick does not touch every member.
	MethodByRequests = MethodFunc("byrequests", func() Scheduler { return &listedByRequests{} })
	// MethodByBusyness is Apache's bybusyness: fewest requests in flight
	// for the weight ([ByBusyness]).
	MethodByBusyness = MethodFunc("bybusyness", func() Scheduler { return NewByBusyness() })
	// MethodByTraffic is Apache's bytraffic: weighted byte counting
	// ([ByTraffic]).
	MethodByTraffic = MethodFunc("bytraffic", func() Scheduler { return NewByTraffic() })
	// MethodLatency is the peak-EWMA latency method Apache lacks
	// ([Latency], default settings).
	MethodLatency = MethodFunc("latency", func() Scheduler { return NewLatency() })
)

// heartbeatMethod is the Method MethodHeartbeat returns; it is comparable,
// so two methods reading the same table are equal.
type heartbeatMethod struct{ table *HeartbeatTable }

func (heartbeatMethod) Name() string     { return "heartbeat" }
func (h heartbeatMethod) New() Scheduler { return NewHeartbeat(h.table) }

// MethodHeartbeat returns Apache's heartbeat method ([Heartbeat]) reading
// the servers' reports from table. Methods reading the same table are
// equal (==).
func MethodHeartbeat(table *HeartbeatTable) Method { return heartbeatMethod{table} }

// ByName returns the method with an Apache lbmethod name (case-insensitive):
// "byrequests", "bybusyness", "bytraffic", or one of the methods beyond
// Apache: "latency", "hash" (consistent hashing of the client's IP address
// with bounded loads, [MethodHash] with the zero [HashConfig]). The heartbeat method needs a source of reports and is
// made with [MethodHeartbeat]; ByName("heartbeat") returns an error saying
// so.
func ByName(name string) (Method, error) {
	switch strings.ToLower(name) {
	case "byrequests":
		return MethodByRequests, nil
	case "bybusyness":
		return MethodByBusyness, nil
	case "bytraffic":
		return MethodByTraffic, nil
	case "latency":
		return MethodLatency, nil
	case "hash":
		return hashMethod{}, nil
	case "heartbeat":
		return nil, fmt.Errorf("lbmethod: method %q needs a report table: make it with MethodHeartbeat", name)
	}
	return nil, fmt.Errorf("lbmethod: unknown method %q", name)
}
