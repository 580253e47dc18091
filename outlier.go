package balancer

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// OutlierDetection configures passive outlier detection, Envoy's model as
// it documents it: a member whose answers show it failing is ejected
// (flag [StatusEjected], unusable) for a while, without any health check.
// Zero values mean Envoy's defaults. Client cancellations never count.
//
// A member is ejected after Consecutive5xx answers of status 500..599 in
// a row (a connection that could not be made or was lost counts as one),
// after ConsecutiveGatewayFailure answers of 502, 503 or 504 or such
// connection failures in a row, or, with SuccessRate, when at the end of
// an Interval its share of successful answers is more than
// SuccessRateStdevFactor standard deviations below the mean of the
// members. An ejection lasts BaseEjectionTime times the number of times
// the member was ejected (at most MaxEjectionTime); that number goes down
// by one for each Interval the member spends back in use. At most
// MaxEjectionPercent of the members (at least one) are ejected at once.
//
// Ejections end when a request arrives after their time; no goroutine
// runs. A value is read when a configuration is applied; it is not kept.
type OutlierDetection struct {
	// Consecutive5xx ejects after this many 5xx answers or connection
	// failures in a row: zero means 5, a negative value never.
	Consecutive5xx int
	// ConsecutiveGatewayFailure ejects after this many 502, 503 or 504
	// answers or connection failures in a row: zero or negative means
	// never (Envoy enforces it never by default).
	ConsecutiveGatewayFailure int
	// BaseEjectionTime is the first ejection's length: zero means 30 s.
	BaseEjectionTime time.Duration
	// MaxEjectionTime caps an ejection's length: zero means 300 s or
	// BaseEjectionTime if that is more.
	MaxEjectionTime time.Duration
	// MaxEjectionPercent is the most members, in percent, ejected at
	// once, 0..100; zero means 10. At least one member may be ejected.
	MaxEjectionPercent int
	// Interval is how often success rates are compared, and how long a
	// member must stay in use to take one ejection off its count: zero
	// means 10 s.
	Interval time.Duration
	// SuccessRate turns on the success-rate check.
	SuccessRate bool
	// SuccessRateMinimumHosts is how many members must have had
	// SuccessRateRequestVolume answers in the interval for the check to
	// run: zero means 5.
	SuccessRateMinimumHosts int
	// SuccessRateRequestVolume: zero means 100.
	SuccessRateRequestVolume int
	// SuccessRateStdevFactor: zero means 1.9.
	SuccessRateStdevFactor float64
}

// outlierConfig is a validated OutlierDetection with its defaults.
type outlierConfig struct {
	consec5xx, consecGW int
	base, max, interval time.Duration
	maxPercent          int
	successRate         bool
	srHosts, srVolume   int
	srFactor            float64
}

