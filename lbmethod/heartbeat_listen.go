package lbmethod

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
)

// HeartbeatListener receives mod_heartbeat's UDP datagrams
// ("v=1&ready=25&busy=0", one per second per server) and records them in a
// [HeartbeatTable] under the datagram's source IP, as mod_heartmonitor's
// HeartbeatListen does. Build it with [ListenHeartbeat], then call Run from
// a goroutine the caller owns.
//
// Datagrams longer than 1000 bytes or malformed (see [ParseHeartbeat]) are
// dropped and counted by Rejected. Anyone who can send to the address can
// report for any source address it can forge: listen on an address only the
// backends reach (mod_heartbeat's own docs use the administratively scoped
// multicast group 239.0.0.1).
type HeartbeatListener struct {
	conn  *net.UDPConn
	table *HeartbeatTable

	accepted, rejected atomic.Int64
	onReport           func(ip string) // tests: called after each datagram, before the next read
}

// ListenHeartbeat binds the UDP address addr ("ip:port"; port 0 picks a
// free one) for reports into table. When the IP is a multicast group
// (e.g. "239.0.0.1:27999") it binds the group's port and joins the group on
// ifi, or on the system's default multicast interface when ifi is nil; for
// a unicast address ifi is ignored. Nothing is received until Run.
func ListenHeartbeat(addr string, ifi *net.Interface, table *HeartbeatTable) (*HeartbeatListener, error) {
	if table == nil {
		return nil, errors.New("lbmethod: heartbeat listen: nil table")
	}
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("lbmethod: heartbeat listen address %q: %w", addr, err)
	}
	var conn *net.UDPConn
	if ua.IP.IsMulticast() {
		conn, err = net.ListenMulticastUDP("udp", ifi, ua)
	} else {
		conn, err = net.ListenUDP("udp", ua)
	}
	if err != nil {
		return nil, fmt.Errorf("lbmethod: heartbeat listen address %q: %w", addr, err)
	}
	return &HeartbeatListener{conn: conn, table: table}, nil
}

// Addr returns the bound local address.
func (l *HeartbeatListener) Addr() net.Addr { return l.conn.LocalAddr() }

// Run receives reports until ctx is done or Close is called, then closes
// the socket and returns nil; it returns an error only when receiving
// fails otherwise. Call it once.
func (l *HeartbeatListener) Run(ctx context.Context) error {
	defer l.conn.Close()
	stop := context.AfterFunc(ctx, func() { l.conn.Close() })
	defer stop()
	buf := make([]byte, heartbeatMaxBody+1)
	for {
		n, src, err := l.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("lbmethod: heartbeat listener %s: %w", l.conn.LocalAddr(), err)
		}
		ip := src.Addr().Unmap().String()
		if l.receive(buf[:n], ip) {
			l.accepted.Add(1)
		} else {
			l.rejected.Add(1)
		}
		if l.onReport != nil {
			l.onReport(ip)
		}
	}
}

// receive records one datagram from ip and reports whether it was valid.
func (l *HeartbeatListener) receive(b []byte, ip string) bool {
	if len(b) > heartbeatMaxBody {
		return false
	}
	r, err := ParseHeartbeat(b)
	if err != nil {
		return false
	}
	r.Seen = l.table.now()
	return l.table.record(ip, r) == nil
}

// Close stops Run, or releases the socket of a listener never run.
func (l *HeartbeatListener) Close() error {
	if err := l.conn.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("lbmethod: heartbeat listener %s: %w", l.conn.LocalAddr(), err)
	}
	return nil
}

// Accepted returns how many reports were recorded.
func (l *HeartbeatListener) Accepted() int64 { return l.accepted.Load() }

// Rejected returns how many datagrams were dropped as too long, malformed
// or not recordable (table full).
func (l *HeartbeatListener) Rejected() int64 { return l.rejected.Load() }
