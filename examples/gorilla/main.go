// Command gorilla shows the balancer with a gorilla/mux router, both ways round: as
// middleware in front of the router (ProxyPass /api balancer://api, the
// router serves everything else), and mounted inside the router on a route.
//
//	go run ./examples/gorilla [-addr 127.0.0.1:8082]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"

	"github.com/gorilla/mux"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/examples/internal/demo"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8082", "listen address")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	backends := demo.Backends("backend1", "backend2")
	defer func() {
		for _, s := range backends {
			s.Close()
		}
	}()
	h, err := newHandler(backends)
	if err != nil {
		log.Fatal(err)
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("curl http://%[1]s/api/users  (balanced)\ncurl http://%[1]s/health     (gorilla)\ncurl http://%[1]s/v2/items   (balancer mounted in gorilla)\n", l.Addr())
	if err := demo.Serve(ctx, l, h); err != nil {
		log.Fatal(err)
	}
}

// newHandler builds the front end: a gorilla/mux router behind
// ProxyPass-style middleware.
func newHandler(backends []*httptest.Server) (http.Handler, error) {
	var members []balancer.Member
	for _, s := range backends {
		members = append(members, balancer.Member{URL: s.URL})
	}
	api, err := balancer.New(balancer.Config{Name: "api", Members: members})
	if err != nil {
		return nil, err
	}
	// ProxyPass /api/static !   and   ProxyPass /api balancer://api/internal
	pass, err := balancer.NewMux(
		balancer.ProxyPass{Path: "/api/static"},
		balancer.ProxyPass{Path: "/api", Balancer: api, BalancerPath: "/internal"},
	)
	if err != nil {
		return nil, err
	}
	r := mux.NewRouter()
	r.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok from gorilla\n") }).Methods("GET")
	r.PathPrefix("/api/static/").HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "static from gorilla\n") })
	// Mounted inside the router: the balancer gets the request path as it is.
	r.PathPrefix("/v2/").Handler(api)
	// The balancer as middleware in front: gorilla serves what it does not.
	return pass.Wrap(r), nil
}
