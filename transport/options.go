package transport

import (
	"crypto/tls"
	"fmt"
	"time"
)

const (
	// DefaultTimeout is the Timeout used when Options.Timeout is zero:
	// Apache's default server Timeout.
	DefaultTimeout = 60 * time.Second

	// DefaultSMax is the number of idle connections kept when
	// Options.SMax and Options.Max are both zero.
	DefaultSMax = 1024
)

// Options configures the [Transport] of one member. The zero value is
// valid: every zero field selects the default its comment names. The names
// in parentheses are the Apache BalancerMember parameters each field
// corresponds to.
type Options struct {
	// ConnectTimeout bounds establishing a connection to the member: the TCP
	// connect and, for https members, the TLS handshake
	// (connectiontimeout). Zero means Timeout if that is set, else
	// DefaultTimeout.
	ConnectTimeout time.Duration

	// Timeout bounds each wait for the member after the request was
	// written (timeout): the wait for the response headers, and each read of
	// the response body. Zero means DefaultTimeout. On HTTP/1.1 connections
	// it is a read deadline moved on by every write and read, which costs no
	// timer per request, and a connection idle for Timeout is closed; a
	// move sets it a little beyond Timeout and lasts for that little, so a
	// wait may end late by up to a sixteenth of Timeout (at most 1 s), never
	// early. On HTTP/2 connections it is a timer per request and per read.
	// Writing the request is bounded by the request's context only, and so
	// is a connection after a 101 Switching Protocols response.
	Timeout time.Duration

	// DisableReuse closes the connection after each request instead of
	// keeping it for the next one (disablereuse=On).
	DisableReuse bool

	// KeepAlive sets SO_KEEPALIVE on connections to the member, leaving the
	// probe timing to the operating system as Apache does (keepalive=On).
	// False, the default, leaves keep-alive probes off.
	KeepAlive bool

	// TTL is how long a connection may stay idle before it is closed
	// instead of being reused (ttl). Zero means no limit of its own: an
	// idle HTTP/1.1 connection is kept until the member closes it, SMax
	// pushes it out, or it has been idle for Timeout (its read deadline,
	// see Timeout).
	TTL time.Duration

	// Max caps the requests in flight to the member, and so the
	// connections in use (max). A request beyond it waits for a free slot;
	// see Acquire. Zero means no cap.
	Max int

	// SMax is the number of idle connections kept for reuse (smax), in
	// each of the Transport's two pools (see "How requests travel" in the
	// package documentation). A connection that is freed while SMax are
	// already idle is closed. Zero
	// means Max if that is set, else DefaultSMax; a value above a non-zero
	// Max is lowered to Max, as Apache does.
	SMax int

	// Acquire bounds the wait for a free slot when Max requests are in
	// flight (acquire). When it expires RoundTrip returns a [*NotSentError]
	// with [ReasonAcquire]. Zero means wait until the request's context
	// ends. Without Max it has no effect.
	Acquire time.Duration

	// Ping, for requests with a body, sends "Expect: 100-continue" and
	// waits this long for the member's interim response before sending the
	// body (ping). If the member sends nothing in time the connection is
	// closed, the body is not sent and RoundTrip returns a
	// [*NotSentError] with [ReasonPing]. The request headers did reach the
	// member; it was never told to go on, so like Apache we treat the
	// request as not sent. Any response byte in time counts as an answer. A
	// final response instead of 100 Continue is returned as usual. Zero
	// means no ping: the body is sent at once.
	Ping time.Duration

	// H2C speaks HTTP/2 to the member instead of HTTP/1.1: cleartext
	// HTTP/2 with prior knowledge (h2c) for http:// members, and HTTP/2
	// negotiated by ALPN for https:// members. With HTTP/2, Max caps
	// concurrent streams and SMax idle connections.
	H2C bool

	// TLSClientConfig is used for https:// members. RoundTrip does not
	// modify it; a copy gets the member's host name as ServerName when
	// that is empty and NextProtos matching H2C. Nil means the zero
	// tls.Config: the host's root CAs.
	TLSClientConfig *tls.Config
}

// config is Options validated, with every default applied.
type config struct {
	connectTimeout time.Duration
	timeout        time.Duration
	disableReuse   bool
	keepAlive      bool
	ttl            time.Duration
	max            int
	smax           int
	acquire        time.Duration
	ping           time.Duration
	h2c            bool
	tls            *tls.Config
}

// resolve validates o and applies the defaults.
func (o Options) resolve() (config, error) {
	durations := []struct {
		name string
		d    time.Duration
	}{
		{"connecttimeout", o.ConnectTimeout},
		{"timeout", o.Timeout},
		{"ttl", o.TTL},
		{"acquire", o.Acquire},
		{"ping", o.Ping},
	}
	for _, f := range durations {
		if f.d < 0 {
			return config{}, fmt.Errorf("transport: %s %v: must be >= 0", f.name, f.d)
		}
	}
	if o.Max < 0 {
		return config{}, fmt.Errorf("transport: max %d: must be >= 0", o.Max)
	}
	if o.SMax < 0 {
		return config{}, fmt.Errorf("transport: smax %d: must be >= 0", o.SMax)
	}

	c := config{
		connectTimeout: o.ConnectTimeout,
		timeout:        o.Timeout,
		disableReuse:   o.DisableReuse,
		keepAlive:      o.KeepAlive,
		ttl:            o.TTL,
		max:            o.Max,
		smax:           o.SMax,
		acquire:        o.Acquire,
		ping:           o.Ping,
		h2c:            o.H2C,
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.connectTimeout == 0 {
		c.connectTimeout = c.timeout
	}
	switch {
	case c.smax == 0 && c.max > 0:
		c.smax = c.max
	case c.smax == 0:
		c.smax = DefaultSMax
	case c.max > 0 && c.smax > c.max:
		c.smax = c.max
	}
	if c.max == 0 {
		c.acquire = 0
	}
	if o.TLSClientConfig != nil {
		c.tls = o.TLSClientConfig.Clone()
	} else {
		c.tls = &tls.Config{}
	}
	return c, nil
}
