package discovery

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/internal/loadtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDNSMemberChangesUnderLoad changes the SRV answer while 50 clients send
// requests through the balancer: members are added, removed (and then shut
// down, as a scaled-in instance is) and replaced. No request may fail, and
// a member that stays keeps its counters.
func TestDNSMemberChangesUnderLoad(t *testing.T) {
	const clients = 50
	srv := startDNS(t)
	var backends []*loadtest.Member
	for range 6 {
		backends = append(backends, loadtest.StartMember(t))
	}
	records := func(idx ...int) []string {
		var rrs []string
		for _, i := range idx {
			rrs = append(rrs,
				fmt.Sprintf("_http._tcp.load.test. 5 IN SRV 0 1 %s n%d.load.test.", backends[i].Port, i),
				fmt.Sprintf("n%d.load.test. 5 IN A 127.0.0.1", i))
		}
		return rrs
	}
	b, err := balancer.New(balancer.Config{Name: "load", Members: []balancer.Member{{URL: backends[0].Srv.URL}}})
	require.NoError(t, err)
	d := &DNS{Members: &MemberSet{Balancer: b}, SRV: "_http._tcp.load.test.", ResolveTargets: true, Resolver: srv.resolver()}
	front := httptest.NewServer(b)
	defer front.Close()

	load := loadtest.Start(t, front.URL, clients)
	load.Await(500)

	steps := []struct {
		members []int
		gone    []int // shut down after the change
	}{
		{members: []int{0, 1}},
		{members: []int{0, 1, 2}},
		{members: []int{1, 2}, gone: []int{0}},
		{members: []int{1, 2, 3, 4}},
		{members: []int{3, 4, 5}, gone: []int{1, 2}},
		{members: []int{5}, gone: []int{3, 4}},
	}
	elected := map[string]int64{}
	for _, step := range steps {
		srv.set(t, records(step.members...)...)
		res := d.Refresh(context.Background())
		require.NoError(t, res.Err)
		t.Logf("added %v removed %v", res.Diff.Added, res.Diff.Removed)
		// Members that stayed kept their counters.
		for _, m := range b.Members() {
			assert.GreaterOrEqual(t, m.Elected, elected[m.URL], "%s lost its counters", m.URL)
			elected[m.URL] = m.Elected
		}
		for _, i := range step.gone {
			backends[i].Srv.Close() // waits for the requests it has
		}
		load.Await(1000)
		for _, i := range step.members {
			assert.Positive(t, backends[i].Hits.Load(), "member %d got no request", i)
		}
	}
	load.Stop()
	t.Logf("%d clients: %d requests succeeded, %d failed, over %d member list changes", clients, load.OK.Load(), load.Failed.Load(), len(steps))
	assert.Zero(t, load.Failed.Load())
}
