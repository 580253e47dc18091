package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/proxybalancer/balancer"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Source is the [balancer.Change] Source of the edits a Fleet applies: the
// fleet's state at Load, and the edits published by replicas. Who names
// the replica and the edit's own source and author ("gw2:
// balancer-manager alice 10.0.0.7"), When is when it was made there, and
// Version is its etcd revision. A Fleet publishes every change except its
// own.
const Source = "etcd fleet"

// DefaultPrefix is the key prefix when Fleet.Prefix is empty.
const DefaultPrefix = "/proxybalancer/fleet/"

// Fleet keeps balancers in step with the other replicas of a fleet. Set
// the fields, call Load before serving, then Run until shutdown. The
// fields must not change after Load. Load, Run, Status, History and Synced
// are safe for concurrent use.
type Fleet struct {
	// Client is the etcd client. Required.
	Client *clientv3.Client

	// Prefix is where the fleet's keys live; the same on every replica.
	// Empty means DefaultPrefix.
	Prefix string

	// Replica names this gateway in the edits it publishes. Empty means
	// "<hostname>:<pid>".
	Replica string

	// Balancers are the balancers shared, matched across replicas by name.
	// Required.
	Balancers []*balancer.Balancer

	// Logger receives the outages of etcd (warn, once; info when it
	// ends), edits that could not be applied (error) and the edits applied
	// (debug). Nil is silent.
	Logger *slog.Logger

	// HistorySize is how many edits History keeps; zero means 1000.
	HistorySize int

	// ProbeInterval is how often Run checks that etcd answers, while
	// nothing else talks to it; zero means one second.
	ProbeInterval time.Duration

	// OutageAfter is how long etcd must go without answering before the
	// replica declares an outage (logs it and shows it in Status): a
	// request that fails while etcd answered within this window, as a
	// watch re-established after a restart may, is retried without
	// declaring a new outage. Zero means three probe intervals.
	OutageAfter time.Duration

	// ShareHealth opts into sharing health-check results between the
	// replicas (see "Shared health checks" in the package documentation).
	// Each replica publishes its own checks' pass or fail verdict for the
	// members it checks, under a lease of HealthTTL; a replica marks a
	// member it does not check itself health-check-failed (C) while at
	// least one live replica reports it failed and no more report it
	// passing. Members a replica checks itself follow its own checks only.
	// Build the balancers of replicas that run checks from configurations
	// passed through [Fleet.Observe]. False, the default, keeps health
	// checks and error state per replica: nothing is shared.
	ShareHealth bool

	// HealthTTL is how long a replica's health report outlives the
	// replica (its etcd lease, in whole seconds, rounded up), and how long
	// a replica that etcd no longer answers keeps the others' reports
	// before going back to its own checks only. Zero means
	// DefaultHealthTTL.
	HealthTTL time.Duration

	mu      sync.Mutex
	lastOK  time.Time // when etcd last answered
	loaded  bool
	ran     bool
	rev     int64 // the fleet revision applied
	revWake chan struct{}
	st      Status
	history []Record
	outbox  []pending
	wake    chan struct{} // a new pending edit (capacity 1)
	drained chan struct{} // closed and replaced when the outbox empties
	known   map[string]fieldSet
	stops   []func()
	applyMu sync.Mutex // serialises the fleet's own applies
	loadMu  sync.Mutex // serialises Load

	healthOnce sync.Once
	hs         *health // this replica's health verdicts, for ShareHealth
}

// keyNames returns the fleet's key layout.
func (f *Fleet) keyNames() keys {
	if f.Prefix == "" {
		return keys{prefix: DefaultPrefix}
	}
	return keys{prefix: f.Prefix}
}

// pending is a local edit waiting to be published.
type pending struct {
	rec     Record
	deletes []string // member prefixes below the balancer's prefix
}

// Status is the state of a Fleet's link to etcd.
type Status struct {
	// Connected is whether etcd answered the last request; Since is when
	// that last changed, Err why it is false.
	Connected bool
	Since     time.Time
	Err       error
	// Revision is the fleet revision this replica has applied.
	Revision int64
	// Pending is how many local edits wait to be published.
	Pending int
	// ApplyErr is the last error applying a published edit, nil if none.
	ApplyErr error
	// Health is the state of shared health checks.
	Health HealthStatus
}