func newOutlierConfig(o *OutlierDetection) (*outlierConfig, error) {
	if o == nil {
		return nil, nil
	}
	c := &outlierConfig{
		consec5xx: o.Consecutive5xx, consecGW: o.ConsecutiveGatewayFailure,
		base: o.BaseEjectionTime, max: o.MaxEjectionTime, interval: o.Interval,
		maxPercent: o.MaxEjectionPercent, successRate: o.SuccessRate,
		srHosts: o.SuccessRateMinimumHosts, srVolume: o.SuccessRateRequestVolume, srFactor: o.SuccessRateStdevFactor,
	}
	switch {
	case o.BaseEjectionTime < 0:
		return nil, fmt.Errorf("balancer: outlier.baseejectiontime %v: must be >= 0", o.BaseEjectionTime)
	case o.MaxEjectionTime < 0:
		return nil, fmt.Errorf("balancer: outlier.maxejectiontime %v: must be >= 0", o.MaxEjectionTime)
	case o.Interval < 0:
		return nil, fmt.Errorf("balancer: outlier.interval %v: must be >= 0", o.Interval)
	case o.MaxEjectionPercent < 0 || o.MaxEjectionPercent > 100:
		return nil, fmt.Errorf("balancer: outlier.maxejectionpercent %d: out of range 0..100", o.MaxEjectionPercent)
	case o.SuccessRateMinimumHosts < 0:
		return nil, fmt.Errorf("balancer: outlier.successrateminimumhosts %d: must be >= 0", o.SuccessRateMinimumHosts)
	case o.SuccessRateRequestVolume < 0:
		return nil, fmt.Errorf("balancer: outlier.successraterequestvolume %d: must be >= 0", o.SuccessRateRequestVolume)
	case o.SuccessRateStdevFactor < 0 || math.IsNaN(o.SuccessRateStdevFactor):
		return nil, fmt.Errorf("balancer: outlier.successratestdevfactor %v: must be >= 0", o.SuccessRateStdevFactor)
	}
	if c.consec5xx == 0 {
		c.consec5xx = 5
	}
	if c.base == 0 {
		c.base = 30 * time.Second
	}
	if c.max == 0 {
		c.max = max(300*time.Second, c.base)
	}
	if c.interval == 0 {
		c.interval = 10 * time.Second
	}
	if c.maxPercent == 0 {
		c.maxPercent = 10
	}
	if c.srHosts == 0 {
		c.srHosts = 5
	}
	if c.srVolume == 0 {
		c.srVolume = 100
	}
	if c.srFactor == 0 {
		c.srFactor = 1.9
	}
	return c, nil
}

// outlierMember is a member's outlier state, guarded by mu (held for
// arithmetic only).
type outlierMember struct {
	mu            sync.Mutex
	consec5xx     int
	consecGW      int
	ok, total     int64     // answers in the current interval
	ejected       bool      // StatusEjected set (or being set) by detection
	until         time.Time // when the ejection ends
	multiplier    int       // ejections not yet forgiven
	back          time.Time // when the last ejection ended
	ejections     atomic.Int64
	ejectedUntilN atomic.Int64 // until, Unix ns, for Members(); 0 = not ejected
}

// outlierRun is the balancer's outlier bookkeeping.
type outlierRun struct {
	mu       sync.Mutex // serialises ejections and their ends
	next     atomic.Int64
	interval time.Time // start of the current success-rate interval
}

// outlierConfigured starts the success-rate interval of a configuration
// that has one.
func (b *Balancer) outlierConfigured(s *snapshot) {
	if s.outlier == nil || !s.outlier.successRate {
		return
	}
	now := b.now()
	b.out.mu.Lock()
	if b.out.interval.IsZero() {
		b.out.interval = now
	}
	end := b.out.interval.Add(s.outlier.interval).UnixNano()
	if n := b.out.next.Load(); n == 0 || end < n {
		b.out.next.Store(end)
	}
	b.out.mu.Unlock()
}

// outlierRecord counts one attempt's outcome at m: an answer's status, or
// a failure to get one (failed). The caller has made sure the client did
// not cancel.
func (b *Balancer) outlierRecord(s *snapshot, m *member, status int, failed bool) {
	oc := s.outlier
	if oc == nil {
		return
	}
	bad := failed || status >= 500
	gw := failed || status == 502 || status == 503 || status == 504
	o := &m.out
	o.mu.Lock()
	o.total++
	if bad {
		o.consec5xx++
	} else {
		o.ok++
		o.consec5xx = 0
	}
	if gw {
		o.consecGW++
	} else {
		o.consecGW = 0
	}
	var why string
	switch {
	case o.ejected:
	case oc.consec5xx > 0 && o.consec5xx >= oc.consec5xx:
		why = fmt.Sprintf("outlier: %d consecutive 5xx or connection failures", o.consec5xx)
	case oc.consecGW > 0 && o.consecGW >= oc.consecGW:
		why = fmt.Sprintf("outlier: %d consecutive gateway failures", o.consecGW)
	}
	o.mu.Unlock()
	if why != "" {
		now := b.now()
		if b.eject(s, m, now) {
			m.change(StatusEjected, 0, why)
		}
	}
}

