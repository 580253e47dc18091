// Command accesslog wraps a balancer in an access-log middleware that prints
// the BALANCER_* values the way Apache's LogFormat does with
// %{BALANCER_WORKER_ROUTE}e: a variable that is not set prints "-".
//
//	go run ./examples/accesslog [-addr 127.0.0.1:8083]
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
	"strings"
	"time"

	"github.com/proxybalancer/balancer"
)

// Format is the log line, in Apache's LogFormat notation; only %h, %r, %>s
// and %{NAME}e are understood here.
const Format = `%h "%r" %>s route=%{BALANCER_WORKER_ROUTE}e changed=%{BALANCER_ROUTE_CHANGED}e session=%{BALANCER_SESSION_ROUTE}e worker=%{BALANCER_WORKER_NAME}e`

// AccessLog returns middleware that writes one line per request to out.
func AccessLog(out io.Writer, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, info := balancer.Capture(r)
		sw := &statusWriter{ResponseWriter: w, status: 200}
		next.ServeHTTP(sw, r)
		fmt.Fprintln(out, format(Format, r, sw.status, *info))
	})
}

func format(f string, r *http.Request, status int, info balancer.Info) string {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	var b strings.Builder
	for len(f) > 0 {
		i := strings.IndexByte(f, '%')
		if i < 0 || i == len(f)-1 {
			b.WriteString(f)
			break
		}
		b.WriteString(f[:i])
		f = f[i+1:]
		switch {
		case f[0] == 'h':
			b.WriteString(host)
			f = f[1:]
		case f[0] == 'r':
			fmt.Fprintf(&b, "%s %s %s", r.Method, r.RequestURI, r.Proto)
			f = f[1:]
		case strings.HasPrefix(f, ">s"):
			fmt.Fprint(&b, status)
			f = f[2:]
		case strings.HasPrefix(f, "{"):
			end := strings.Index(f, "}e")
			if end < 0 {
				b.WriteString("%" + f)
				f = ""
				continue
			}
			if v, ok := info.Lookup(f[1:end]); ok && v != "" {
				b.WriteString(v)
			} else {
				b.WriteByte('-')
			}
			f = f[end+2:]
		default:
			b.WriteByte('%')
		}
	}
	return b.String()
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func newBalancer(urls ...string) (*balancer.Balancer, error) {
	var ms []balancer.Member
	for i, u := range urls {
		ms = append(ms, balancer.Member{URL: u, Route: fmt.Sprintf("node%d", i+1)})
	}
	return balancer.New(balancer.Config{
		Name: "logged", Members: ms, StickySession: "ROUTEID",
		RouteCookie: &balancer.RouteCookie{Name: "ROUTEID", Path: "/"},
	})
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8083", "listen address")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var urls []string
	for range 2 {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello\n") }))
		defer s.Close()
		urls = append(urls, s.URL)
	}
	b, err := newBalancer(urls...)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: *addr, Handler: AccessLog(os.Stdout, b), ReadHeaderTimeout: 5 * time.Second}
	go func() { <-ctx.Done(); srv.Close() }()
	fmt.Printf("curl http://%s/ and watch the log\n", *addr)
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
