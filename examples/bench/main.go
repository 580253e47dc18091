// Command bench serves one balancer on a listen address over the backend
// URLs it is given, so a load harness can measure it beside other proxies
// (scripts/bench.sh runs it beside a bare httputil.ReverseProxy).
//
//	go build -o /tmp/lbbench-ours ./examples/bench
//	/tmp/lbbench-ours -listen 127.0.0.1:19220 \
//	    -backends http://127.0.0.1:19101,http://127.0.0.1:19102
//
// By default it runs the configuration issue 9 sets its targets for:
// byrequests, stickysession=JSESSIONID (requests without the cookie are
// scheduled, as a client's first request is) and a GET health check of "/"
// every 5 s on every member. Members get the routes b1, b2, ... in the order
// given, so "JSESSIONID=x.b2" sticks to the second backend. Each member has
// the library's own transport (package transport) with its defaults.
//
// Flags:
//
//	-listen ADDR        address to listen on
//	-backends URLS      comma-separated member URLs
//	-method NAME        lbmethod name (byrequests, bybusyness, bytraffic, latency)
//	-sticky VALUE       stickysession value, e.g. "JSESSIONID|jsessionid"; "" for none
//	-hc METHOD          health-check method (GET, HEAD, OPTIONS, TCP, GET11, ...); "none" for none
//	-hcuri PATH         health-check path (default "/")
//	-hcinterval D       health-check interval (default 5s)
//	-cpuprofile FILE    write a CPU profile of the whole run, flushed on SIGTERM/SIGINT
//
// SIGTERM or SIGINT stops it: the server shuts down (in-flight requests get
// up to 2 s), the health checks end, the profile is written, exit status 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/healthcheck"
	"github.com/proxybalancer/balancer/lbmethod"
)

// options are the command line's settings.
type options struct {
	backends   string
	method     string
	sticky     string
	hc         string
	hcURI      string
	hcInterval time.Duration
}

// defaults returns the configuration issue 9's targets are set for:
// byrequests, stickysession JSESSIONID, a GET health check of "/" every 5 s.
func defaults() options {
	return options{
		backends:   "http://127.0.0.1:19101,http://127.0.0.1:19102",
		method:     "byrequests",
		sticky:     "JSESSIONID",
		hc:         "GET",
		hcURI:      "/",
		hcInterval: 5 * time.Second,
	}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:19220", "address to listen on")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file; it is flushed on SIGTERM/SIGINT")
	o := defaults()
	flag.StringVar(&o.backends, "backends", o.backends, "comma-separated member URLs")
	flag.StringVar(&o.method, "method", o.method, "load-balancing method (lbmethod name)")
	flag.StringVar(&o.sticky, "sticky", o.sticky, `stickysession value ("COOKIE|PARAM" or "NAME"); "" disables sticky sessions`)
	flag.StringVar(&o.hc, "hc", o.hc, `health-check method (Apache's hcmethod); "none" disables health checks`)
	flag.StringVar(&o.hcURI, "hcuri", o.hcURI, "health-check path")
	flag.DurationVar(&o.hcInterval, "hcinterval", o.hcInterval, "health-check interval")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	h, err := newHandler(o)
	if err != nil {
		log.Fatal(err)
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	if err := serve(ctx, l, h, *cpuprofile, o, os.Stderr); err != nil {
		log.Fatal(err)
	}
}

// serve serves h on l until ctx ends, profiling the whole run into
// cpuprofile if it is set.
func serve(ctx context.Context, l net.Listener, h handler, cpuprofile string, o options, logw io.Writer) (err error) {
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			l.Close()
			return fmt.Errorf("bench: -cpuprofile %q: %w", cpuprofile, err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			l.Close()
			return fmt.Errorf("bench: -cpuprofile %q: %w", cpuprofile, err)
		}
		defer func() {
			pprof.StopCPUProfile()
			if cerr := f.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("bench: -cpuprofile %q: %w", cpuprofile, cerr)
			}
		}()
	}
	fmt.Fprintf(logw, "bench pid %d listening on %s: members %s, method %s, sticky %q, health check %s\n",
		os.Getpid(), l.Addr(), o.backends, o.method, o.sticky, o.hcDescription())
	return run(ctx, l, h)
}

// handler is a configured balancer and whether it has health checks to run.
type handler struct {
	b  *balancer.Balancer
	hc bool
}

// newHandler builds the balancer o describes. Errors name the flag and
// its value.
func newHandler(o options) (handler, error) {
	var members []balancer.Member
	for _, u := range strings.Split(o.backends, ",") {
		u = strings.TrimSpace(u)
		if u == "" {
			continue
		}
		members = append(members, balancer.Member{URL: u, Route: fmt.Sprintf("b%d", len(members)+1)})
	}
	if len(members) == 0 {
		return handler{}, fmt.Errorf("bench: -backends %q: no member URL", o.backends)
	}
	method, err := lbmethod.ByName(o.method)
	if err != nil {
		return handler{}, fmt.Errorf("bench: -method %q: %w", o.method, err)
	}
	hcMethod, err := healthcheck.ParseMethod(o.hc)
	if err != nil {
		return handler{}, fmt.Errorf("bench: -hc %q: %w", o.hc, err)
	}
	if hcMethod != healthcheck.MethodNone {
		check := healthcheck.Check{Method: hcMethod, URI: o.hcURI, Interval: o.hcInterval}
		if err := check.Validate(); err != nil {
			return handler{}, fmt.Errorf("bench: -hc %q -hcuri %q -hcinterval %v: %w", o.hc, o.hcURI, o.hcInterval, err)
		}
		for i := range members {
			members[i].HealthCheck = check
		}
	}
	b, err := balancer.New(balancer.Config{
		Name:          "bench",
		Members:       members,
		Method:        method,
		StickySession: o.sticky,
	})
	if err != nil {
		return handler{}, err
	}
	return handler{b: b, hc: hcMethod != healthcheck.MethodNone}, nil
}

func (o options) hcDescription() string {
	if m, err := healthcheck.ParseMethod(o.hc); err == nil && m == healthcheck.MethodNone {
		return "none"
	}
	return fmt.Sprintf("%s %s every %v", o.hc, o.hcURI, o.hcInterval)
}

// run serves h on l and runs its health checks until ctx ends, then shuts
// the server down (in-flight requests get up to 2 s) and waits for the
// health checks to end.
func run(ctx context.Context, l net.Listener, h handler) error {
	srv := &http.Server{
		Handler:           h.b,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       5 * time.Minute,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	hcCtx, stopHC := context.WithCancel(context.Background())
	defer stopHC()
	var wg sync.WaitGroup
	if h.hc {
		wg.Go(func() { h.b.RunHealthChecks(hcCtx) })
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()

	var err error
	select {
	case err = <-errc: // the listener failed
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if serr := srv.Shutdown(shutdown); serr != nil {
			srv.Close()
		}
		cancel()
		err = <-errc
	}
	stopHC()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
