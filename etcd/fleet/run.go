package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/proxybalancer/balancer/etcd/internal/backoff"
)

// Run publishes the edits made on this replica and applies the fleet's
// until ctx ends, then stops following the balancers and returns ctx's
// error. If Load has not succeeded yet, Run loads first, retrying until
// etcd answers. Run may be called once: after it returns, the Fleet no
// longer follows its balancers.
func (f *Fleet) Run(ctx context.Context) error {
	if err := f.check(); err != nil {
		return err
	}
	f.mu.Lock()
	ran := f.ran
	f.ran = true
	f.mu.Unlock()
	if ran {
		return errors.New("fleet: Run was already called")
	}
	for bo := newBackoff(); ; {
		err := f.Load(ctx)
		if err == nil {
			break
		}
		f.setConnected(false, err)
		if werr := bo.Wait(ctx); werr != nil {
			return werr
		}
	}
	defer func() {
		f.mu.Lock()
		stops := f.stops
		f.stops = nil
		f.mu.Unlock()
		for _, s := range stops {
			s()
		}
	}()
	var wg sync.WaitGroup
	wg.Go(func() { f.publishLoop(ctx) })
	wg.Go(func() { f.probeLoop(ctx) })
	wg.Go(func() { f.watchLoop(ctx) })
	if f.ShareHealth {
		wg.Go(func() { f.healthLoop(ctx) })
	}
	wg.Wait()
	return ctx.Err()
}

// setConnected records whether etcd answered, logging changes once. A
// failure within OutageAfter of the last answer is not an outage yet.
func (f *Fleet) setConnected(ok bool, err error) {
	now := time.Now()
	f.mu.Lock()
	if ok {
		f.lastOK = now
	} else if f.st.Connected && now.Sub(f.lastOK) < f.outageAfter() {
		f.mu.Unlock()
		return
	}
	changed := f.st.Connected != ok || f.st.Since.IsZero()
	if changed {
		f.st.Connected, f.st.Since = ok, now
	}
	f.st.Err = err
	if ok {
		f.st.Err = nil
	}
	f.mu.Unlock()
	if changed && f.Logger != nil {
		if ok {
			f.Logger.Info("fleet: etcd answers again", "prefix", f.keyNames().prefix)
		} else {
			f.Logger.Warn("fleet: etcd unreachable: serving with the last state, keeping local edits to publish", "prefix", f.keyNames().prefix, "err", err)
		}
	}
}

func (f *Fleet) outageAfter() time.Duration {
	if f.OutageAfter > 0 {
		return f.OutageAfter
	}
	return 3 * f.probeInterval()
}

func (f *Fleet) probeInterval() time.Duration {
	if f.ProbeInterval > 0 {
		return f.ProbeInterval
	}
	return time.Second
}

// publishLoop publishes the pending local edits in order, each as one
// transaction, retrying while etcd does not answer.
func (f *Fleet) publishLoop(ctx context.Context) {
	bo := newBackoff()
	for {
		f.mu.Lock()
		var p *pending
		if len(f.outbox) > 0 {
			p = &f.outbox[0]
		}
		f.mu.Unlock()
		if p == nil {
			select {
			case <-ctx.Done():
				return
			case <-f.wake:
				continue
			}
		}
		if err := f.publish(ctx, p); err != nil {
			if ctx.Err() != nil {
				return
			}
			f.setConnected(false, err)
			if bo.Wait(ctx) != nil {
				return
			}
			continue
		}
		bo.Reset()
		f.setConnected(true, nil)
		f.mu.Lock()
		f.outbox = f.outbox[1:]
		if len(f.outbox) == 0 {
			close(f.drained)
			f.drained = make(chan struct{})
		}
		f.mu.Unlock()
	}
}

func (f *Fleet) publish(ctx context.Context, p *pending) error {
	k := f.keyNames()
	b := p.rec.Balancer
	var ops []clientv3.Op
	for rel, v := range p.rec.Fields {
		ops = append(ops, clientv3.OpPut(k.bal(b)+rel, string(v)))
	}
	for _, m := range p.deletes {
		ops = append(ops, clientv3.OpDelete(k.bal(b)+"member/"+m+"/", clientv3.WithPrefix()))
	}
	log, err := json.Marshal(p.rec)
	if err != nil {
		return err
	}
	ops = append(ops, clientv3.OpPut(k.log(b), string(log)))
	tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = f.Client.Txn(tctx).Then(ops...).Commit()
	return err
}

