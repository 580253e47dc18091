package balancer_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/healthcheck"
)

// refusedURL returns a loopback URL on which nothing listens.
func refusedURL() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	return "http://" + l.Addr().String()
}

// An Observer sees each choice, each failover, each change of a member's
// flags and each finished request, on the request's goroutine.
func ExampleObserver() {
	live := exampleBackends("live")[0]
	defer live.Close()
	dead := refusedURL()
	name := strings.NewReplacer(dead, "dead", live.URL, "live").Replace

	obs := &balancer.Observer{
		Picked: func(e balancer.PickEvent) {
			fmt.Printf("picked %s (%s), attempt %d\n", name(e.Member), e.Reason, e.Attempt)
		},
		Retried: func(e balancer.RetryEvent) {
			fmt.Printf("retried after %s failed, sent: %v\n", name(e.Member), e.Sent)
		},
		StateChanged: func(e balancer.StateEvent) {
			fmt.Printf("%s: %s -> %s (%s)\n", name(e.Member), e.From, e.To, e.Why)
		},
		Done: func(e balancer.DoneEvent) {
			fmt.Printf("done: %d from %s after %d attempts\n", e.Status, name(e.Member), e.Attempts)
		},
	}
	b, err := balancer.New(balancer.Config{
		Name:     "observed",
		Members:  []balancer.Member{{URL: dead}, {URL: live.URL}},
		Observer: obs,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(exampleGet(b, "/", ""))
	// Output:
	// picked dead (scheduled), attempt 0
	// dead: Init Ok -> Init Err (connection failed)
	// retried after dead failed, sent: false
	// picked live (scheduled), attempt 1
	// done: 200 from live after 2 attempts
	// 200 live got /
}

// Update replaces the member list while requests flow: members that stay
// keep their state, new ones join the rotation, removed ones finish what
// they have.
func ExampleBalancer_Update() {
	srvs := exampleBackends("node1", "node2", "node3")
	for _, s := range srvs {
		defer s.Close()
	}
	b, err := balancer.New(balancer.Config{Name: "registry", Members: []balancer.Member{{URL: srvs[0].URL}}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(exampleGet(b, "/a", ""))
	// The registry now lists node2 and node3; node1 is gone.
	if err := b.Update([]balancer.Member{{URL: srvs[1].URL}, {URL: srvs[2].URL, LoadFactor: 2}}); err != nil {
		log.Fatal(err)
	}
	for range 3 {
		fmt.Println(exampleGet(b, "/b", ""))
	}
	// A bad list changes nothing and says what is wrong.
	fmt.Println(b.Update([]balancer.Member{{URL: srvs[1].URL, LoadFactor: 150}}) != nil, len(b.Members()))
	// Output:
	// 200 node1 got /a
	// 200 node3 got /b
	// 200 node2 got /b
	// 200 node3 got /b
	// true 2
}

// RunHealthChecks checks the members in the background while its context
// lasts: a member failing its check gets the C flag and no requests until
// it passes again.
func ExampleBalancer_RunHealthChecks() {
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "healthy got %s", r.URL.Path)
	}))
	defer healthy.Close()
	sick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			http.Error(w, "database down", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "sick got %s", r.URL.Path)
	}))
	defer sick.Close()

	check := healthcheck.Check{Method: healthcheck.MethodGet, URI: "/health", Interval: healthcheck.MinInterval}
	failed := make(chan struct{})
	b, err := balancer.New(balancer.Config{
		Name:    "checked",
		Members: []balancer.Member{{URL: sick.URL, HealthCheck: check}, {URL: healthy.URL, HealthCheck: check}},
		Observer: &balancer.Observer{StateChanged: func(e balancer.StateEvent) {
			if e.To.Has(balancer.StatusHCFailed) {
				fmt.Println("health check failed:", e.Member == sick.URL, e.To)
				close(failed)
			}
		}},
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- b.RunHealthChecks(ctx) }() // the goroutine is yours
	<-failed
	for range 2 {
		fmt.Println(exampleGet(b, "/app", ""))
	}
	cancel()
	fmt.Println(<-stopped)
	// Output:
	// health check failed: true Init HcFl
	// 200 healthy got /app
	// 200 healthy got /app
	// context canceled
}
