// Command manager runs a balancer over three in-process backends and its
// balancer-manager behind a simple guard: only clients from the allowed
// networks get in, and with -user also only with that user's password
// (HTTP basic auth, the password read from $MANAGER_PASSWORD).
//
//	go run ./examples/manager [-addr 127.0.0.1:8080] [-allow 127.0.0.0/8,::1/128]
//	                          [-host admin.example.com,...]
//	                          [-user admin] [-state /var/lib/gw/manager.json]
//
// The balancer serves /app/, the manager /balancer-manager. The manager has
// no access control of its own: whatever serves it must guard it, as
// Apache's <Location "/balancer-manager"> with Require does. It answers
// only for the host names given with -host (by default loopback addresses
// and localhost), so that a page of another site whose name was rebound to
// this address cannot use it.
package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/examples/internal/demo"
	"github.com/proxybalancer/balancer/manager"
)

// options are the command's settings.
type options struct {
	allow     []netip.Prefix
	user      string // "" = no basic auth
	password  string
	stateFile string
	hosts     []string // nil = loopback and localhost
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	allow := flag.String("allow", "127.0.0.0/8,::1/128", "comma-separated networks allowed to reach the manager")
	user := flag.String("user", "", "require HTTP basic auth with this user name and the password in $MANAGER_PASSWORD")
	state := flag.String("state", "", "keep manager changes in this state file across restarts")
	hosts := flag.String("host", "", "comma-separated host names the manager answers for (default: loopback addresses and localhost)")
	flag.Parse()
	o := options{user: *user, password: os.Getenv("MANAGER_PASSWORD"), stateFile: *state}
	for _, h := range strings.Split(*hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			o.hosts = append(o.hosts, h)
		}
	}
	for _, s := range strings.Split(*allow, ",") {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			log.Fatalf("-allow %q: %v", s, err)
		}
		o.allow = append(o.allow, p)
	}
	if o.user != "" && o.password == "" {
		log.Fatal("-user needs a password in $MANAGER_PASSWORD")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if err := run(ctx, l, o, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run serves on l until ctx ends.
func run(ctx context.Context, l net.Listener, o options, out io.Writer) error {
	var members []balancer.Member
	var servers []*http.Server
	defer func() {
		for _, s := range servers {
			s.Close()
		}
	}()
	for _, route := range []string{"node1", "node2", "node3"} {
		bl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: backend(route), ReadHeaderTimeout: 5 * time.Second}
		servers = append(servers, srv)
		go srv.Serve(bl)
		members = append(members, balancer.Member{URL: "http://" + bl.Addr().String(), Route: route})
	}
	b, err := balancer.New(balancer.Config{Name: "app", Members: members, StickySession: "ROUTEID"})
	if err != nil {
		return err
	}
	mgr, err := manager.New(manager.Config{
		Balancers: []*balancer.Balancer{b},
		Growth:    2, // two members may be added from the page
		StateFile: o.stateFile,
		Hosts:     o.hosts,
	})
	if err != nil {
		return err
	}
	// Sample the members for the page's live charts while serving.
	runCtx, stopRun := context.WithCancel(ctx)
	runDone := make(chan error, 1)
	go func() { runDone <- mgr.Run(runCtx) }()
	defer func() { stopRun(); <-runDone }()
	mux := http.NewServeMux()
	mux.Handle("/app/", b)
	mux.Handle("/balancer-manager", guard(mgr, o))
	fmt.Fprintf(out, `balancer on http://%[1]s/app/ over node1, node2, node3
manager on http://%[1]s/balancer-manager (allowed: %[2]v%[3]s)
stop with Ctrl-C
`, l.Addr(), o.allow, authNote(o))
	err = demo.Serve(ctx, l, mux)
	// Keep what was changed at runtime outside the manager too.
	if serr := mgr.Save(); err == nil {
		err = serr
	}
	return err
}

func authNote(o options) string {
	if o.user == "" {
		return ""
	}
	return ", basic auth as " + o.user
}

// guard lets through only requests from the allowed networks and, when a
// user is set, with that user's password.
func guard(next http.Handler, o options) http.Handler {
	want := sha256.Sum256([]byte(o.user + ":" + o.password))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ap, err := netip.ParseAddrPort(r.RemoteAddr)
		if err != nil || !allowed(ap.Addr().Unmap(), o.allow) {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		if o.user != "" {
			u, p, ok := r.BasicAuth()
			got := sha256.Sum256([]byte(u + ":" + p))
			if !ok || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
				w.Header().Set("WWW-Authenticate", `Basic realm="balancer-manager", charset="UTF-8"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func allowed(a netip.Addr, nets []netip.Prefix) bool {
	for _, p := range nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// backend answers with its route and the path it got.
func backend(route string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s served %s %s\n", route, r.Method, r.URL.Path)
	})
}
