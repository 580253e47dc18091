//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package transport

import (
	"net"
	"syscall"
)

// prober checks an idle connection without blocking: the member has
// neither closed it nor sent anything on it (a response to no request,
// such as a 408 before closing). It is made once per connection, so a
// check allocates nothing.
type prober struct {
	raw      syscall.RawConn
	buf      [1]byte
	alive    bool
	readable bool             // set by peekFD: bytes wait, or nothing yet
	peek     func(fd uintptr) // p.peekFD, bound once
}

// newProber returns the prober of conn, or nil if conn has no socket to
// peek at (then every check passes).
func newProber(conn net.Conn) *prober {
	if dc, ok := conn.(*deadlineConn); ok {
		conn = dc.Conn
	}
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	p := &prober{raw: raw}
	p.peek = p.peekFD
	return p
}

func (p *prober) peekFD(fd uintptr) {
	n, _, err := syscall.Recvfrom(int(fd), p.buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	p.alive = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
	p.readable = p.alive || err == nil && n > 0
}

// check reports whether the connection is still usable: nothing to read,
// no end of stream, no error.
func (p *prober) check() bool {
	if p == nil {
		return true
	}
	p.alive = false
	// Control, not Read: no deadline check (a passed read deadline does
	// not make a connection unusable) and never a wait.
	if err := p.raw.Control(p.peek); err != nil {
		return false
	}
	return p.alive
}

// open reports whether the member's side of the connection is neither at
// its end nor broken: bytes wait to be read, or none yet.
func (p *prober) open() bool {
	if p == nil {
		return false
	}
	p.readable = false
	if err := p.raw.Control(p.peek); err != nil {
		return false
	}
	return p.readable
}