// probeLoop checks every ProbeInterval that etcd answers, so that an
// outage shows while nothing is published.
func (f *Fleet) probeLoop(ctx context.Context) {
	iv := f.probeInterval()
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, iv)
		_, err := f.Client.Get(pctx, f.keyNames().prefix+"probe", clientv3.WithCountOnly())
		cancel()
		if ctx.Err() != nil {
			return
		}
		f.setConnected(err == nil, err)
	}
}

// watchLoop applies the fleet's edits from the revision Load read on,
// reading the whole state again when the history it needs is compacted.
func (f *Fleet) watchLoop(ctx context.Context) {
	bo := newBackoff()
	for ctx.Err() == nil {
		f.mu.Lock()
		rev := f.rev
		f.mu.Unlock()
		err := f.watch(ctx, rev)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, rpctypes.ErrCompacted) {
			if f.Logger != nil {
				f.Logger.Info("fleet: the history this replica missed is compacted: reading the whole state", "revision", rev)
			}
			if rev, err := f.reload(ctx); err == nil {
				f.advance(rev)
				continue
			}
		}
		if err != nil {
			f.setConnected(false, err)
		}
		if bo.Wait(ctx) != nil {
			return
		}
	}
}

// watch follows the fleet's keys after revision rev until an error.
func (f *Fleet) watch(ctx context.Context, rev int64) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	wch := f.Client.Watch(wctx, f.keyNames().prefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1))
	for resp := range wch {
		if err := resp.Err(); err != nil {
			return err
		}
		f.setConnected(true, nil)
		// Events come in revision order; one transaction, one revision.
		for i := 0; i < len(resp.Events); {
			j := i
			r := resp.Events[i].Kv.ModRevision
			for j < len(resp.Events) && resp.Events[j].Kv.ModRevision == r {
				j++
			}
			f.applyRevision(r, resp.Events[i:j])
			i = j
		}
		if len(resp.Events) == 0 && resp.Header.Revision > 0 && resp.IsProgressNotify() {
			f.advance(resp.Header.Revision)
		}
	}
	return ctx.Err()
}

// applyRevision applies the events of one revision.
func (f *Fleet) applyRevision(rev int64, evs []*clientv3.Event) {
	for _, b := range f.Balancers {
		prefix := f.keyNames().bal(b.Name())
		fs := fieldSet{}
		var rec Record
		for _, ev := range evs {
			rel, ok := strings.CutPrefix(string(ev.Kv.Key), prefix)
			if !ok || ev.Type != clientv3.EventTypePut {
				continue
			}
			if rel == "log" {
				_ = json.Unmarshal(ev.Kv.Value, &rec)
				continue
			}
			fs[rel] = ev.Kv.Value
		}
		if len(fs) == 0 {
			continue
		}
		f.applyFields(b, fs, rec, rev)
		rec.Revision, rec.Balancer, rec.Fields = rev, b.Name(), map[string]json.RawMessage(fs)
		f.remember(rec)
	}
	f.advance(rev)
}

func (f *Fleet) remember(rec Record) {
	n := f.HistorySize
	if n <= 0 {
		n = 1000
	}
	f.mu.Lock()
	f.history = append(f.history, rec)
	if len(f.history) > n {
		f.history = append(f.history[:0:0], f.history[len(f.history)-n:]...)
	}
	f.mu.Unlock()
}

// advance records that the replica applied the fleet up to rev.
func (f *Fleet) advance(rev int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if rev > f.rev {
		f.rev = rev
		close(f.revWake)
		f.revWake = make(chan struct{})
	}
}

// newBackoff waits 50ms between tries, doubling up to 2s.
func newBackoff() *backoff.Backoff {
	return backoff.New(50*time.Millisecond, 2*time.Second)
}
