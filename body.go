package balancer

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
)

// DefaultReplayBuffer is the default of Config.ReplayBuffer: the largest
// request body kept for a re-send.
const DefaultReplayBuffer = 64 << 10

// errBodySuperseded is what an attempt's body reader returns once a later
// attempt took over the client's body.
var errBodySuperseded = errors.New("balancer: request body taken over by a later attempt")

// bodyGuard stands between the outbound request and the client's body. It
// keeps the transport from closing the body (http.Transport closes it when
// a connection cannot be had, which would make a failover re-send
// impossible), records whether any byte was read, and counts the bytes
// sent for the traffic counters. The server closes the client's body when
// the handler returns.
//
// With a replay limit it also keeps the bytes read, up to the limit, so
// that an idempotent request whose connection was lost can be sent again
// (rewind): the next attempt reads the kept bytes, then the rest of the
// client's body. Only the newest attempt reads the client's body; an
// older one still running (net/http may read a body after RoundTrip
// returned) gets errBodySuperseded past the kept bytes, so the two never
// race on it.
type bodyGuard struct {
	rc      io.ReadCloser
	touched atomic.Bool
	n       atomic.Int64
	// replay keeps the bytes read when the body may be sent again (see
	// keepBody); nil otherwise. Apart from the request state, which
	// every request allocates and which stays small without it.
	replay *replay
}

// replay is what a bodyGuard keeps for a re-send, guarded by mu: up to
// limit bytes in buf; over says more were read (no replay); eof says rc
// is exhausted.
type replay struct {
	mu    sync.Mutex
	limit int
	buf   []byte
	over  bool
	eof   bool
	gen   uint32 // the newest attempt's reader; 0 is the guard itself
	pos   int    // the guard's own position in buf (gen 0)
	hands int    // rewinds made
}

// keep makes g keep up to limit bytes of the body for a re-send.
func (g *bodyGuard) keep(limit int) { g.replay = &replay{limit: limit} }

// Read is the first attempt's reader.
func (g *bodyGuard) Read(p []byte) (int, error) {
	g.touched.Store(true)
	if g.replay == nil {
		n, err := g.rc.Read(p)
		g.n.Add(int64(n))
		return n, err
	}
	return g.read(p, 0, &g.replay.pos)
}

// read gives the attempt gen the bytes after *pos: kept ones first, then,
// for the newest attempt only, the client's body (kept as it is read).
func (g *bodyGuard) read(p []byte, gen uint32, pos *int) (int, error) {
	r := g.replay
	r.mu.Lock()
	defer r.mu.Unlock()
	if *pos < len(r.buf) {
		n := copy(p, r.buf[*pos:])
		*pos += n
		g.n.Add(int64(n))
		return n, nil
	}
	if r.eof {
		return 0, io.EOF
	}
	if gen != r.gen {
		return 0, errBodySuperseded
	}
	n, err := g.rc.Read(p)
	if n > 0 {
		g.n.Add(int64(n))
		if !r.over && len(r.buf)+n <= r.limit {
			r.buf = append(r.buf, p[:n]...)
			*pos = len(r.buf)
		} else {
			r.over, r.buf = true, nil
			*pos = 0
		}
	}
	if err == io.EOF {
		r.eof = !r.over
	}
	return n, err
}

// Close does not close the client's body; see bodyGuard.
func (g *bodyGuard) Close() error { return nil }

// untouched reports whether the body can still be sent as it came.
func (g *bodyGuard) untouched() bool { return g.rc == nil || !g.touched.Load() }

// rewind prepares the body for another attempt and reports whether it can
// be sent whole: untouched, or every byte read so far is kept. After a
// rewind, reader returns the new attempt's reader.
func (g *bodyGuard) rewind() bool {
	if g.untouched() {
		return true
	}
	r := g.replay
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.over {
		return false
	}
	r.gen++
	r.hands++
	return true
}

// complete reports whether the whole body is kept, so that attempts may
// read it at the same time (a per-try timeout's second attempt).
func (g *bodyGuard) complete() bool {
	r := g.replay
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.eof
}

// reader returns the reader of the newest attempt.
func (g *bodyGuard) reader() io.ReadCloser {
	r := g.replay
	if r == nil {
		return g
	}
	r.mu.Lock()
	gen := r.gen
	r.mu.Unlock()
	if gen == 0 {
		return g
	}
	return &replayReader{g: g, gen: gen}
}

// replayReader is the body of an attempt after the first: the kept bytes,
// then the rest of the client's body.
type replayReader struct {
	g   *bodyGuard
	gen uint32
	pos int
}

func (r *replayReader) Read(p []byte) (int, error) { return r.g.read(p, r.gen, &r.pos) }

// Close does not close the client's body; see bodyGuard.
func (r *replayReader) Close() error { return nil }
