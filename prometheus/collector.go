// Package prometheus exports balancers' state and events as Prometheus
// metrics, on the official client (github.com/prometheus/client_golang).
// It is its own Go module, so the balancer itself needs nothing of
// Prometheus.
//
//	c := prometheus.New(prometheus.Options{})
//	cfg := balancer.Config{Name: "app", Members: members}
//	c.Instrument(&cfg) // the events: latency, sticky hits, retries, 503s
//	b, err := balancer.New(cfg)
//	c.Add(b)           // the members' state, read at each scrape
//	reg.MustRegister(c)
//
// # Metrics
//
// Every series has the label balancer (balancer://name); member series
// also member (the member's normalised URL).
//
// Read from [balancer.Balancer.Members] at each scrape:
//
//	balancer_member_usable                       gauge    1 if the member may receive requests
//	balancer_member_status{flag}                 gauge    1 for each status flag set (init, disabled, error, ...)
//	balancer_member_busy                         gauge    requests in flight
//	balancer_member_load_factor                  gauge    the member's load factor (1-100)
//	balancer_member_healthy                      gauge    1 if its health checks pass (only while they run)
//	balancer_member_elected_total                counter  times chosen
//	balancer_member_errors_total                 counter  times put into error state
//	balancer_member_sent_bytes_total             counter  bytes sent to it (request line, headers, body)
//	balancer_member_received_bytes_total         counter  bytes received from it (status line, body)
//
// Counted from the balancer's events (see [Collector.Instrument]):
//
//	balancer_member_request_duration_seconds  histogram  time from a request's arrival to its end, by the member that answered
//	balancer_requests_total{code}             counter    requests, by the status the client got
//	balancer_sticky_hits_total                counter    members chosen because they own the request's route
//	balancer_route_changes_total              counter    requests with BALANCER_ROUTE_CHANGED set
//	balancer_retries_total{kind}              counter    attempts tried again: kind="failover" (nothing sent) or "retry" (sent, idempotent)
//	balancer_unavailable_total                counter    requests answered 503 by the balancer itself: no usable member, none left to fail over to
//
// The member counters come from the balancer's own counters, which start
// at zero for a member added by Update and vanish with a removed member,
// as Prometheus expects of counters. Series counted from events for a
// removed member stay until the process restarts.
package prometheus

import (
	"errors"
	"strconv"
	"sync"

	prom "github.com/prometheus/client_golang/prometheus"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/internal/observechain"
)

// Options configures [New]. The zero value is ready to use.
type Options struct {
	// Buckets are the upper bounds of the latency histogram, in seconds;
	// nil means prometheus.DefBuckets.
	Buckets []float64
	// ConstLabels are added to every series (e.g. the instance's role).
	ConstLabels prom.Labels
}

// Collector is a prometheus.Collector for balancers. Create it with
// [New], feed it events with [Collector.Instrument] and members with
// [Collector.Add], and register it once. It is safe for concurrent use.
type Collector struct {
	mu        sync.Mutex
	balancers []*balancer.Balancer

	usable, status, busy, factor, healthy *prom.Desc
	elected, errors, sent, received       *prom.Desc

	latency     *prom.HistogramVec
	requests    *prom.CounterVec
	sticky      *prom.CounterVec
	changes     *prom.CounterVec
	retries     *prom.CounterVec
	unavailable *prom.CounterVec

	observer balancer.Observer
}

var _ prom.Collector = (*Collector)(nil)

// New returns a Collector configured by o.
func New(o Options) *Collector {
	member := []string{"balancer", "member"}
	desc := func(name, help string, labels ...string) *prom.Desc {
		return prom.NewDesc(name, help, append(member[:2:2], labels...), o.ConstLabels)
	}
	buckets := o.Buckets
	if buckets == nil {
		buckets = prom.DefBuckets
	}
	c := &Collector{
		usable:   desc("balancer_member_usable", "1 if the member may receive requests (Init set; none of Shutdown, Disabled, Stopped, Error, HealthCheckFailed)."),
		status:   desc("balancer_member_status", "1 for each status flag set on the member.", "flag"),
		busy:     desc("balancer_member_busy", "Requests in flight to the member."),
		factor:   desc("balancer_member_load_factor", "The member's load factor (1-100)."),
		healthy:  desc("balancer_member_healthy", "1 if the member passes its health checks; present while health checks run."),
		elected:  desc("balancer_member_elected_total", "Times the member was chosen for an attempt."),
		errors:   desc("balancer_member_errors_total", "Times the member was put into error state."),
		sent:     desc("balancer_member_sent_bytes_total", "Bytes sent to the member: request lines, headers and bodies."),
		received: desc("balancer_member_received_bytes_total", "Bytes received from the member: status lines and bodies."),
		latency: prom.NewHistogramVec(prom.HistogramOpts{
			Name:    "balancer_member_request_duration_seconds",
			Help:    "Time from a request's arrival to its end, by the member that answered it.",
			Buckets: buckets, ConstLabels: o.ConstLabels,
		}, member),
		requests: prom.NewCounterVec(prom.CounterOpts{
			Name: "balancer_requests_total", Help: "Requests through the balancer, by the status the client got.",
			ConstLabels: o.ConstLabels,
		}, []string{"balancer", "code"}),
		sticky: prom.NewCounterVec(prom.CounterOpts{
			Name: "balancer_sticky_hits_total", Help: "Members chosen because they own the request's sticky route.",
			ConstLabels: o.ConstLabels,
		}, []string{"balancer"}),
		changes: prom.NewCounterVec(prom.CounterOpts{
			Name: "balancer_route_changes_total", Help: "Requests with BALANCER_ROUTE_CHANGED set: no usable route, or a redirected one.",
			ConstLabels: o.ConstLabels,
		}, []string{"balancer"}),
		retries: prom.NewCounterVec(prom.CounterOpts{
			Name: "balancer_retries_total", Help: "Failed attempts tried again on another member: failover (nothing was sent) or retry (sent, idempotent).",
			ConstLabels: o.ConstLabels,
		}, []string{"balancer", "kind"}),
		unavailable: prom.NewCounterVec(prom.CounterOpts{
			Name: "balancer_unavailable_total", Help: "Requests answered 503 by the balancer itself: no usable member, or none left to fail over to.",
			ConstLabels: o.ConstLabels,
		}, []string{"balancer"}),
	}
	c.observer = balancer.Observer{Picked: c.picked, Retried: c.retried, Done: c.done}
	return c
}

