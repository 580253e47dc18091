// Command httpd serves an Apache httpd 2.4 load-balancing configuration:
// its balancers, ProxyPass mounts, ProxyPassReverse rules, route cookie and
// health checks, and the balancer-manager when the configuration has a
// "SetHandler balancer-manager" <Location>.
//
//	go run ./examples/httpd -f examples/httpd/balancer.conf -backends
//	go run ./examples/httpd -f /etc/apache2/sites-enabled/app.conf -listen 127.0.0.1:8080
//
// Directives outside the supported subset are printed as warnings, with
// their file and line; configuration errors stop the program, naming the
// file, the line and the directive.
//
// Flags:
//
//	-f path      the configuration file (Include is followed)
//	-listen addr the address to serve on (httpd's Listen is not read);
//	             default 127.0.0.1:8080
//	-backends    start a small demo backend on every loopback member
//	             address, answering with its route and the path it got
//	-state path  where the manager keeps its changes when the configuration
//	             says BalancerPersist On; default: the config path + ".state.json"
//
// SIGHUP reads the configuration again and applies it to the running
// balancers (httpdconf.Loaded.Reload): members that stay keep their
// counters, error state and manager edits, removed ones finish their
// requests. A configuration with an error is reported and not applied.
//
// The manager is served where the configuration's <Location> says, under
// that section's access rules (Require, Order/Allow/Deny), as everything
// else the configuration serves.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/proxybalancer/balancer/examples/internal/demo"
	"github.com/proxybalancer/balancer/httpdconf"
)

// options are the command's settings.
type options struct {
	conf     string
	backends bool
	state    string
	// reload receives a value for each SIGHUP: the configuration is read
	// again and applied to the running balancers.
	reload <-chan struct{}
	// listeners, if set, are used for demo backends instead of listening
	// on their addresses (tests).
	listeners map[string]net.Listener
}

func main() {
	conf := flag.String("f", "examples/httpd/balancer.conf", "Apache configuration file")
	listen := flag.String("listen", "127.0.0.1:8080", "address to serve on")
	backends := flag.Bool("backends", false, "start demo backends on the loopback member addresses")
	state := flag.String("state", "", "manager state file for BalancerPersist On (default: config path + \".state.json\")")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reload := make(chan struct{})
	go func() {
		for {
			select {
			case <-hup:
				select {
				case reload <- struct{}{}:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	if err := run(ctx, l, options{conf: *conf, backends: *backends, state: *state, reload: reload}, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run serves the configuration on l until ctx ends.
func run(ctx context.Context, l net.Listener, o options, out io.Writer) error {
	defer l.Close()
	loaded, err := httpdconf.Load(o.conf, httpdconf.Options{StateFile: o.state})
	if err != nil {
		return err
	}
	c := loaded.Config
	for _, w := range c.Warnings {
		fmt.Fprintln(out, "warning:", w)
	}
	var servers []*http.Server
	defer func() {
		for _, s := range servers {
			s.Close()
		}
	}()
	if o.backends {
		servers, err = startBackends(c, o.listeners, out)
		if err != nil {
			return err
		}
	}

	for _, p := range c.ManagerPaths {
		fmt.Fprintf(out, "balancer-manager on http://%s%s\n", l.Addr(), p)
	}
	fallback := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "404 not proxied: no ProxyPass takes "+r.URL.Path, http.StatusNotFound)
	})
	for _, m := range c.Mounts {
		path := m.Path
		if m.Regex != "" {
			path = "~ " + m.Regex
		}
		if m.Balancer == "" {
			fmt.Fprintf(out, "%s: not proxied\n", path)
			continue
		}
		fmt.Fprintf(out, "%s -> balancer://%s%s\n", path, m.Balancer, m.BalancerPath)
	}
	fmt.Fprintf(out, "serving %s on http://%s; stop with Ctrl-C\n", o.conf, l.Addr())

	hcCtx, hcStop := context.WithCancel(ctx)
	hcDone := make(chan error, 1)
	go func() { hcDone <- loaded.RunHealthChecks(hcCtx) }()
	defer func() {
		hcStop()
		<-hcDone
	}()

	go reloads(ctx, loaded, o, out)
	return demo.Serve(ctx, l, loaded.Wrap(fallback))
}

// reloads reads the configuration again on each o.reload and applies it to
// the running balancers (members that stay keep their state); a
// configuration with an error is reported and not applied. It returns when
// ctx ends.
func reloads(ctx context.Context, loaded *httpdconf.Loaded, o options, out io.Writer) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-o.reload:
		}
		c, err := httpdconf.Read(o.conf, httpdconf.Options{StateFile: o.state})
		if err == nil {
			var next *httpdconf.Loaded
			if next, err = loaded.Reload(c, nil); err == nil {
				loaded = next
			}
		}
		if err != nil {
			fmt.Fprintln(out, "reload failed, still serving the previous configuration:", err)
			continue
		}
		for _, w := range c.Warnings {
			fmt.Fprintln(out, "warning:", w)
		}
		fmt.Fprintf(out, "reloaded %s\n", o.conf)
	}
}

// startBackends serves a demo backend on every loopback host:port that a
// member of the configuration names; members of other hosts are left
// alone.
func startBackends(c *httpdconf.Config, listeners map[string]net.Listener, out io.Writer) ([]*http.Server, error) {
	var servers []*http.Server
	seen := map[string]bool{}
	for _, bcs := range [][]httpdconf.BalancerConfig{c.Balancers, c.Workers} {
		for _, bc := range bcs {
			for _, m := range bc.Config.Members {
				u, err := url.Parse(m.URL)
				if err != nil || seen[u.Host] {
					continue
				}
				ip, err := netip.ParseAddr(u.Hostname())
				if err != nil || !ip.IsLoopback() || u.Port() == "" {
					continue
				}
				seen[u.Host] = true
				bl := listeners[u.Host]
				if bl == nil {
					if bl, err = net.Listen("tcp", u.Host); err != nil {
						for _, s := range servers {
							s.Close()
						}
						return nil, fmt.Errorf("demo backend for %s: %v", m.URL, err)
					}
				}
				name := m.Route
				if name == "" {
					name = u.Host
				}
				srv := &http.Server{Handler: backend(name), ReadHeaderTimeout: 10 * time.Second}
				servers = append(servers, srv)
				go srv.Serve(bl)
				fmt.Fprintf(out, "demo backend %s on %s (balancer://%s)\n", name, u.Host, bc.Config.Name)
			}
		}
	}
	return servers, nil
}

// backend answers with its name, the request line it got and its cookies.
func backend(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cookies := ""
		if c := r.Header.Get("Cookie"); c != "" {
			cookies = " (Cookie: " + c + ")"
		}
		fmt.Fprintf(w, "%s served %s %s%s\n", name, r.Method, r.URL.RequestURI(), cookies)
	})
}
