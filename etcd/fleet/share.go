package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/proxybalancer/balancer"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// healthPrefix is where the replicas' health reports live: beside the
// fleet's prefix, not below it, so that no balancer name can collide.
func (f *Fleet) healthPrefix() string {
	return strings.TrimSuffix(f.keyNames().prefix, "/") + ".health/"
}

func (f *Fleet) healthTTL() time.Duration {
	if f.HealthTTL > 0 {
		return f.HealthTTL
	}
	return DefaultHealthTTL
}

// sharer is the state of the loop that shares health reports: this
// replica's lease and published report, the watch on the others'
// reports, and the C flags set from them. It belongs to one goroutine.
type sharer struct {
	f   *Fleet
	h   *health
	key string // this replica's report key

	lease     clientv3.LeaseID // 0: none
	alive     <-chan *clientv3.LeaseKeepAliveResponse
	stopAlive context.CancelFunc
	dirty     bool // the report must be put
	lost      bool // the lease was lost: log when etcd answers again

	wch       clientv3.WatchChan // nil: read the reports and watch again
	stopWatch context.CancelFunc

	// remote holds the other replicas' reports as of the lease's last
	// confirmation; nil while there is none (only local checks count).
	remote map[string]report
	// marked lists, per balancer, the members on which the fleet's view
	// set C, so that only those are cleared.
	marked map[string]map[string]bool
}

// healthLoop shares this replica's health verdicts and applies the
// fleet's until ctx ends. When it ends it revokes its lease, so that its
// report goes at once, and clears the C flags the fleet's view set.
func (f *Fleet) healthLoop(ctx context.Context) {
	s := &sharer{f: f, h: f.healthState(), key: f.healthPrefix() + url.PathEscape(f.replica()),
		stopAlive: func() {}, stopWatch: func() {}, dirty: true, marked: map[string]map[string]bool{}}
	defer s.end(ctx)
	tick := time.NewTicker(f.probeInterval())
	defer tick.Stop()
	bo := newBackoff()
	var retry <-chan time.Time // non-nil: wait before the next try
	for {
		if retry == nil {
			if err := s.step(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				f.logDebug("fleet: sharing health: etcd did not answer", "err", err)
				retry = time.After(bo.Next())
			} else {
				bo.Reset()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-retry:
			retry = nil
		case <-s.h.changed:
			s.dirty = true
		case <-tick.C:
			s.apply() // members whose checks started or stopped here
			if _, pruned := s.report(); pruned {
				s.dirty = true
			}
		case _, ok := <-s.alive:
			if !ok {
				s.leaseLost()
			}
		case resp, ok := <-s.wch:
			if err := resp.Err(); !ok || err != nil {
				s.stopWatch()
				s.wch = nil // read the reports again
				continue
			}
			for _, ev := range resp.Events {
				s.setReport(ev.Kv, ev.Type == clientv3.EventTypeDelete)
			}
			s.apply()
		}
	}
}

// step does what etcd is needed for, in order: a lease, this replica's
// report under it, the others' reports and a watch on them.
func (s *sharer) step(ctx context.Context) error {
	f := s.f
	tctx, cancel := context.WithTimeout(ctx, f.probeInterval()+time.Second)
	defer cancel()
	if s.lease == 0 {
		g, err := f.Client.Grant(tctx, int64((f.healthTTL()+time.Second-1)/time.Second))
		if err != nil {
			return err
		}
		actx, stop := context.WithCancel(ctx)
		alive, err := f.Client.KeepAlive(actx, g.ID)
		if err != nil {
			stop()
			return err
		}
		s.lease, s.alive, s.stopAlive, s.dirty = g.ID, alive, stop, true
		if s.lost && f.Logger != nil {
			f.Logger.Info("fleet: shared health: etcd answers again: sharing health results again", "ttl", f.healthTTL())
		}
		s.lost = false
	}
	if s.dirty {
		r, _ := s.report()
		val, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if _, err := f.Client.Put(tctx, s.key, string(val), clientv3.WithLease(s.lease)); err != nil {
			return err
		}
		s.dirty = false
	}
	if s.wch == nil {
		resp, err := f.Client.Get(tctx, f.healthPrefix(), clientv3.WithPrefix())
		if err != nil {
			return err
		}
		s.remote = map[string]report{}
		for _, kv := range resp.Kvs {
			s.setReport(kv, false)
		}
		s.apply()
		wctx, stop := context.WithCancel(clientv3.WithRequireLeader(ctx))
		s.wch, s.stopWatch = f.Client.Watch(wctx, f.healthPrefix(), clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1)), stop
	}
	return nil
}

// leaseLost handles the end of the keep-alive: etcd has not confirmed the
// lease for its TTL (it is unreachable, or the lease expired). The others'
// reports are then as old as this replica's own, which etcd drops at that
// point: the replica forgets them and goes back to its own checks, until
// it has a lease again and reads them anew.
func (s *sharer) leaseLost() {
	s.stopAlive()
	s.stopWatch()
	s.lease, s.alive, s.wch, s.remote, s.lost = 0, nil, nil, nil, true
	if s.f.Logger != nil {
		s.f.Logger.Warn("fleet: shared health: etcd has not confirmed this replica's lease within HealthTTL: using local health checks only until it answers",
			"ttl", s.f.healthTTL())
	}
	s.apply()
}

