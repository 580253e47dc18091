package discovery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultInterval is how often DNS is asked again when DNS.Interval is
// zero.
const DefaultInterval = 30 * time.Second

// DNS keeps a balancer's members equal to what DNS says: the targets of an
// SRV record, or the addresses of a name's A/AAAA records. Set the fields,
// then call Run. The fields must not change once Run or Refresh was
// called; Run, Refresh and Status are safe for concurrent use.
//
// # TTLs
//
// The standard library's resolver does not report a record's TTL, so the
// package cannot read it. DNS asks again every Interval instead, and Go's
// resolver keeps no cache of its own (the pure Go resolver asks the
// configured servers each time; a caching server on the way answers from
// its cache until the TTL runs out). An answer is therefore used for at
// most Interval plus the upstream cache's TTL: set Interval to the
// records' TTL, or lower, to respect it. Refresh asks at once, for a
// caller that learns of a change some other way.
//
// # Failures
//
// When a lookup fails, or succeeds with no records, the last good member
// list stays in force: a broken DNS server never empties a balancer. The
// failure is logged once when it starts (at warn) and once when it ends (at
// info), and shown by Status meanwhile.
type DNS struct {
	// Members applies what DNS returns. Members.Balancer is required.
	Members *MemberSet

	// SRV is the full name of an SRV record, for example
	// "_http._tcp.api.example.com". Each target becomes a member at the
	// record's port; the record's priority becomes the member's lbset
	// (ranked: the lowest priority is lbset 0, the next 1, ...) and its
	// weight the load factor (clamped to 1..100; weight 0 is 1). Either
	// SRV or Host is required.
	SRV string

	// ResolveTargets, with SRV, looks up the SRV targets' addresses with
	// Resolver too and makes a member per address; without it the member
	// URL names the target host, which the member's transport resolves
	// when it connects.
	ResolveTargets bool

	// Host is a name whose A and AAAA records give the members, at Port.
	// Used when SRV is empty.
	Host string
	Port int

	// Network restricts address lookups (Host, ResolveTargets): "ip" (the
	// default, both families), "ip4" or "ip6".
	Network string

	// Scheme is the members' URL scheme: "http" (the default) or "https".
	// Path, if set, is appended to each member URL ("/app").
	Scheme string
	Path   string

	// Resolver looks the names up. Nil means net.DefaultResolver.
	Resolver *net.Resolver

	// Interval is the time between two lookups. Zero means
	// DefaultInterval. See TTLs above.
	Interval time.Duration

	// Logger receives the changes (info) and failures (warn, once per
	// outage). Nil is silent.
	Logger *slog.Logger

	// OnRefresh, if set, is called after each lookup with its result, from
	// the goroutine that ran it and outside any lock.
	OnRefresh func(Result)

	mu     sync.Mutex // serialises refreshes; guards state
	state  Status
	failed bool
}

// Result is the outcome of one lookup.
type Result struct {
	// Targets is what DNS returned (nil when Err is set).
	Targets []Target
	// Diff is what changed in the balancer.
	Diff Diff
	// Err is the lookup or apply error; the last good list stays then.
	Err error
}

// Status is the state of a DNS source.
type Status struct {
	// Members are the normalised URLs of the last good answer.
	Members []string
	// LastSuccess is when DNS last answered usefully; zero if never.
	LastSuccess time.Time
	// Err is the error of the last lookup, nil if it succeeded;
	// FailingSince is when the current run of failures began.
	Err          error
	FailingSince time.Time
}

// Status returns the source's state.
func (d *DNS) Status() Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.state
	s.Members = slices.Clone(s.Members)
	return s
}