// Instrument makes the balancer built from cfg feed the event metrics: it
// sets cfg.Observer to one that counts and then calls the Observer cfg
// had. Call it before balancer.New.
func (c *Collector) Instrument(cfg *balancer.Config) {
	cfg.Observer = observechain.Chain(&c.observer, cfg.Observer)
}

// Observer returns the Observer that feeds the event metrics, for a
// configuration that combines observers itself.
func (c *Collector) Observer() *balancer.Observer {
	o := c.observer
	return &o
}

// Add makes each scrape read b's members. Adding a balancer twice has no
// further effect.
func (c *Collector) Add(b *balancer.Balancer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, x := range c.balancers {
		if x == b {
			return
		}
	}
	c.balancers = append(c.balancers, b)
}

// Remove stops reading b's members; its event series stay.
func (c *Collector) Remove(b *balancer.Balancer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.balancers {
		if x == b {
			c.balancers = append(c.balancers[:i], c.balancers[i+1:]...)
			return
		}
	}
}

// Describe sends the descriptions of every metric.
func (c *Collector) Describe(ch chan<- *prom.Desc) {
	for _, d := range []*prom.Desc{c.usable, c.status, c.busy, c.factor, c.healthy, c.elected, c.errors, c.sent, c.received} {
		ch <- d
	}
	c.latency.Describe(ch)
	c.requests.Describe(ch)
	c.sticky.Describe(ch)
	c.changes.Describe(ch)
	c.retries.Describe(ch)
	c.unavailable.Describe(ch)
}

// flags are the status flags exported, by label value.
var flags = []struct {
	name string
	flag balancer.Status
}{
	{"init", balancer.StatusInit},
	{"ignore_errors", balancer.StatusIgnoreErrors},
	{"drain", balancer.StatusDrain},
	{"disabled", balancer.StatusDisabled},
	{"stopped", balancer.StatusStopped},
	{"error", balancer.StatusError},
	{"standby", balancer.StatusStandby},
	{"spare", balancer.StatusSpare},
	{"health_check_failed", balancer.StatusHCFailed},
	{"ejected", balancer.StatusEjected},
}

// Collect reads every added balancer's members, and sends them with the
// event metrics.
func (c *Collector) Collect(ch chan<- prom.Metric) {
	c.mu.Lock()
	bs := append([]*balancer.Balancer(nil), c.balancers...)
	c.mu.Unlock()
	gauge := func(d *prom.Desc, v float64, labels ...string) {
		ch <- prom.MustNewConstMetric(d, prom.GaugeValue, v, labels...)
	}
	counter := func(d *prom.Desc, v int64, labels ...string) {
		ch <- prom.MustNewConstMetric(d, prom.CounterValue, float64(v), labels...)
	}
	for _, b := range bs {
		name := b.Name()
		for _, m := range b.Members() {
			gauge(c.usable, bit(m.Status.Usable()), name, m.URL)
			for _, f := range flags {
				gauge(c.status, bit(m.Status.Has(f.flag)), name, m.URL, f.name)
			}
			gauge(c.busy, float64(m.Busy), name, m.URL)
			gauge(c.factor, m.LoadFactor, name, m.URL)
			if m.HealthKnown {
				gauge(c.healthy, bit(m.Status&balancer.StatusHCFailed == 0), name, m.URL)
			}
			counter(c.elected, m.Elected, name, m.URL)
			counter(c.errors, m.Errors, name, m.URL)
			counter(c.sent, m.Transferred, name, m.URL)
			counter(c.received, m.Read, name, m.URL)
		}
	}
	c.latency.Collect(ch)
	c.requests.Collect(ch)
	c.sticky.Collect(ch)
	c.changes.Collect(ch)
	c.retries.Collect(ch)
	c.unavailable.Collect(ch)
}

func bit(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (c *Collector) picked(ev balancer.PickEvent) {
	if ev.Reason == balancer.ReasonSticky {
		c.sticky.WithLabelValues(ev.Balancer).Inc()
	}
}

func (c *Collector) retried(ev balancer.RetryEvent) {
	kind := "failover"
	if ev.Sent {
		kind = "retry"
	}
	c.retries.WithLabelValues(ev.Balancer, kind).Inc()
}

func (c *Collector) done(ev balancer.DoneEvent) {
	c.requests.WithLabelValues(ev.Balancer, strconv.Itoa(ev.Status)).Inc()
	if ev.Info.RouteChanged {
		c.changes.WithLabelValues(ev.Balancer).Inc()
	}
	if errors.Is(ev.Err, balancer.ErrNoMember) {
		c.unavailable.WithLabelValues(ev.Balancer).Inc()
	}
	if ev.Member == "" {
		return
	}
	c.latency.WithLabelValues(ev.Balancer, ev.Member).Observe(ev.Latency.Seconds())
}
