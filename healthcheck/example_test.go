package healthcheck_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/proxybalancer/balancer/healthcheck"
	"golang.org/x/sync/errgroup"
)

// member is how a balancer might present one of its members to the Checker.
type member struct {
	url *url.URL

	mu       sync.Mutex
	hcFailed bool // Apache's C flag
	inError  bool // Apache's E flag
}

func (m *member) Name() string  { return m.url.String() }
func (m *member) URL() *url.URL { return m.url }
func (m *member) Stopped() bool { return false }

func (m *member) Check() healthcheck.Check {
	return healthcheck.Check{
		Method:   healthcheck.MethodGet,
		URI:      "/health",
		Interval: 10 * time.Second,
		Fails:    3,
		Expect: func(r *healthcheck.Response) bool {
			return r.StatusCode == 200 && !strings.Contains(string(r.Body), "maintenance")
		},
	}
}

func (m *member) Down() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hcFailed || m.inError
}

func (m *member) Report(r healthcheck.Result) {
	if !r.Changed {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hcFailed = !r.Healthy
	if r.Healthy {
		m.inError = false // a passing check also ends the error state
	}
}

func ExampleChecker() {
	u, err := url.Parse("http://127.0.0.1:8080/app")
	if err != nil {
		log.Fatal(err)
	}
	members := []healthcheck.Target{&member{url: u}}
	c := &healthcheck.Checker{
		Targets: func() []healthcheck.Target { return members },
		Limit:   4,
	}

	ctx, cancel := context.WithCancel(context.Background())
	var g errgroup.Group
	g.Go(func() error { return c.Run(ctx) })

	// ... serve requests; c.State(u.String()) tells what the checks found ...

	cancel()
	if err := g.Wait(); !errors.Is(err, context.Canceled) {
		log.Fatal(err)
	}
}

func ExampleParseMethod() {
	for _, s := range []string{"get11", "TCP", "none", "CPING"} {
		m, err := healthcheck.ParseMethod(s)
		fmt.Println(m, err)
	}
	// Output:
	// GET11 <nil>
	// TCP <nil>
	// NONE <nil>
	// NONE healthcheck: method "CPING": unknown (want one of NONE, TCP, OPTIONS, HEAD, GET, OPTIONS11, HEAD11, GET11)
}
