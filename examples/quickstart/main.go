// Command quickstart starts three small backends in-process and a balancer
// in front of them, prints what to try with curl, and runs until
// interrupted.
//
//	go run ./examples/quickstart [-addr 127.0.0.1:8080]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/examples/internal/demo"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address the balancer listens on")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if err := run(ctx, l, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run serves on l until ctx ends.
func run(ctx context.Context, l net.Listener, out io.Writer) error {
	var members []balancer.Member
	var servers []*http.Server
	for i, route := range []string{"node1", "node2", "node3"} {
		bl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: backend(route), ReadHeaderTimeout: 5 * time.Second}
		servers = append(servers, srv)
		go srv.Serve(bl)
		m := balancer.Member{URL: "http://" + bl.Addr().String(), Route: route}
		if i == 2 {
			m.Status = "+H" // the third is a hot standby
		}
		members = append(members, m)
	}
	b, err := balancer.New(balancer.Config{
		Name:          "quickstart",
		Members:       members,
		StickySession: "ROUTEID",
		// The Apache docs' ROUTEID recipe: a cookie naming the route
		// whenever the request had none.
		RouteCookie: &balancer.RouteCookie{Name: "ROUTEID", Path: "/"},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, `balancer on http://%[1]s over node1, node2 and node3 (hot standby)
try:
  curl -i http://%[1]s/hello                      # round robin over node1 and node2, sets ROUTEID
  curl -i -b 'ROUTEID=.node2' http://%[1]s/hello  # sticks to node2
  curl -i 'http://%[1]s/hello?ROUTEID=.node3'     # the standby serves its own sessions
stop with Ctrl-C
`, l.Addr())
	err = demo.Serve(ctx, l, b)
	for _, s := range servers {
		s.Close()
	}
	return err
}

// backend answers with its route, the path it got and the sticky cookie.
func backend(route string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := ""
		if c, err := r.Cookie("ROUTEID"); err == nil {
			info = " (ROUTEID=" + c.Value + ")"
		}
		fmt.Fprintf(w, "%s served %s %s%s\n", route, r.Method, r.URL.Path, info)
	})
}