// HealthStatus is the state of a replica's shared health checks
// (Fleet.ShareHealth).
type HealthStatus struct {
	// Shared is Fleet.ShareHealth: false means health checks and error
	// state are per replica, and the other fields are zero.
	Shared bool `json:"shared"`
	// Current reports that the replica holds the other replicas' live
	// reports: etcd confirmed its lease within HealthTTL. While it is
	// false the replica follows its own checks only.
	Current bool `json:"current"`
	// Replicas lists the other replicas whose reports it holds, sorted.
	Replicas []string `json:"replicas,omitempty"`
	// Marked lists, by balancer name, the members on which the fleet's
	// view set C, sorted.
	Marked map[string][]string `json:"marked,omitempty"`
}

// Status returns the Fleet's state.
func (f *Fleet) Status() Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.st
	s.Revision, s.Pending = f.rev, len(f.outbox)
	s.Health.Shared = f.ShareHealth
	return s
}

// History returns the edits this replica has seen published since Load,
// its own included, oldest first (at most HistorySize).
func (f *Fleet) History() []Record {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.history)
}

// Flush waits until every edit made on this replica so far is published
// (Run publishes them), or ctx ends. A replica shutting down can Flush
// before it stops Run.
func (f *Fleet) Flush(ctx context.Context) error {
	return f.waitUntil(ctx, func() (bool, chan struct{}) { return len(f.outbox) == 0, f.drained })
}

// Synced waits until the replica has applied the fleet's edits up to
// revision rev, or ctx ends.
func (f *Fleet) Synced(ctx context.Context, rev int64) error {
	return f.waitUntil(ctx, func() (bool, chan struct{}) { return f.rev >= rev, f.revWake })
}

// waitUntil waits until cond, called under f.mu, reports done, or ctx
// ends. cond also returns the channel closed at the next change of what
// it reads.
func (f *Fleet) waitUntil(ctx context.Context, cond func() (done bool, wake chan struct{})) error {
	for {
		f.mu.Lock()
		done, wake := cond()
		f.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		}
	}
}

func (f *Fleet) check() error {
	if f.Client == nil {
		return errors.New("fleet: Fleet.Client is required")
	}
	if len(f.Balancers) == 0 {
		return errors.New("fleet: Fleet.Balancers is empty")
	}
	seen := map[string]bool{}
	for i, b := range f.Balancers {
		if b == nil {
			return fmt.Errorf("fleet: Fleet.Balancers[%d] is nil", i)
		}
		if seen[b.Name()] {
			return fmt.Errorf("fleet: Fleet.Balancers[%d]: %s listed twice", i, b.Name())
		}
		seen[b.Name()] = true
	}
	if p := f.Prefix; p != "" && !strings.HasSuffix(p, "/") {
		return fmt.Errorf("fleet: Fleet.Prefix %q: must end in '/'", p)
	}
	return nil
}

func (f *Fleet) replica() string {
	if f.Replica != "" {
		return f.Replica
	}
	h, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", h, os.Getpid())
}

// Load reads the fleet's state from etcd and applies it to the balancers
// (over their configuration: see the package documentation), then starts
// following their edits for Run to publish. Call it before serving. It
// fails if etcd does not answer before ctx ends; the caller chooses then
// to serve with the configuration alone (and call Run, which loads when
// etcd answers) or to stop. Calling Load again does nothing.
func (f *Fleet) Load(ctx context.Context) error {
	if err := f.check(); err != nil {
		return err
	}
	f.loadMu.Lock()
	defer f.loadMu.Unlock()
	f.mu.Lock()
	loaded := f.loaded
	f.mu.Unlock()
	if loaded {
		return nil
	}
	rev, err := f.reload(ctx)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loaded, f.rev = true, rev
	f.revWake = make(chan struct{})
	f.wake = make(chan struct{}, 1)
	f.drained = make(chan struct{})
	f.st.Connected, f.st.Since = true, time.Now()
	for _, b := range f.Balancers {
		f.stops = append(f.stops, b.OnChange(func(ev balancer.ChangeEvent) { f.onChange(b, ev) }))
	}
	return nil
}