// end revokes the lease and clears the C flags the fleet's view set.
func (s *sharer) end(ctx context.Context) {
	s.stopWatch()
	s.stopAlive()
	if s.lease != 0 && s.f.Client.Ctx().Err() == nil { // a closed client cannot revoke
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		_, _ = s.f.Client.Revoke(rctx, s.lease) // if etcd does not answer, the lease expires
		cancel()
	}
	s.remote = nil
	s.apply()
}

// report returns this replica's report, of the members its checker
// checks now, and whether members were dropped from it.
func (s *sharer) report() (report, bool) {
	checked := map[string]map[string]bool{}
	for _, b := range s.f.Balancers {
		bal := shortName(b.Name())
		checked[bal] = map[string]bool{}
		for _, m := range b.Members() {
			if m.HealthKnown {
				checked[bal][m.URL] = true
			}
		}
	}
	return s.h.localReport(checked)
}

// setReport records, or with del drops, the report kv. This replica's
// own report is skipped: its checker decides its own members. A value
// without a lease is not a replica's report (every replica puts its own
// under its lease): counted, it would outlive whoever wrote it.
func (s *sharer) setReport(kv *mvccpb.KeyValue, del bool) {
	name, ok := strings.CutPrefix(string(kv.Key), s.f.healthPrefix())
	if !ok || string(kv.Key) == s.key || s.remote == nil {
		return
	}
	var r report
	if del || kv.Lease == 0 || json.Unmarshal(kv.Value, &r) != nil {
		delete(s.remote, name) // gone, or not a report this version reads
		return
	}
	s.remote[name] = r
}

// apply brings C in line with the fleet's view on the members this
// replica does not check itself: set while the view says failed, and
// cleared, where the view set it, once the view says passing, the reports
// are gone, or this replica starts checking the member itself.
func (s *sharer) apply() {
	for _, b := range s.f.Balancers {
		bal := shortName(b.Name())
		marked := s.marked[bal]
		if marked == nil {
			marked = map[string]bool{}
			s.marked[bal] = marked
		}
		c := balancer.Change{Balancer: b.Name(), Source: Source}
		var why []string
		present := map[string]bool{}
		for _, m := range b.Members() {
			present[m.URL] = true
			if m.HealthKnown {
				delete(marked, m.URL) // its own checks decide
				continue
			}
			failed, failing, passing := fleetVerdict(s.remote, bal, m.URL)
			has := m.Status.Has(balancer.StatusHCFailed)
			switch {
			case failed && !has:
				marked[m.URL] = true
				c.Members = append(c.Members, balancer.MemberChange{URL: m.URL, Set: "C"})
				why = append(why, m.URL+" failed on "+strings.Join(failing, ", ")+passedOn(passing))
			case !failed && marked[m.URL]:
				delete(marked, m.URL)
				if has {
					c.Members = append(c.Members, balancer.MemberChange{URL: m.URL, Clear: "C"})
					why = append(why, m.URL+" not failed on a majority of the replicas that report it"+passedOn(passing))
				}
			}
		}
		for m := range marked {
			if !present[m] {
				delete(marked, m)
			}
		}
		s.show(b.Name(), marked)
		if len(c.Members) == 0 {
			continue
		}
		c.Who = s.f.replica() + ": shared health: " + strings.Join(why, "; ")
		if err := b.Apply(c); err != nil && !errors.Is(err, balancer.ErrClosed) && s.f.Logger != nil {
			s.f.Logger.Error("fleet: shared health not applied", "balancer", b.Name(), "err", err)
		}
	}
}

// show records the fleet's view for Status: whether it is current, whose
// reports it holds, and the members of balancer bal it marked.
func (s *sharer) show(bal string, marked map[string]bool) {
	var replicas []string
	for r := range s.remote {
		replicas = append(replicas, r)
	}
	slices.Sort(replicas)
	ms := slices.Sorted(maps.Keys(marked))
	f := s.f
	f.mu.Lock()
	defer f.mu.Unlock()
	h := &f.st.Health
	h.Current, h.Replicas = s.remote != nil, replicas
	m := maps.Clone(h.Marked) // Status hands out the map: never change it
	if m == nil {
		m = map[string][]string{}
	}
	if len(ms) > 0 {
		m[bal] = ms
	} else {
		delete(m, bal)
	}
	if len(m) == 0 {
		m = nil
	}
	h.Marked = m
}

func passedOn(rs []string) string {
	if len(rs) == 0 {
		return ""
	}
	return " (passed on " + strings.Join(rs, ", ") + ")"
}

func (f *Fleet) logDebug(msg string, args ...any) {
	if f.Logger != nil {
		f.Logger.Debug(msg, args...)
	}
}