// Run looks the members up at once and then every Interval until ctx
// ends, and returns ctx's error. A configuration error (no SRV or Host, no
// Members) is returned at once.
func (d *DNS) Run(ctx context.Context) error {
	if err := d.check(); err != nil {
		return err
	}
	iv := d.Interval
	if iv <= 0 {
		iv = DefaultInterval
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		d.Refresh(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (d *DNS) check() error {
	if d.Members == nil || d.Members.Balancer == nil {
		return errors.New("discovery: DNS.Members.Balancer is required")
	}
	if d.SRV == "" && d.Host == "" {
		return errors.New("discovery: DNS needs SRV or Host")
	}
	if d.SRV == "" && (d.Port < 1 || d.Port > 65535) {
		return fmt.Errorf("discovery: DNS.Port %d: out of range 1..65535", d.Port)
	}
	switch d.Scheme {
	case "", "http", "https":
	default:
		return fmt.Errorf("discovery: DNS.Scheme %q: want http or https", d.Scheme)
	}
	switch d.Network {
	case "", "ip", "ip4", "ip6":
	default:
		return fmt.Errorf("discovery: DNS.Network %q: want ip, ip4 or ip6", d.Network)
	}
	return nil
}

// Refresh looks the members up once and applies the answer. It returns
// the Result also passed to OnRefresh.
func (d *DNS) Refresh(ctx context.Context) Result {
	var res Result
	if res.Err = d.check(); res.Err == nil {
		res.Targets, res.Err = d.lookup(ctx)
		if res.Err == nil && len(res.Targets) == 0 {
			res.Err = fmt.Errorf("discovery: %s: no records", d.name())
		}
	}
	if res.Err == nil {
		res.Diff, res.Err = d.Members.Apply(res.Targets)
	}
	d.mu.Lock()
	now := time.Now()
	wasFailing := d.failed
	if res.Err != nil {
		res.Targets = nil
		d.state.Err = res.Err
		if !d.failed {
			d.state.FailingSince = now
		}
		d.failed = true
	} else {
		ms := make([]string, len(res.Targets))
		for i, t := range res.Targets {
			ms[i], _ = Normalize(t.URL)
		}
		d.state = Status{Members: ms, LastSuccess: now}
		d.failed = false
	}
	d.mu.Unlock()
	if l := d.Logger; l != nil {
		switch {
		case res.Err != nil && !wasFailing:
			l.Warn("discovery: DNS lookup failed, keeping the last good member list", "name", d.name(), "err", res.Err)
		case res.Err == nil && wasFailing:
			l.Info("discovery: DNS lookup works again", "name", d.name())
		}
		if !res.Diff.Empty() {
			l.Info("discovery: members changed", "name", d.name(), "added", res.Diff.Added, "removed", res.Diff.Removed)
		}
	}
	if d.OnRefresh != nil {
		d.OnRefresh(res)
	}
	return res
}

func (d *DNS) name() string {
	if d.SRV != "" {
		return d.SRV
	}
	return d.Host
}

func (d *DNS) resolver() *net.Resolver {
	if d.Resolver != nil {
		return d.Resolver
	}
	return net.DefaultResolver
}

func (d *DNS) url(host string, port uint16) string {
	scheme := cmp.Or(d.Scheme, "http")
	return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(int(port))) + d.Path
}

// lookup asks DNS and returns the targets in a stable order.
func (d *DNS) lookup(ctx context.Context) ([]Target, error) {
	r := d.resolver()
	if d.SRV == "" {
		ips, err := d.addrs(ctx, d.Host)
		if err != nil {
			return nil, err
		}
		ts := make([]Target, len(ips))
		for i, ip := range ips {
			ts[i] = Target{URL: d.url(ip, uint16(d.Port))}
		}
		return ts, nil
	}
	_, srvs, err := r.LookupSRV(ctx, "", "", d.SRV)
	if err != nil {
		return nil, err
	}
	// Priorities ranked into lbsets 0, 1, ... (Apache allows 0..99).
	var prios []uint16
	for _, s := range srvs {
		if !slices.Contains(prios, s.Priority) {
			prios = append(prios, s.Priority)
		}
	}
	slices.Sort(prios)
	if len(prios) > 100 {
		return nil, fmt.Errorf("discovery: %s: %d distinct SRV priorities, at most 100 lbsets", d.SRV, len(prios))
	}
	var ts []Target
	for _, s := range srvs {
		host := strings.TrimSuffix(s.Target, ".")
		if host == "" {
			continue // "." : the service is decidedly not available
		}
		t := Target{
			LBSet:      slices.Index(prios, s.Priority),
			LoadFactor: float64(min(max(s.Weight, 1), 100)),
			HasWeight:  true,
		}
		if !d.ResolveTargets {
			t.URL = d.url(host, s.Port)
			ts = append(ts, t)
			continue
		}
		ips, err := d.addrs(ctx, host)
		if err != nil {
			return nil, err
		}
		for _, ip := range ips {
			t.URL = d.url(ip, s.Port)
			ts = append(ts, t)
		}
	}
	// LookupSRV sorts by priority and shuffles by weight: sort again so
	// that an unchanged answer is an unchanged list.
	slices.SortStableFunc(ts, func(a, b Target) int {
		return cmp.Or(cmp.Compare(a.LBSet, b.LBSet), strings.Compare(a.URL, b.URL))
	})
	ts = slices.CompactFunc(ts, func(a, b Target) bool { return a.URL == b.URL })
	return ts, nil
}

// addrs returns host's addresses, sorted.
func (d *DNS) addrs(ctx context.Context, host string) ([]string, error) {
	ips, err := d.resolver().LookupNetIP(ctx, cmp.Or(d.Network, "ip"), host)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ips))
	for _, ip := range ips {
		s := ip.Unmap().String()
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out, nil
}
