//go:build linux

package lbmethod

import (
	"net"
	"slices"
	"syscall"
	"testing"
)

// TestHeartbeatListenerMulticast joins a group as mod_heartmonitor's
// HeartbeatListen does and receives a datagram sent to it. The datagram is
// sent with TTL 0 and multicast loopback on, so it never leaves the host.
func TestHeartbeatListenerMulticast(t *testing.T) {
	ifi, addrs := multicastInterface(t)
	tab := &HeartbeatTable{}
	l, err := ListenHeartbeat("239.255.77.77:0", ifi, tab)
	if err != nil {
		t.Fatal(err)
	}
	got := runListener(t, l)

	s, err := net.ListenUDP("udp4", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	rc, err := s.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, syscall.IP_MULTICAST_TTL, 0)
		if serr == nil {
			serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, syscall.IP_MULTICAST_LOOP, 1)
		}
		if serr == nil {
			serr = syscall.SetsockoptIPMreqn(int(fd), syscall.IPPROTO_IP, syscall.IP_MULTICAST_IF, &syscall.IPMreqn{Ifindex: int32(ifi.Index)})
		}
	}); err != nil || serr != nil {
		t.Fatalf("sender socket options: %v %v", err, serr)
	}
	group := &net.UDPAddr{IP: net.IPv4(239, 255, 77, 77), Port: l.Addr().(*net.UDPAddr).Port}
	if _, err := s.WriteToUDP([]byte("v=1&ready=9&busy=4"), group); err != nil {
		t.Fatal(err)
	}
	ip := await(t, got, 1)[0]
	if !slices.Contains(addrs, ip) {
		t.Errorf("report from %s, want one of %s's addresses %v", ip, ifi.Name, addrs)
	}
	if r, ok := tab.Lookup(ip); !ok || r.Ready != 9 || r.Busy != 4 {
		t.Errorf("Lookup(%s) = %+v %v, want ready 9 busy 4", ip, r, ok)
	}
}

// multicastInterface returns an up, multicast-capable interface with an
// IPv4 address, and those addresses. Without one (a sandbox with only a
// loopback interface, which Linux does not flag for multicast) the test
// cannot join a group and is skipped.
func multicastInterface(t *testing.T) (*net.Interface, []string) {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagUp == 0 || ifi.Flags&net.FlagMulticast == 0 || ifi.Flags&net.FlagLoopback != 0 {
			continue
		}
		as, err := ifi.Addrs()
		if err != nil {
			continue
		}
		var v4 []string
		for _, a := range as {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
				v4 = append(v4, n.IP.String())
			}
		}
		if len(v4) > 0 {
			return &ifi, v4
		}
	}
	t.Skip("no up multicast interface with an IPv4 address: cannot join a multicast group here")
	return nil, nil
}
