package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"time"
)

// dialFunc opens a stream connection, like [net.Dialer.DialContext].
type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// dialer establishes the connections of one Transport. Every error it
// returns is a *dialError: nothing of any request was written.
type dialer struct {
	dial    dialFunc      // TCP; tests replace it
	timeout time.Duration // ConnectTimeout
	tls     *tls.Config   // base config for https members, never modified
	h2      bool          // offer h2 by ALPN
}

func newDialer(c config) *dialer {
	nd := &net.Dialer{KeepAlive: -1}
	if c.keepAlive {
		// SO_KEEPALIVE only; negative values leave the probe timing to the
		// operating system, as Apache's keepalive=On does.
		nd.KeepAliveConfig = net.KeepAliveConfig{Enable: true, Idle: -1, Interval: -1, Count: -1}
	}
	return &dialer{dial: nd.DialContext, timeout: c.connectTimeout, tls: c.tls, h2: c.h2c}
}

// dialTCP is the http.Transport's DialContext.
func (d *dialer) dialTCP(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	return d.tcp(ctx, network, addr)
}

func (d *dialer) tcp(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := d.dial(ctx, network, addr)
	if err != nil {
		reason := ReasonConnect
		var dns *net.DNSError
		if errors.As(err, &dns) {
			reason = ReasonResolve
		}
		return nil, &dialError{reason: reason, err: err}
	}
	return conn, nil
}

// dialTLS is the http.Transport's DialTLSContext: TCP plus the TLS
// handshake, both within ConnectTimeout.
func (d *dialer) dialTLS(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	conn, err := d.tcp(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	cfg := d.tls.Clone()
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		cfg.ServerName = host
	}
	if d.h2 {
		cfg.NextProtos = []string{"h2", "http/1.1"}
	} else {
		cfg.NextProtos = []string{"http/1.1"}
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, &dialError{reason: ReasonTLS, err: err}
	}
	return tc, nil
}
