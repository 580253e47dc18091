package healthcheck

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// maxHeaderBytes bounds what a check reads before the body, like
// net/http's DefaultMaxHeaderBytes on the server side.
const maxHeaderBytes = 1 << 20

// outcome is what one probe found: the status (0 for TCP or when no response
// was read) and, if the check failed, why.
type outcome struct {
	status int
	err    error
}

// probe runs one check of target t. It returns when the check is done, when
// chk's timeout passes, or when ctx is done, whichever comes first, and
// leaves no goroutine behind.
func (c *Checker) probe(ctx context.Context, t Target, chk Check) outcome {
	ctx, cancel := context.WithTimeout(ctx, chk.timeout())
	defer cancel()
	u := t.URL()
	ct, _ := t.(ConnTarget)

	addr, useTLS, err := dialAddr(u)
	if err != nil {
		return outcome{err: fmt.Errorf("healthcheck: %v %s: %w", chk.Method, u.Redacted(), err)}
	}
	verb, proto, isHTTP := chk.Method.httpVerb()
	target := "*"
	if verb != "OPTIONS" {
		target = joinPath(u.EscapedPath(), chk.URI)
	}
	fail := func(status int, err error) outcome {
		if isHTTP {
			err = fmt.Errorf("healthcheck: %v %s (%s): %w", chk.Method, target, addr, err)
		} else {
			err = fmt.Errorf("healthcheck: %v %s: %w", chk.Method, addr, err)
		}
		return outcome{status: status, err: err}
	}

	raw, err := c.dial(ctx, ct, addr)
	if err != nil {
		return fail(0, ctxErr(ctx, err))
	}
	defer raw.Close()
	if !isHTTP {
		return outcome{}
	}

	// Abort blocked reads and writes when ctx ends (by its timeout or
	// cancellation, so ctx.Err says which), and wait for the callback before
	// returning so nothing outlives the check.
	aborted := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		raw.SetDeadline(time.Unix(1, 0))
		close(aborted)
	})
	defer func() {
		if !stop() {
			<-aborted
		}
	}()

	conn := raw
	if useTLS {
		tc := tls.Client(raw, c.tlsConfig(ct, u.Hostname()))
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail(0, ctxErr(ctx, err))
		}
		conn = tc
	}

	req := make([]byte, 0, 64+len(target)+len(addr))
	req = append(req, verb...)
	req = append(req, ' ')
	req = append(req, target...)
	req = append(req, ' ')
	req = append(req, proto...)
	req = append(req, "\r\nHost: "...)
	req = append(req, addr...)
	req = append(req, "\r\n\r\n"...)
	if _, err := conn.Write(req); err != nil {
		return fail(0, ctxErr(ctx, err))
	}

	br := bufio.NewReader(io.LimitReader(conn, maxHeaderBytes+MaxBody))
	resp, err := http.ReadResponse(br, &http.Request{Method: verb})
	if err != nil {
		return fail(0, ctxErr(ctx, err))
	}
	// The body is not closed: closing an HTTP/1.1 body drains it, and the
	// connection is closed anyway.
	r := Response{StatusCode: resp.StatusCode, Header: resp.Header}
	if verb == "GET" {
		r.Body, err = io.ReadAll(io.LimitReader(resp.Body, MaxBody))
		if err != nil {
			return fail(r.StatusCode, fmt.Errorf("body: %w", ctxErr(ctx, err)))
		}
	}
	if chk.Expect != nil {
		if !chk.Expect(&r) {
			return fail(r.StatusCode, fmt.Errorf("status %d: Expect returned false", r.StatusCode))
		}
	} else if r.StatusCode < 200 || r.StatusCode > 399 {
		return fail(r.StatusCode, fmt.Errorf("status %d: want 200-399", r.StatusCode))
	}
	return outcome{status: r.StatusCode}
}

// ctxErr returns ctx's error in place of err when ctx ended, so a timeout
// reads as context.DeadlineExceeded rather than as a closed connection.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}

// dialAddr returns the host:port to connect to (also the Host header) and
// whether the scheme needs TLS.
func dialAddr(u *url.URL) (addr string, useTLS bool, err error) {
	if u == nil {
		return "", false, errors.New("no URL")
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return "", false, errors.New("URL has no host")
	}
	switch u.Scheme {
	case "https", "wss":
		useTLS = true
		if port == "" {
			port = "443"
		}
	case "http", "ws":
		if port == "" {
			port = "80"
		}
	default:
		if port == "" {
			return "", false, fmt.Errorf("scheme %q has no default port", u.Scheme)
		}
	}
	return net.JoinHostPort(host, port), useTLS, nil
}

// dial connects to addr through ct if set, else as the Checker dials.
func (c *Checker) dial(ctx context.Context, ct ConnTarget, addr string) (net.Conn, error) {
	if ct != nil {
		return ct.Dial(ctx, "tcp", addr)
	}
	if c.Dial != nil {
		return c.Dial(ctx, "tcp", addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

// tlsConfig returns the TLS configuration for a member on host: ct's if it
// has one, else the Checker's; an empty ServerName becomes host, and the
// check offers HTTP/1.1 only.
func (c *Checker) tlsConfig(ct ConnTarget, host string) *tls.Config {
	base := c.TLSConfig
	if ct != nil {
		if tc := ct.TLSConfig(); tc != nil {
			base = tc
		}
	}
	if base == nil {
		return &tls.Config{ServerName: host}
	}
	if base.ServerName != "" && len(base.NextProtos) == 0 {
		return base
	}
	cfg := base.Clone()
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	cfg.NextProtos = nil
	return cfg
}