// eject marks m ejected if the share of ejected members allows it, and
// reports whether it did; the caller sets the flag (outside any lock).
func (b *Balancer) eject(s *snapshot, m *member, now time.Time) bool {
	oc := s.outlier
	b.out.mu.Lock()
	defer b.out.mu.Unlock()
	ejected := 0
	for _, o := range s.members {
		o.out.mu.Lock()
		if o.out.ejected {
			ejected++
		}
		o.out.mu.Unlock()
	}
	if ejected >= max(1, len(s.members)*oc.maxPercent/100) {
		return false
	}
	o := &m.out
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ejected {
		return false
	}
	if !o.back.IsZero() && oc.interval > 0 {
		o.multiplier -= int(now.Sub(o.back) / oc.interval)
		o.multiplier = max(o.multiplier, 0)
	}
	o.multiplier++
	d := oc.base * time.Duration(o.multiplier)
	if d > oc.max || d <= 0 {
		d = oc.max
	}
	o.ejected, o.until = true, now.Add(d)
	o.consec5xx, o.consecGW = 0, 0
	o.ejections.Add(1)
	o.ejectedUntilN.Store(o.until.UnixNano())
	if n := b.out.next.Load(); n == 0 || o.until.UnixNano() < n {
		b.out.next.Store(o.until.UnixNano())
	}
	return true
}

// outlierTick ends the ejections that are due and, with SuccessRate, runs
// the check at the end of each interval. It costs one atomic load until
// something is due.
func (b *Balancer) outlierTick(s *snapshot) {
	n := b.out.next.Load()
	if n == 0 {
		return // nothing ejected, no interval running
	}
	now := b.now()
	if s.outlier != nil && now.UnixNano() < n {
		return
	}
	var back, out []*member
	b.out.mu.Lock()
	oc := s.outlier
	next := int64(0)
	later := func(t time.Time) {
		if u := t.UnixNano(); next == 0 || u < next {
			next = u
		}
	}
	for _, m := range s.members {
		o := &m.out
		o.mu.Lock()
		if o.ejected && (oc == nil || !now.Before(o.until)) {
			o.ejected, o.back = false, now
			o.ejectedUntilN.Store(0)
			back = append(back, m)
		} else if o.ejected {
			later(o.until)
		}
		o.mu.Unlock()
	}
	if oc != nil && oc.successRate {
		if b.out.interval.IsZero() {
			b.out.interval = now
		}
		if end := b.out.interval.Add(oc.interval); !now.Before(end) {
			out = b.successRateOutliers(s, oc)
			b.out.interval = now
		}
		later(b.out.interval.Add(oc.interval))
	}
	b.out.next.Store(next)
	b.out.mu.Unlock()
	for _, m := range back {
		m.change(0, StatusEjected, "outlier ejection ended")
	}
	for _, m := range out {
		if b.eject(s, m, now) {
			m.change(StatusEjected, 0, "outlier: success rate below the others'")
		}
	}
}

// successRateOutliers returns the members whose success rate in the
// interval ended is below mean − factor × stdev, when enough members had
// enough answers, and starts a new interval. Called with b.out.mu held.
func (b *Balancer) successRateOutliers(s *snapshot, oc *outlierConfig) []*member {
	type rate struct {
		m *member
		r float64
	}
	var rates []rate
	for _, m := range s.members {
		o := &m.out
		o.mu.Lock()
		if !o.ejected && o.total >= int64(oc.srVolume) {
			rates = append(rates, rate{m, float64(o.ok) / float64(o.total)})
		}
		o.ok, o.total = 0, 0
		o.mu.Unlock()
	}
	if len(rates) < oc.srHosts {
		return nil
	}
	var sum float64
	for _, r := range rates {
		sum += r.r
	}
	mean := sum / float64(len(rates))
	var v float64
	for _, r := range rates {
		v += (r.r - mean) * (r.r - mean)
	}
	limit := mean - oc.srFactor*math.Sqrt(v/float64(len(rates)))
	var out []*member
	for _, r := range rates {
		if r.r < limit {
			out = append(out, r.m)
		}
	}
	return out
}
