// Command fleet is one gateway of a fleet that shares its balancer's
// runtime state through etcd (package
// github.com/proxybalancer/balancer/etcd/fleet): an edit made on any
// gateway's balancer-manager is in force on all of them. With -member it
// is a demo application member instead, answering with its route.
//
//	go run . -member 127.0.0.1:18081 -route r1
//	go run . -name gw1 -addr 127.0.0.1:18001 -etcd http://127.0.0.1:2379 \
//	    -members http://127.0.0.1:18081,http://127.0.0.1:18082
//
// The gateway serves the balancer at / and its manager at
// /balancer-manager (nonce "fleet-demo"), and the fleet's status and
// history at /fleet. run.sh starts an etcd, three
// members and three gateways on loopback and shows an edit on one manager
// in force on all three. It is its own module, so the library pulls in no
// etcd code.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/etcd/fleet"
	"github.com/proxybalancer/balancer/manager"
)

func main() {
	name := flag.String("name", "gw", "this gateway's name in the fleet")
	addr := flag.String("addr", "127.0.0.1:18001", "listen address")
	endpoints := flag.String("etcd", "http://127.0.0.1:2379", "etcd endpoints, comma-separated")
	members := flag.String("members", "", "member URLs, comma-separated (each gets route r1, r2, ...)")
	member := flag.String("member", "", "run as a demo member on this address instead")
	route := flag.String("route", "", "the demo member's route")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if *member != "" {
		err = serveMember(ctx, *member, *route)
	} else {
		err = gateway(ctx, *name, *addr, strings.Split(*endpoints, ","), strings.Split(*members, ","))
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Fatal(err)
	}
}

// gateway serves a balancer and its manager, sharing the balancer's
// runtime state with the fleet until ctx ends.
func gateway(ctx context.Context, name, addr string, endpoints, urls []string) error {
	cfg := balancer.Config{Name: "app", StickySession: "ROUTEID", RouteCookie: &balancer.RouteCookie{Name: "ROUTEID", Path: "/"}}
	for i, u := range urls {
		cfg.Members = append(cfg.Members, balancer.Member{URL: u, Route: fmt.Sprint("r", i+1)})
	}
	b, err := balancer.New(cfg)
	if err != nil {
		return err
	}
	defer b.Close()
	mgr, err := manager.New(manager.Config{Balancers: []*balancer.Balancer{b}, Nonces: map[string]string{"app": "fleet-demo"}})
	if err != nil {
		return err
	}
	defer mgr.Close()

	client, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
		// Find a restarted etcd within a second (gRPC's backoff grows to
		// two minutes by default).
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: time.Second,
		})},
	})
	if err != nil {
		return err
	}
	defer client.Close()
	f := &fleet.Fleet{Client: client, Replica: name, Balancers: []*balancer.Balancer{b}, Logger: slog.Default()}
	// Take up the fleet's state before serving.
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = f.Load(lctx)
	cancel()
	if err != nil {
		return err
	}
	runDone := make(chan error, 1)
	runCtx, stopRun := context.WithCancel(context.Background())
	go func() { runDone <- f.Run(runCtx) }()

	mux := http.NewServeMux()
	mux.Handle("/", b)
	mux.Handle("/balancer-manager", mgr)
	mux.Handle("/fleet", f) // status, and who changed what, from where, when
	err = serve(ctx, addr, mux)
	// Publish what was edited here before leaving the fleet.
	fctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_ = f.Flush(fctx)
	cancel()
	stopRun()
	<-runDone
	return err
}

// serveMember answers every request with the member's route.
func serveMember(ctx context.Context, addr, route string) error {
	return serve(ctx, addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "member "+route+"\n")
	}))
}

// serve serves h on addr until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, addr string, h http.Handler) error {
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	<-done
	return ctx.Err()
}
