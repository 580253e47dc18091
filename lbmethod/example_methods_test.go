package lbmethod_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/lbmethod"
)

// members starts in-process members answering with their name, and a
// body of size bytes when one is given ("big:1000").
func members(specs ...string) (urls map[string]string, ms []balancer.Member, stop func()) {
	urls = map[string]string{}
	var srvs []*httptest.Server
	for _, spec := range specs {
		name, size, _ := strings.Cut(spec, ":")
		body := name
		if size != "" {
			var n int
			fmt.Sscan(size, &n)
			body = name + strings.Repeat(".", n-len(name))
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, body)
		}))
		srvs = append(srvs, srv)
		urls[srv.URL] = name
		ms = append(ms, balancer.Member{URL: srv.URL})
	}
	return urls, ms, func() {
		for _, s := range srvs {
			s.Close()
		}
	}
}

// send sends n requests through h and returns who answered each.
func send(h http.Handler, n int) string {
	var out []string
	for range n {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		name, _, _ := strings.Cut(w.Body.String(), ".")
		out = append(out, name)
	}
	return strings.Join(out, " ")
}

// byrequests (the default) spreads requests by load factor: b, with twice
// a's factor, gets two requests in three, interleaved.
func ExampleByRequests() {
	_, ms, stop := members("a", "b")
	defer stop()
	ms[1].LoadFactor = 2
	b, err := balancer.New(balancer.Config{Name: "req", Method: lbmethod.MethodByRequests, Members: ms})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(send(b, 6))
	// Output:
	// b a b b a b
}

// bybusyness sends a request to the member with the fewest requests in
// flight: while slow holds one, the others go to fast.
func ExampleByBusyness() {
	release, arrived := make(chan struct{}), make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		io.WriteString(w, "slow")
	}))
	defer slow.Close()
	_, ms, stop := members("fast")
	defer stop()
	b, err := balancer.New(balancer.Config{Name: "busy", Method: lbmethod.MethodByBusyness,
		Members: append([]balancer.Member{{URL: slow.URL}}, ms...)})
	if err != nil {
		log.Fatal(err)
	}
	held := make(chan string)
	go func() { held <- send(b, 1) }() // both idle: the first member, slow
	<-arrived
	fmt.Println("while slow is busy:", send(b, 3))
	close(release)
	fmt.Println("held request answered by", <-held)
	// Output:
	// while slow is busy: fast fast fast
	// held request answered by slow
}

// bytraffic sends a request to the member that has moved the fewest bytes
// for its load factor: after one large answer from big, small takes the
// next requests until its bytes catch up.
func ExampleByTraffic() {
	_, ms, stop := members("big:4000", "small")
	defer stop()
	b, err := balancer.New(balancer.Config{Name: "traffic", Method: lbmethod.MethodByTraffic, Members: ms})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(send(b, 5))
	// Output:
	// big small small small small
}

// The latency method prefers the member answering faster, until enough
// requests are in flight there to make the slower one cheaper. Here the
// scheduler is driven directly, as a balancer drives it.
func ExampleLatency() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := &lbmethod.Latency{Now: func() time.Time { return now }}
	slow := lbmethod.NewMember("http://10.0.0.1", "10.0.0.1", 100)
	fast := lbmethod.NewMember("http://10.0.0.2", "10.0.0.2", 100)
	l.Done(slow, lbmethod.DoneInfo{Status: 200, Latency: 80 * time.Millisecond})
	l.Done(fast, lbmethod.DoneInfo{Status: 200, Latency: 5 * time.Millisecond})
	for _, m := range []*lbmethod.Member{slow, fast} {
		e, measured := l.Estimate(m)
		fmt.Println(m.Name, e, measured)
	}
	cands := []*lbmethod.Member{slow, fast}
	fmt.Println("idle:", cands[l.Pick(cands)].Name)
	fast.AddBusy(20) // 5 ms × 21 in flight costs more than 80 ms × 1
	fmt.Println("fast has 20 in flight:", cands[l.Pick(cands)].Name)
	// Output:
	// http://10.0.0.1 80ms true
	// http://10.0.0.2 5ms true
	// idle: http://10.0.0.2
	// fast has 20 in flight: http://10.0.0.1
}

// The heartbeat method picks at random, weighted by the idle worker slots
// each server reports (mod_heartbeat's ready); a server reporting none is
// never picked. Decide shows where requests would go without sending them.
func ExampleHeartbeat() {
	tab := &lbmethod.HeartbeatTable{}
	if err := tab.Record("10.0.0.1", lbmethod.HeartbeatReport{Ready: 0, Busy: 50}); err != nil {
		log.Fatal(err)
	}
	if err := tab.Record("10.0.0.2", lbmethod.HeartbeatReport{Ready: 30, Busy: 20}); err != nil {
		log.Fatal(err)
	}
	b, err := balancer.New(balancer.Config{
		Name:    "hb",
		Method:  lbmethod.MethodHeartbeat(tab),
		Members: []balancer.Member{{URL: "http://10.0.0.1:8080"}, {URL: "http://10.0.0.2:8080"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	for range 3 {
		fmt.Println(b.Decide(httptest.NewRequest("GET", "/", nil)).Member)
	}
	// Output:
	// http://10.0.0.2:8080
	// http://10.0.0.2:8080
	// http://10.0.0.2:8080
}

// leastElected is a custom scheduler: the candidate chosen least often so
// far, the first on a tie. Embedding Base gives Apache's sticky-hit
// bookkeeping and no-op Done and Reset.
type leastElected struct{ lbmethod.Base }

func (leastElected) Pick(cands []*lbmethod.Member) int {
	best := 0
	for i, m := range cands {
		if m.Elected() < cands[best].Elected() {
			best = i
		}
	}
	return best
}

// A custom Scheduler plugs in as Config.Method through MethodFunc: here a
// member added by Update takes the requests until it has caught up.
func ExampleScheduler() {
	_, ms, stop := members("a", "b", "c")
	defer stop()
	b, err := balancer.New(balancer.Config{
		Name:    "custom",
		Method:  lbmethod.MethodFunc("leastelected", func() lbmethod.Scheduler { return leastElected{} }),
		Members: ms[:2],
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(send(b, 4))
	if err := b.Update(ms); err != nil { // c joins
		log.Fatal(err)
	}
	fmt.Println(send(b, 5))
	// Output:
	// a b a b
	// c c a b c
}
