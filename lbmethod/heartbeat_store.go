package lbmethod

import (
	"cmp"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// hbStore is the storage of a HeartbeatTable: every server by IP, and the
// order in which strangers (servers no pick has asked for) were added.
//
// An entry is a member's while a pick asked for it in the last
// heartbeatForget (asked); others are strangers. Strangers are queued in
// the order they were added; when the queue reaches the cap, the oldest
// stranger is dropped (an entry claimed by a member since it was queued
// just leaves the queue). Every heartbeatForget (of the clock, checked
// when a server is added) entries neither seen nor asked for during
// heartbeatForget are dropped and the queue is rebuilt from the strangers
// left, oldest report first.
type hbStore struct {
	mu      sync.RWMutex
	servers map[string]*hbEntry // guarded by mu; entries change in place
	queue   []*hbEntry          // strangers, oldest first, from head
	head    int
	swept   int64 // clock reading (ns) of the last sweep
}

// hbEntry is one server's report, updated in place with atomics.
type hbEntry struct {
	owner *hbStore // the store holding it
	gone  atomic.Bool
	ip    string
	load  atomic.Uint64 // ready<<32 | busy, so a reader sees both from one report
	seen  atomic.Int64  // clock reading (UnixNano) of the report; 0 = none yet (a reserved place)
	asked atomic.Int64  // clock reading (UnixNano) when a pick last asked for it; 0 = never
}

func (e *hbEntry) store(r HeartbeatReport) {
	e.load.Store(uint64(r.Ready)<<32 | uint64(r.Busy))
	e.seen.Store(r.Seen.UnixNano())
}

func (e *hbEntry) counts() (ready, busy uint64) {
	v := e.load.Load()
	return v >> 32, v & math.MaxUint32
}

// ask notes that a member's pick looked for e at now, at most once a
// second so that picks do not keep writing the same cache line.
func (e *hbEntry) ask(now int64) {
	if now-e.asked.Load() >= int64(time.Second) {
		e.asked.Store(now)
	}
}

func (e *hbEntry) claimed(now int64) bool {
	a := e.asked.Load()
	return a != 0 && now-a < int64(heartbeatForget)
}

func (s *hbStore) record(ip string, r HeartbeatReport, now int64, limit int) {
	s.mu.RLock()
	e := s.servers[ip]
	s.mu.RUnlock()
	if e != nil {
		e.store(r)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.servers[ip]; e != nil {
		e.store(r)
		return
	}
	if s.servers == nil {
		s.servers = make(map[string]*hbEntry)
	}
	s.sweep(now)
	for len(s.queue)-s.head >= limit {
		old := s.queue[s.head]
		s.queue[s.head] = nil
		s.head++
		if !old.claimed(now) && s.servers[old.ip] == old {
			delete(s.servers, old.ip)
			old.gone.Store(true)
		}
	}
	if s.head > len(s.queue)/2 {
		n := copy(s.queue, s.queue[s.head:])
		clear(s.queue[n:])
		s.queue, s.head = s.queue[:n], 0
	}
	e = &hbEntry{owner: s, ip: ip}
	e.store(r)
	s.servers[ip] = e
	s.queue = append(s.queue, e)
}

// sweep drops, at most once per heartbeatForget, the entries neither seen
// nor asked for during heartbeatForget, and queues the strangers left in
// the order of their reports. The caller holds mu for writing.
func (s *hbStore) sweep(now int64) {
	if now-s.swept < int64(heartbeatForget) {
		return
	}
	s.swept = now
	forget := now - int64(heartbeatForget)
	s.queue, s.head = s.queue[:0], 0
	for ip, e := range s.servers {
		if e.claimed(now) {
			continue
		}
		if e.seen.Load() < forget {
			delete(s.servers, ip)
			e.gone.Store(true)
			continue
		}
		s.queue = append(s.queue, e)
	}
	slices.SortFunc(s.queue, func(a, b *hbEntry) int {
		return cmp.Or(cmp.Compare(a.seen.Load(), b.seen.Load()), cmp.Compare(a.ip, b.ip))
	})
}

// reserve adds a place for every host of cands that has no entry, asked
// for at now, so that the member's first report is kept.
func (s *hbStore) reserve(cands []*Member, now int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.servers == nil {
		s.servers = make(map[string]*hbEntry)
	}
	for _, m := range cands {
		if m.Host == "" || s.servers[m.Host] != nil {
			continue
		}
		e := &hbEntry{owner: s, ip: m.Host}
		e.asked.Store(now)
		s.servers[m.Host] = e
	}
}

func (s *hbStore) lookup(ip string) (HeartbeatReport, bool) {
	s.mu.RLock()
	e := s.servers[ip]
	s.mu.RUnlock()
	if e == nil {
		return HeartbeatReport{}, false
	}
	seen := e.seen.Load()
	if seen == 0 {
		return HeartbeatReport{}, false // a reserved place: no report yet
	}
	ready, busy := e.counts()
	return HeartbeatReport{Ready: int(ready), Busy: int(busy), Seen: time.Unix(0, seen)}, true
}

// size returns how many entries the store holds (reserved places
// included).
func (s *hbStore) size() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.servers)
}