// reload reads the whole fleet state and applies it; it returns the
// revision read.
func (f *Fleet) reload(ctx context.Context) (int64, error) {
	resp, err := f.Client.Get(ctx, f.keyNames().prefix, clientv3.WithPrefix())
	if err != nil {
		return 0, fmt.Errorf("fleet: reading the fleet state: %w", err)
	}
	rev := resp.Header.Revision
	for _, b := range f.Balancers {
		fs := fieldSet{}
		for _, kv := range resp.Kvs {
			rel, ok := strings.CutPrefix(string(kv.Key), f.keyNames().bal(b.Name()))
			if ok && rel != "log" {
				fs[rel] = kv.Value
			}
		}
		f.applyFields(b, fs, Record{Replica: "fleet state", When: time.Now()}, rev)
	}
	return rev, nil
}

// applyFields applies published fields to b with provenance rec, then
// records b's applied values.
func (f *Fleet) applyFields(b *balancer.Balancer, fs fieldSet, rec Record, rev int64) {
	f.applyMu.Lock()
	defer f.applyMu.Unlock()
	var errs []error
	who := strings.TrimSpace(rec.Replica + ": " + strings.TrimSpace(rec.Source+" "+rec.Who))
	for try := 0; ; try++ {
		c, cerrs := fs.change(b.State())
		c.Balancer = b.Name()
		c.Source = Source
		c.Who = who
		c.When = rec.When
		c.Version = uint64(rev)
		err := b.Apply(c)
		if err != nil && try == 0 {
			continue // once more: a member may have come or gone here meanwhile
		}
		errs = cerrs
		if err != nil {
			errs = append(errs, err)
		}
		break
	}
	var cur map[string]json.RawMessage
	f.mu.Lock()
	if f.known == nil {
		f.known = map[string]fieldSet{}
	}
	kn := f.known[b.Name()]
	f.mu.Unlock()
	if kn == nil {
		// At Load: what etcd lacks, the configuration has.
		cur = stateFields(b.State())
	}
	f.mu.Lock()
	if kn == nil {
		kn = fieldSet{}
		f.known[b.Name()] = kn
		for k, v := range cur {
			kn[k] = v
		}
	}
	// What etcd has now, as far as this replica knows.
	for k, v := range fs {
		kn[k] = v
		if f, ok := parseRel(k); ok && f.kind == "present" && string(v) == "false" {
			p := "member/" + url.PathEscape(f.member) + "/"
			for fk := range kn {
				if strings.HasPrefix(fk, p) {
					delete(kn, fk)
				}
			}
		}
	}
	if len(errs) > 0 {
		f.st.ApplyErr = errors.Join(errs...)
	}
	f.mu.Unlock()
	if f.Logger != nil {
		if len(errs) > 0 {
			f.Logger.Error("fleet: edit not applied", "balancer", b.Name(), "revision", rev, "from", who, "err", errors.Join(errs...))
		} else {
			f.Logger.Debug("fleet: edit applied", "balancer", b.Name(), "revision", rev, "from", who)
		}
	}
}

// onChange publishes a local edit: the values it names that differ from
// what the fleet last had.
func (f *Fleet) onChange(b *balancer.Balancer, ev balancer.ChangeEvent) {
	if ev.Change.Source == Source {
		return // applied by the fleet: applyFields records it
	}
	var cur map[string]json.RawMessage
	if len(ev.Change.Add) > 0 {
		cur = stateFields(b.State())
	}
	fields, deletes := changeFields(ev.Change, cur)
	f.mu.Lock()
	defer f.mu.Unlock()
	kn := f.known[b.Name()]
	rec := Record{
		Replica: f.replica(), Source: ev.Change.Source, Who: ev.Change.Who,
		When: ev.Change.When, Balancer: b.Name(), Fields: map[string]json.RawMessage{},
	}
	for k, v := range fields {
		if string(kn[k]) != string(v) {
			rec.Fields[k] = v
			kn[k] = v
		}
	}
	for _, m := range deletes {
		for fk := range kn {
			if strings.HasPrefix(fk, "member/"+m+"/") {
				delete(kn, fk)
			}
		}
	}
	if len(rec.Fields) == 0 {
		return
	}
	f.outbox = append(f.outbox, pending{rec: rec, deletes: deletes})
	select {
	case f.wake <- struct{}{}:
	default:
	}
}
