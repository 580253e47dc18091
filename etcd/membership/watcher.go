package membership

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/proxybalancer/balancer/discovery"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Watcher applies the registrations under Prefix to a balancer. Set the
// fields, then call Run. The fields must not change once Run was called;
// Run and Status are safe for concurrent use.
type Watcher struct {
	// Client is the etcd client. Required.
	Client *clientv3.Client

	// Prefix is the key prefix the services register under, for example
	// "/services/api/". Required.
	Prefix string

	// Members applies the list. Members.Balancer is required.
	Members *discovery.MemberSet

	// Logger receives the changes (info) and problems (warn: etcd
	// unreachable, once per outage; an unreadable registration). Nil is
	// silent.
	Logger *slog.Logger

	// OnApply, if set, is called after each attempt to apply the list,
	// outside any lock.
	OnApply func(Result)

	mu    sync.Mutex
	state Status
	regs  map[string]Registration // by key
}

// Result is the outcome of applying the registrations once.
type Result struct {
	// Revision is the etcd revision the list was read at.
	Revision int64
	// Diff is what changed in the balancer.
	Diff discovery.Diff
	// Err is why the list was not applied (an empty list, an invalid
	// URL); the last good list stays then.
	Err error
}

// Status is a Watcher's state.
type Status struct {
	// Members are the normalised URLs applied last.
	Members []string
	// Revision is the etcd revision they were read at.
	Revision int64
	// Err is the last problem (etcd unreachable, a list not applied), nil
	// after a success.
	Err error
}

// Status returns the watcher's state.
func (w *Watcher) Status() Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.state
	s.Members = slices.Clone(s.Members)
	return s
}

// Run reads the registrations, applies them, and then follows their
// changes until ctx ends; it returns ctx's error. While etcd is
// unreachable the last list stays in force.
func (w *Watcher) Run(ctx context.Context) error {
	if w.Client == nil || w.Prefix == "" || w.Members == nil || w.Members.Balancer == nil {
		return errors.New("membership: Watcher needs Client, Prefix and Members.Balancer")
	}
	bo := newBackoff()
	failing := false
	for {
		rev, err := w.load(ctx)
		if err == nil {
			bo.Reset()
			if failing && w.Logger != nil {
				w.Logger.Info("membership: etcd answers again", "prefix", w.Prefix)
			}
			failing = false
			err = w.follow(ctx, rev)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			w.mu.Lock()
			w.state.Err = err
			w.mu.Unlock()
			if !failing && w.Logger != nil {
				w.Logger.Warn("membership: etcd unreachable, keeping the last member list", "prefix", w.Prefix, "err", err)
			}
			failing = true
		}
		if err := bo.Wait(ctx); err != nil {
			return err
		}
	}
}

// load reads every registration and applies them; it returns the revision
// read.
func (w *Watcher) load(ctx context.Context) (int64, error) {
	gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := w.Client.Get(gctx, w.Prefix, clientv3.WithPrefix())
	if err != nil {
		return 0, err
	}
	regs := make(map[string]Registration, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		w.put(regs, string(kv.Key), kv.Value)
	}
	w.mu.Lock()
	w.regs = regs
	w.mu.Unlock()
	w.apply(resp.Header.Revision)
	return resp.Header.Revision, nil
}

// follow watches the prefix from after rev until the watch ends (ctx, a
// compaction, an error).
func (w *Watcher) follow(ctx context.Context, rev int64) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wch := w.Client.Watch(wctx, w.Prefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1))
	for resp := range wch {
		if err := resp.Err(); err != nil {
			return err
		}
		w.mu.Lock()
		for _, ev := range resp.Events {
			switch ev.Type {
			case clientv3.EventTypePut:
				w.put(w.regs, string(ev.Kv.Key), ev.Kv.Value)
			case clientv3.EventTypeDelete:
				delete(w.regs, string(ev.Kv.Key))
			}
		}
		w.mu.Unlock()
		if len(resp.Events) > 0 {
			w.apply(resp.Header.Revision)
		}
	}
	return ctx.Err()
}

// put records one registration; an unreadable one is logged and left out.
func (w *Watcher) put(regs map[string]Registration, key string, v []byte) {
	r, err := parseRegistration(v)
	if err != nil {
		delete(regs, key)
		if w.Logger != nil {
			w.Logger.Warn("membership: registration ignored", "key", key, "err", err)
		}
		return
	}
	regs[key] = r
}

// apply applies the current registrations, in key order.
func (w *Watcher) apply(rev int64) {
	w.mu.Lock()
	keys := make([]string, 0, len(w.regs))
	for k := range w.regs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	ts := make([]discovery.Target, 0, len(keys))
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		r := w.regs[k]
		n, err := discovery.Normalize(r.URL)
		if err == nil && seen[n] {
			continue // two registrations of one URL make one member
		}
		seen[n] = true
		t := discovery.Target{URL: r.URL}
		if r.LoadFactor != 0 || r.LBSet != 0 {
			t.HasWeight, t.LBSet, t.LoadFactor = true, r.LBSet, r.LoadFactor
		}
		ts = append(ts, t)
	}
	w.mu.Unlock()
	res := Result{Revision: rev}
	res.Diff, res.Err = w.Members.Apply(ts)
	w.mu.Lock()
	if res.Err == nil {
		ms := make([]string, len(ts))
		for i, t := range ts {
			ms[i], _ = discovery.Normalize(t.URL)
		}
		w.state = Status{Members: ms, Revision: rev}
	} else {
		w.state.Err = res.Err
	}
	w.mu.Unlock()
	if l := w.Logger; l != nil {
		if res.Err != nil {
			l.Warn("membership: member list not applied, keeping the last one", "prefix", w.Prefix, "revision", rev, "err", res.Err)
		} else if !res.Diff.Empty() {
			l.Info("membership: members changed", "prefix", w.Prefix, "revision", rev, "added", res.Diff.Added, "removed", res.Diff.Removed)
		}
	}
	if w.OnApply != nil {
		w.OnApply(res)
	}
}
