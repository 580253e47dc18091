// Package demo holds what the example programs share: serving until
// interrupted, and small in-process backends.
package demo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"time"
)

// Serve serves h on l until ctx ends, then shuts the server down, giving
// requests in flight up to 5 s. It returns nil after a clean shutdown.
func Serve(ctx context.Context, l net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdown)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// Backends starts one in-process backend per name, each answering
// "<name> got <path>". Close them when done.
func Backends(names ...string) []*httptest.Server {
	var out []*httptest.Server
	for _, name := range names {
		out = append(out, httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s got %s\n", name, r.URL.Path)
		})))
	}
	return out
}
