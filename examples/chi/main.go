// Command chi shows the balancer with a chi router, both ways round: as
// middleware in front of the router (ProxyPass /api balancer://api, the
// router serves everything else), and mounted inside the router on a route.
//
//	go run ./examples/chi [-addr 127.0.0.1:8081]
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

	"github.com/go-chi/chi/v5"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/examples/internal/demo"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address")
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
	fmt.Printf("curl http://%[1]s/api/users  (balanced)\ncurl http://%[1]s/health     (chi)\ncurl http://%[1]s/v2/items   (balancer mounted in chi)\n", l.Addr())
	if err := demo.Serve(ctx, l, h); err != nil {
		log.Fatal(err)
	}
}

// newHandler builds the front end: a chi router behind ProxyPass-style
// middleware.
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
	mux, err := balancer.NewMux(
		balancer.ProxyPass{Path: "/api/static"},
		balancer.ProxyPass{Path: "/api", Balancer: api, BalancerPath: "/internal"},
	)
	if err != nil {
		return nil, err
	}
	r := chi.NewRouter()
	r.Use(mux.Wrap) // the balancer as middleware: chi serves what it does not
	r.Get("/health", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok from chi\n") })
	r.Get("/api/static/*", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "static from chi\n") })
	// Mounted inside the router: the balancer gets the request path as it is.
	r.Handle("/v2/*", api)
	return r, nil
}
