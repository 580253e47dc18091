package httpdconf

import (
	"net"
	"strings"

	"github.com/proxybalancer/balancer"
	apconf "github.com/proxybalancer/balancer/internal/httpdconf"
)

// forwarding maps what the front end forwards: ProxyPreserveHost to every
// balancer's and worker's PreserveHost, the main server's ServerName to
// their ServerName (X-Forwarded-Server), the LimitRequest* directives to
// Config.Limits.
func (cv *converter) forwarding() {
	f := cv.f
	if name := serverHostname(f.ServerName); name != "" {
		for _, bs := range [][]BalancerConfig{cv.c.Balancers, cv.c.Workers} {
			for i := range bs {
				bs[i].Config.ServerName = name
			}
		}
	}
	if f.PreserveHost == apconf.FlagOn {
		for _, bs := range [][]BalancerConfig{cv.c.Balancers, cv.c.Workers} {
			for i := range bs {
				bs[i].Config.PreserveHost = true
			}
		}
	}
	limit := func(v *int, unlimitedAtZero bool) int {
		switch {
		case v == nil:
			return 0 // Apache's default
		case *v == 0 && unlimitedAtZero:
			return -1
		case *v == 0:
			// Apache then refuses every request (checked); a limit of 1
			// does too, as no request line or field is that short.
			return 1
		}
		return *v
	}
	cv.c.Limits = balancer.RequestLimits{
		Line:      limit(f.LimitRequestLine, false),
		FieldSize: limit(f.LimitRequestFieldSize, false),
		Fields:    limit(f.LimitRequestFields, true),
	}
}

// serverHostname is the host name of a ServerName ("[scheme://]name[:port]"),
// what Apache sends in X-Forwarded-Server.
func serverHostname(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if h, _, err := net.SplitHostPort(s); err == nil {
		return h
	}
	return s
}
