package balancer_test

import (
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/lbmethod"
)

// TestByRequestsListsSameAsLoop: the default byrequests, which keeps its
// credits per cached candidate list, chooses exactly as byrequests over
// Member.LBStatus (a scheduler the balancer can only call Pick on), and
// reports the same lbstatus, through a random mix of scheduled requests,
// sticky hits, Decide, members failing (connection refused: error state,
// failover) and coming back when their retry is due, members set in error,
// disabled and drained, and member list updates with new load factors.
func TestByRequestsListsSameAsLoop(t *testing.T) {
	plain := lbmethod.MethodFunc("byrequests", func() lbmethod.Scheduler { return lbmethod.NewByRequests() })
	for seed := range uint64(8) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rnd := rand.New(rand.NewPCG(seed, 7))
			list := func() []balancer.Member {
				var ms []balancer.Member
				for i := range 12 {
					ms = append(ms, balancer.Member{
						URL:        fmt.Sprintf("http://m%d", i),
						Route:      fmt.Sprint("r", i),
						LoadFactor: float64(1 + rnd.IntN(3)),
						LBSet:      rnd.IntN(4) / 3, // a few in lbset 1
						Retry:      time.Duration(1+rnd.IntN(3)) * time.Second,
					})
				}
				return ms
			}
			ms := list()
			clk := newClock()
			stubs := []*stub{newStub(), newStub()}
			cfg := func(m lbmethod.Method, st *stub) balancer.Config {
				return balancer.Config{Name: "eq", Members: ms, Method: m, StickySession: "JSESSIONID", Transport: st, Now: clk.Now}
			}
			ours, ref := mustNew(t, cfg(nil, stubs[0])), mustNew(t, cfg(plain, stubs[1]))
			both := []*balancer.Balancer{ours, ref}
			for step := range 4000 {
				switch op := rnd.IntN(100); {
				case op < 2: // a member's connections are refused, or accepted again
					host, dead := fmt.Sprintf("m%d", rnd.IntN(12)), rnd.IntN(2) == 0
					for _, s := range stubs {
						s.SetDead(host, dead)
					}
					continue
				case op < 5:
					clk.Advance(time.Duration(rnd.IntN(1500)) * time.Millisecond)
					continue
				case op < 3:
					u := fmt.Sprintf("http://m%d", rnd.IntN(12))
					f := []balancer.Status{balancer.StatusError, balancer.StatusDisabled, balancer.StatusDrain}[rnd.IntN(3)]
					set := rnd.IntN(2) == 0
					for _, b := range both {
						if set {
							require.NoError(t, b.SetStatus(u, f, 0))
						} else {
							require.NoError(t, b.SetStatus(u, 0, f))
						}
					}
				case op < 4:
					next := list()
					for _, b := range both {
						require.NoError(t, b.Update(next))
					}
				case op < 8:
					a, b := ours.Members(), ref.Members()
					for i := range a {
						require.Equal(t, b[i].Load, a[i].Load, "step %d: lbstatus of %s", step, a[i].URL)
					}
				case op < 20:
					r := httptest.NewRequest("GET", "http://front.example/x", nil)
					require.Equal(t, ref.Decide(r), ours.Decide(r), "step %d: Decide", step)
				default:
					cookie := ""
					if op < 40 {
						cookie = fmt.Sprintf("JSESSIONID=s.r%d", rnd.IntN(12))
					}
					got, _ := serve(t, ours, "/x", cookie)
					want, _ := serve(t, ref, "/x", cookie)
					require.Equal(t, want, got, "step %d: member chosen (cookie %q)", step, cookie)
				}
			}
			a, b := ours.Members(), ref.Members()
			for i := range a {
				assert.Equal(t, b[i].Load, a[i].Load, "lbstatus of %s at the end", a[i].URL)
			}
		})
	}
}
