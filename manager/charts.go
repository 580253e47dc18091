package manager

import (
	"context"
	"math"
	"net/http"
	"sync"
	"time"
)

// Defaults of the charts' sampling.
const (
	DefaultSampleInterval = 2 * time.Second
	DefaultHistory        = 5 * time.Minute
	minSampleInterval     = 100 * time.Millisecond

	// MaxChartMembers is how many members of a balancer the charts follow:
	// the first in configuration order. More lines would not be readable,
	// and a balancer of thousands of members would cost a sample of each.
	MaxChartMembers = 64
)

// sampler keeps recent samples of every member's counters, for the page's
// live charts: requests and errors per second and latency. It samples
// when [Manager.Run] ticks, or lazily when the charts are read, at most
// once per interval. It starts no goroutine of its own.
type sampler struct {
	interval time.Duration
	keep     int // samples kept: history / interval, + 1 for the first rate

	mu      sync.Mutex
	samples []sample // oldest first
}

// sample is every member's counters at one instant, by balancer name and
// member URL.
type sample struct {
	at     time.Time
	counts map[string]map[string]counts
}

type counts struct {
	elected, errors int64
	latency         time.Duration
}

func newSampler(interval, history time.Duration) *sampler {
	if interval <= 0 {
		interval = DefaultSampleInterval
	}
	interval = max(interval, minSampleInterval)
	if history <= 0 {
		history = DefaultHistory
	}
	return &sampler{interval: interval, keep: int(history/interval) + 1}
}

// take samples bs at now, unless the last sample is less than an interval
// old and force is false. It reads the members without holding the
// sampler's lock.
func (s *sampler) take(now time.Time, bs []*managed, force bool) {
	s.mu.Lock()
	due := force || len(s.samples) == 0 || now.Sub(s.samples[len(s.samples)-1].at) >= s.interval
	s.mu.Unlock()
	if !due {
		return
	}
	smp := sample{at: now, counts: make(map[string]map[string]counts, len(bs))}
	for _, m := range bs {
		ms := m.b.Members()
		ms = ms[:min(len(ms), MaxChartMembers)]
		c := make(map[string]counts, len(ms))
		for _, st := range ms {
			c[st.URL] = counts{elected: st.Elected, errors: st.Errors, latency: st.Latency}
		}
		smp.counts[m.b.Name()] = c
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.samples); n > 0 && !now.After(s.samples[n-1].at) {
		return // a concurrent sample of the same instant or later won
	}
	s.samples = append(s.samples, smp)
	if over := len(s.samples) - s.keep; over > 0 {
		s.samples = append(s.samples[:0:0], s.samples[over:]...)
	}
}

// Run samples the members' counters for the charts every SampleInterval
// until ctx ends, then returns ctx's error. Without Run the charts are
// sampled only while someone reads them (the page polls), so they start
// empty; with it they always show the last History. One Run per Manager
// at a time is enough; more do no harm.
func (mg *Manager) Run(ctx context.Context) error {
	t := time.NewTicker(mg.charts.interval)
	defer t.Stop()
	mg.charts.take(mg.now(), mg.balancers(), true)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			mg.charts.take(mg.now(), mg.balancers(), true)
		}
	}
}

// The JSON document of GET ?charts: per member, one point per sample
// interval, oldest first. See docs/manager.md.
type chartsDoc struct {
	IntervalMs int64            `json:"intervalMs"`
	HistoryMs  int64            `json:"historyMs"`
	Now        int64            `json:"now"` // Unix milliseconds
	Balancers  []chartsBalancer `json:"balancers"`
}

type chartsBalancer struct {
	Name    string         `json:"name"`
	Members []chartsMember `json:"members"`
}

type chartsMember struct {
	URL    string        `json:"url"`
	Points []chartsPoint `json:"points"`
}

// chartsPoint is one interval: the rates between two samples, and the
// latency average at the later one.
type chartsPoint struct {
	T         int64   `json:"t"`         // Unix milliseconds, the interval's end
	Requests  float64 `json:"requests"`  // requests elected per second
	Errors    float64 `json:"errors"`    // errors per second
	LatencyMs float64 `json:"latencyMs"` // moving average of the time to response headers
}

// doc computes the charts of bs from the samples.
func (s *sampler) doc(now time.Time, bs []*managed) chartsDoc {
	s.mu.Lock()
	samples := s.samples
	s.mu.Unlock()
	d := chartsDoc{
		IntervalMs: s.interval.Milliseconds(),
		HistoryMs:  (time.Duration(s.keep-1) * s.interval).Milliseconds(),
		Now:        now.UnixMilli(),
		Balancers:  []chartsBalancer{},
	}
	for _, m := range bs {
		name := m.b.Name()
		cb := chartsBalancer{Name: name, Members: []chartsMember{}}
		members := m.b.Members()
		for _, ms := range members[:min(len(members), MaxChartMembers)] {
			cm := chartsMember{URL: ms.URL, Points: []chartsPoint{}}
			for i := 1; i < len(samples); i++ {
				prev, ok1 := samples[i-1].counts[name][ms.URL]
				cur, ok2 := samples[i].counts[name][ms.URL]
				if !ok1 || !ok2 {
					continue // the member was not there
				}
				dt := samples[i].at.Sub(samples[i-1].at).Seconds()
				if dt <= 0 {
					continue
				}
				cm.Points = append(cm.Points, chartsPoint{
					T:         samples[i].at.UnixMilli(),
					Requests:  rate(cur.elected-prev.elected, dt),
					Errors:    rate(cur.errors-prev.errors, dt),
					LatencyMs: round3(float64(cur.latency) / float64(time.Millisecond)),
				})
			}
			cb.Members = append(cb.Members, cm)
		}
		d.Balancers = append(d.Balancers, cb)
	}
	return d
}

// rate is n per dt seconds; a counter that went back (the member was
// removed and added again) counts from zero.
func rate(n int64, dt float64) float64 {
	if n < 0 {
		return 0
	}
	return round3(float64(n) / dt)
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// writeCharts answers GET ?charts, sampling first if a sample is due.
func (mg *Manager) writeCharts(w http.ResponseWriter) {
	bs := mg.balancers()
	now := mg.now()
	mg.charts.take(now, bs, false)
	mgrWriteJSON(w, http.StatusOK, mg.charts.doc(now, bs))
}
