package discovery

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"
)

// testDNS is an authoritative DNS server on a free loopback UDP port
// serving records the test sets, built with miekg/dns.
type testDNS struct {
	addr string
	srv  *dns.Server

	mu       sync.Mutex
	records  map[string][]dns.RR // by lower-case FQDN
	servfail bool
	queries  int
}

func startDNS(t *testing.T) *testDNS {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	d := &testDNS{addr: pc.LocalAddr().String(), records: map[string][]dns.RR{}}
	started := make(chan struct{})
	d.srv = &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(d.serve), NotifyStartedFunc: func() { close(started) }}
	done := make(chan error, 1)
	go func() { done <- d.srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() {
		require.NoError(t, d.srv.Shutdown())
		<-done
	})
	return d
}

// set replaces the records, given in zone file syntax ("a.test. 30 IN A
// 127.0.0.1").
func (d *testDNS) set(t *testing.T, rrs ...string) {
	t.Helper()
	m := map[string][]dns.RR{}
	for _, s := range rrs {
		rr, err := dns.NewRR(s)
		require.NoError(t, err, s)
		name := strings.ToLower(rr.Header().Name)
		m[name] = append(m[name], rr)
	}
	d.mu.Lock()
	d.records, d.servfail = m, false
	d.mu.Unlock()
}

// fail makes every answer SERVFAIL until the next set.
func (d *testDNS) fail() {
	d.mu.Lock()
	d.servfail = true
	d.mu.Unlock()
}

func (d *testDNS) serve(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	d.mu.Lock()
	d.queries++
	if d.servfail {
		m.Rcode = dns.RcodeServerFailure
	} else if len(req.Question) == 1 {
		q := req.Question[0]
		rrs, ok := d.records[strings.ToLower(q.Name)]
		if !ok {
			m.Rcode = dns.RcodeNameError
		}
		for _, rr := range rrs {
			if rr.Header().Rrtype == q.Qtype {
				m.Answer = append(m.Answer, dns.Copy(rr))
			}
		}
	}
	d.mu.Unlock()
	_ = w.WriteMsg(m)
}

// resolver returns a pure Go resolver that asks only this server.
func (d *testDNS) resolver() *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var nd net.Dialer
			return nd.DialContext(ctx, "udp", d.addr)
		},
	}
}
