package fleet_test

import (
	"context"
	"log"
	"time"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/etcd/fleet"
	"github.com/proxybalancer/balancer/healthcheck"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Sharing health results is opt-in: set ShareHealth, and pass the
// configuration of a replica that runs checks through Observe before
// building its balancer. Here this replica checks both members; the
// replicas that run no checks (same code, without RunHealthChecks and
// the HealthCheck settings) mark a member C while the checking replicas'
// reports say it fails, and clear it when they say it passes or their
// reports expire.
func ExampleFleet_Observe() {
	client, err := clientv3.New(clientv3.Config{Endpoints: []string{"127.0.0.1:2379"}})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	f := &fleet.Fleet{Client: client, Replica: "gw0", ShareHealth: true, HealthTTL: 10 * time.Second}

	check := healthcheck.Check{Method: healthcheck.MethodGet, URI: "/health", Interval: 5 * time.Second, Fails: 2}
	cfg := balancer.Config{Name: "app", Members: []balancer.Member{
		{URL: "http://10.0.0.1:8080", HealthCheck: check},
		{URL: "http://10.0.0.2:8080", HealthCheck: check},
	}}
	f.Observe(&cfg) // this replica's check results reach f
	b, err := balancer.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	f.Balancers = []*balancer.Balancer{b}

	ctx, stop := context.WithCancel(context.Background())
	defer stop() // Run ends, revoking this replica's health report
	if err := f.Load(ctx); err != nil {
		log.Fatal(err)
	}
	go f.Run(ctx)
	go b.RunHealthChecks(ctx)
	// ... serve b ...
}
