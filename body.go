package balancer

import (
	"io"
	"sync/atomic"
)

// bodyGuard stands between the outbound request and the client's body. It
// keeps the transport from closing the body (http.Transport closes it when
// a connection cannot be had, which would make a failover re-send
// impossible), records whether any byte was read, and counts the bytes
// sent for the traffic counters. The server closes the client's body when
// the handler returns.
type bodyGuard struct {
	rc      io.ReadCloser
	touched atomic.Bool
	n       atomic.Int64
}

func (g *bodyGuard) Read(p []byte) (int, error) {
	g.touched.Store(true)
	n, err := g.rc.Read(p)
	g.n.Add(int64(n))
	return n, err
}

// Close does not close the client's body; see bodyGuard.
func (g *bodyGuard) Close() error { return nil }

// untouched reports whether the body can still be sent as it came.
func (g *bodyGuard) untouched() bool { return g.rc == nil || !g.touched.Load() }
