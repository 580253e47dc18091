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

	// Replay, guarded by mu. limit > 0 keeps up to limit bytes in buf;
	// over says more were read (no replay); eof says rc is exhausted.
	mu    sync.Mutex
	limit int
	buf   []byte
	over  bool
	eof   bool
	gen   uint32 // the newest attempt's reader; 0 is the guard itself
	pos   int    // the guard's own position in buf (gen 0)
	hands int    // rewinds made
}

// Read is the first attempt's reader.
func (g *bodyGuard) Read(p []byte) (int, error) {
	g.touched.Store(true)
	if g.limit == 0 {
		n, err := g.rc.Read(p)
		g.n.Add(int64(n))
		return n, err
	}
	return g.read(p, 0, &g.pos)
}

// read gives the attempt gen the bytes after *pos: kept ones first, then,
// for the newest attempt only, the client's body (kept as it is read).
func (g *bodyGuard) read(p []byte, gen uint32, pos *int) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if *pos < len(g.buf) {
		n := copy(p, g.buf[*pos:])
		*pos += n
		g.n.Add(int64(n))
		return n, nil
	}
	if g.eof {
		return 0, io.EOF
	}
	if gen != g.gen {
		return 0, errBodySuperseded
	}
	n, err := g.rc.Read(p)
	if n > 0 {
		g.n.Add(int64(n))
		if !g.over && len(g.buf)+n <= g.limit {
			g.buf = append(g.buf, p[:n]...)
			*pos = len(g.buf)
		} else {
			g.over, g.buf = true, nil
			*pos = 0
		}
	}
	if err == io.EOF {
		g.eof = !g.over
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
	if g.limit == 0 {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.over {
		return false
	}
	g.gen++
	g.hands++
	return true
}

// complete reports whether the whole body is kept, so that attempts may
// read it at the same time (a per-try timeout's second attempt).
func (g *bodyGuard) complete() bool {
	if g.limit == 0 {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.eof
}

// reader returns the reader of the newest attempt.
func (g *bodyGuard) reader() io.ReadCloser {
	g.mu.Lock()
	gen := g.gen
	g.mu.Unlock()
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
