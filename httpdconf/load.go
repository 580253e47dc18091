package httpdconf

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/proxybalancer/balancer"
	apconf "github.com/proxybalancer/balancer/internal/httpdconf"
	"github.com/proxybalancer/balancer/lbmethod"
	"github.com/proxybalancer/balancer/manager"
)

// Pos is where something was written: a file name and a 1-based line
// number (the first physical line of a continued line). The zero Pos means
// unknown.
type Pos struct {
	File string
	Line int
}

// String returns "file:line".
func (p Pos) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// Error is a configuration error: a directive httpd would refuse, or one
// this package cannot honour. Loading stops at the first one.
type Error struct {
	// Pos is where the directive was written. Line is 0 only when the file
	// could not be read at all (Err then holds the cause).
	Pos
	// Directive is the directive's canonical name ("BalancerMember",
	// "<Proxy>"); empty when the problem is not one directive's.
	Directive string
	// Msg says what is wrong, quoting the parameter and its value.
	Msg string
	// Err is the underlying error, if any (an I/O error, or the
	// balancer's validation error).
	Err error
}

// Error returns "file:line: Directive: msg", leaving out the empty parts.
func (e *Error) Error() string {
	return (&apconf.Error{File: e.File, Line: e.Line, Directive: e.Directive, Msg: e.Msg}).Error()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Warning reports a directive, section or parameter that was read but is not
// honoured: outside the supported subset, without effect here, or served
// differently than httpd would.
type Warning struct {
	Pos
	Directive string
	Msg       string
}

// String formats the warning as an [Error] is formatted.
func (w Warning) String() string {
	return (&Error{Pos: w.Pos, Directive: w.Directive, Msg: w.Msg}).Error()
}

// Options changes how a configuration is read. The zero value is ready to
// use.
type Options struct {
	// Heartbeat is the source of backend reports for balancers with
	// lbmethod=heartbeat (httpd's mod_heartmonitor): a table fed by
	// lbmethod.ListenHeartbeat, HeartbeatTable.LoadStorageFile or POSTs to
	// the table. All such balancers share it. Nil makes lbmethod=heartbeat
	// an error.
	Heartbeat *lbmethod.HeartbeatTable

	// Configure, if set, is called by Load and LoadReader with each
	// balancer's configuration (workers' too) just before the balancer is
	// created, to set what httpd's configuration cannot say: Logger,
	// Observer, ErrorHandler, Transport, Now, ... Changing the fields read
	// from the file is allowed; the result is validated by balancer.New.
	Configure func(cfg *balancer.Config)

	// VirtualHostPort, if not 0, is the port <VirtualHost> addresses are
	// matched against, as if httpd listened on it (a configuration
	// written for *:80 served on 127.0.0.1:8080). 0 means the port the
	// request's connection came in on.
	VirtualHostPort int

	// StateFile is where the balancer-manager keeps its changes when the
	// configuration says BalancerPersist On. Empty means the configuration
	// file's path followed by ".state.json" (Load and Read); LoadReader and
	// ReadReader then refuse BalancerPersist On.
	StateFile string

	// ManagerHosts are the host names the balancer-manager answers for
	// (manager.Config.Hosts): its protection against DNS rebinding, which
	// httpd does not have. Nil means the ServerName and ServerAlias names
	// of the configuration, and loopback addresses and localhost.
	ManagerHosts []string
}

// Config is a configuration read from httpd's files: plain values, safe to
// inspect and change before [Config.Build]. Like any plain value it may be
// read from several goroutines at once but not changed while being read.
type Config struct {
	// Balancers are the balancer://name balancers in the order they were
	// first named. Balancers with no ProxyPass are included (a manager may
	// show them, a program may mount them).
	Balancers []BalancerConfig
	// Workers are the one-member balancers made for ProxyPass lines whose
	// target is an ordinary URL, in the order of their first ProxyPass.
	Workers []BalancerConfig
	// Mounts are the ProxyPass mappings in the order they are matched.
	Mounts []Mount
	// ManagerPaths are the <Location> paths with "SetHandler
	// balancer-manager", in order.
	ManagerPaths []string
	// Persist is BalancerPersist On: changes made through the manager
	// outlive a restart, kept in StateFile (manager.Config.StateFile).
	Persist   bool
	StateFile string
	// VirtualHosts are the <VirtualHost> sections, in order; Mount.VHost
	// and Section.VHost index them from 1.
	VirtualHosts []VirtualHost
	// Sections are the <Location> and <Proxy> sections with access rules
	// or a balancer-manager, in configuration order.
	Sections []Section
	// VirtualHostPort is Options.VirtualHostPort.
	VirtualHostPort int
	// Reverse are the ProxyPassReverse lines with an absolute URL not tied
	// to a ProxyPass of the same path and target.
	Reverse []ReverseRule
	// Headers are the Header and RequestHeader edits, in configuration
	// order (the route-cookie recipe is a balancer's RouteCookie instead).
	Headers []HeaderEdit
	// ManagerHosts are the names the balancer-manager answers for
	// (Options.ManagerHosts, or by default the configuration's server
	// names, loopback addresses and localhost).
	ManagerHosts []string
	// Limits are LimitRequestLine, LimitRequestFieldSize and
	// LimitRequestFields (Apache's defaults when not written;
	// LimitRequestFields 0 is no limit, and LimitRequestLine or
	// LimitRequestFieldSize 0 refuses every request, as in Apache).
	// Handler applies them before anything else.
	Limits balancer.RequestLimits
	// Warnings lists what was read but not honoured, in order: the parser's
	// warnings first, then those of the mapping.
	Warnings []Warning
}

// BalancerConfig is one balancer as read from the configuration.
type BalancerConfig struct {
	// Pos is where the balancer was first named.
	Pos Pos
	// Config is the balancer's configuration; Name has no "balancer://"
	// prefix.
	Config balancer.Config
	// MemberPos holds where each member of Config.Members was written.
	MemberPos []Pos
	// Growth is the growth= parameter (0 when not set): how many members
	// the manager may add (manager.Config.Growth).
	Growth int
	// Nonce is the nonce= parameter, if NonceSet; an empty Nonce is
	// nonce=None, which makes the manager read-only for this balancer
	// (manager.Config.Nonces). Unset means a random nonce.
	Nonce    string
	NonceSet bool
}

// Mount is one ProxyPass mapping.
type Mount struct {
	// Pos is where the ProxyPass was written.
	Pos Pos
	// Path is the front-end path prefix.
	Path string
	// Balancer is the Config.Name of the balancer (or worker) serving the
	// mount; empty for an exclusion ("ProxyPass /p !").
	Balancer string
	// BalancerPath is the path after the balancer name in the target
	// (balancer://name/back gives "/back"), or the path of an ordinary
	// URL target; Apache puts it in place of Path.
	BalancerPath string
	// Reverse is set when a ProxyPassReverse has the same path and target.
	Reverse bool
	// CookieDomains and CookiePaths are the ProxyPassReverseCookieDomain
	// and ProxyPassReverseCookiePath rules, in order: the main server's,
	// then those of the mount's virtual host.
	CookieDomains, CookiePaths []balancer.CookieRewrite
	// InLocation is set for a ProxyPass inside <Location>: httpd checks
	// those first.
	InLocation bool
	// VHost is the 1-based index in Config.VirtualHosts of the
	// <VirtualHost> the ProxyPass was written in; 0 for the main server,
	// whose mounts every virtual host also serves (before its own, as
	// httpd checks them).
	VHost int
	// Regex is the regular expression of a ProxyPassMatch; Path is then
	// empty and BalancerPath may hold $0..$9, replaced by the groups of
	// the request path's match ($0 the whole match). When the target has
	// no substitution, the whole request path is appended to it, as in
	// httpd.
	Regex string
	re    *regexp.Regexp
}

// Loaded is a configuration ready to serve. Its fields are set by Build and
// must not be changed; the handler, the mux and the balancers are safe for
// concurrent use.
type Loaded struct {
	// Config is what the balancers were built from.
	Config *Config
	// Balancers are the balancer://name balancers, in the order of
	// Config.Balancers: the ones a balancer-manager shows.
	Balancers []*balancer.Balancer
	// Workers are the one-member balancers of ProxyPass lines with
	// ordinary URL targets, in the order of Config.Workers.
	Workers []*balancer.Balancer
	// Mux routes requests by the main server's ProxyPass mounts (prefix
	// mounts only), without access rules or virtual hosts: for programs
	// that want the mounts alone. Handler is what the configuration says.
	Mux *balancer.Mux
	// Manager is the balancer-manager, when a <Location> has "SetHandler
	// balancer-manager" (Handler serves it there, under the section's
	// access rules); nil otherwise.
	Manager *manager.Manager
	// Handler serves the configuration as httpd would: it picks the
	// server (<VirtualHost> by address and Host), the mount (ProxyPass,
	// ProxyPassMatch), enforces the access rules (see [Section]), and
	// proxies, serves the manager, or answers 404 to excluded and
	// unmatched requests ([Loaded.Wrap] hands those to a handler). A
	// request over Config.Limits gets Apache's 414 or 400 first (see
	// balancer.RequestLimits).
	//
	// Handler stays valid across [Loaded.Reload]: it serves the
	// configuration the latest Reload applied.
	Handler http.Handler

	live *live
}

// Load reads the configuration file at path (following Include and
// IncludeOptional) and builds it: [Read] followed by [Config.Build] with
// opts.Configure. Errors are [*Error] values naming the file, the line and
// the directive.
func Load(path string, opts Options) (*Loaded, error) {
	c, err := Read(path, opts)
	if err != nil {
		return nil, err
	}
	return c.Build(opts.Configure)
}

// LoadReader is [Load] for a configuration read from r; name is used as
// the file name in errors and warnings. Include directives are not
// followed (they are warnings).
func LoadReader(name string, r io.Reader, opts Options) (*Loaded, error) {
	c, err := ReadReader(name, r, opts)
	if err != nil {
		return nil, err
	}
	return c.Build(opts.Configure)
}

// Read parses the configuration file at path, following Include and
// IncludeOptional, and maps it onto balancer configurations without
// creating anything. Errors are [*Error] values.
func Read(path string, opts Options) (*Config, error) {
	f, err := apconf.ParseFile(path)
	if err != nil {
		return nil, fromParseError(err)
	}
	return convert(f, opts, path)
}

// ReadReader is [Read] for a configuration read from r; name is used as
// the file name. Include directives are not followed (they are warnings).
func ReadReader(name string, r io.Reader, opts Options) (*Config, error) {
	f, err := apconf.Parse(name, r)
	if err != nil {
		return nil, fromParseError(err)
	}
	return convert(f, opts, "")
}

// fromParseError turns the parser's error into an *Error.
func fromParseError(err error) error {
	var pe *apconf.Error
	if errors.As(err, &pe) {
		return &Error{Pos: Pos{pe.File, pe.Line}, Directive: pe.Directive, Msg: pe.Msg, Err: pe.Err}
	}
	return err
}

// Build creates the balancers and the mux. configure, if not nil, is called
// with a copy of each balancer's configuration before balancer.New. Build
// does not change c. The lbmethod values in c are used as they are, so
// building one Config twice shares them (harmless for Apache's methods,
// whose state lives in the members; not for "latency": Read again instead).
// A configuration balancer.New refuses is an [*Error] at the member's or
// the balancer's line.
func (c *Config) Build(configure func(cfg *balancer.Config)) (*Loaded, error) {
	l := &Loaded{Config: c}
	byName := map[string]*balancer.Balancer{}
	var made []*balancer.Balancer
	fail := func(err error) (*Loaded, error) {
		for _, b := range made {
			b.Close()
		}
		return nil, err
	}
	for _, list := range []struct {
		bcs []BalancerConfig
		out *[]*balancer.Balancer
	}{{c.Balancers, &l.Balancers}, {c.Workers, &l.Workers}} {
		for i := range list.bcs {
			bc := &list.bcs[i]
			cfg := bc.config(c, configure)
			b, err := balancer.New(cfg)
			if err != nil {
				return fail(bc.buildError(cfg, err))
			}
			made = append(made, b)
			byName[strings.ToLower(bc.Config.Name)] = b
			*list.out = append(*list.out, b)
		}
	}
	st, err := c.routes(l, byName)
	if err != nil {
		return fail(err)
	}
	if st.managed {
		mgr, err := manager.New(c.managerConfig(l))
		if err != nil {
			return fail(&Error{Pos: st.managerPos, Directive: "SetHandler", Msg: "balancer-manager: " + err.Error(), Err: err})
		}
		l.Manager, st.manager = mgr, mgr
	}
	l.live = &live{}
	l.live.site.Store(st)
	l.Handler = &front{live: l.live}
	l.live.current.Store(l)
	return l, nil
}

// config is bc's balancer configuration as Build passes it to
// balancer.New: a copy, changed by configure, with c's Header edits in
// its ModifyResponse.
func (bc *BalancerConfig) config(c *Config, configure func(cfg *balancer.Config)) balancer.Config {
	cfg := bc.Config
	cfg.Members = append([]balancer.Member(nil), cfg.Members...)
	if configure != nil {
		configure(&cfg)
	}
	for _, e := range c.Headers {
		if !e.Request && !e.Always {
			cfg.ModifyResponse = modifyResponse(cfg.ModifyResponse)
			break
		}
	}
	if len(c.Reverse) > 0 {
		cfg.ModifyResponse = reverseMap(cfg.ModifyResponse)
	}
	for _, v := range c.VirtualHosts {
		if v.PreserveHost != nil {
			cfg.Rewrite = preserveHost(cfg.Rewrite)
			break
		}
	}
	return cfg
}

// routes builds the main server's mux (l.Mux) and the site: the servers'
// mounts over the balancers byName, the sections, and whether a
// balancer-manager is mounted.
func (c *Config) routes(l *Loaded, byName map[string]*balancer.Balancer) (*site, error) {
	passes := make([]balancer.ProxyPass, 0, len(c.Mounts))
	for _, m := range c.Mounts {
		if m.VHost != 0 || m.Regex != "" {
			continue
		}
		p := balancer.ProxyPass{Path: m.Path}
		if m.Balancer != "" {
			p.Balancer = byName[strings.ToLower(m.Balancer)]
			if p.Balancer == nil {
				return nil, &Error{Pos: m.Pos, Directive: "ProxyPass", Msg: fmt.Sprintf("balancer %q: not defined", m.Balancer)}
			}
			p.BalancerPath, p.Reverse = m.BalancerPath, m.Reverse
			p.CookieDomains = append([]balancer.CookieRewrite(nil), m.CookieDomains...)
			p.CookiePaths = append([]balancer.CookieRewrite(nil), m.CookiePaths...)
		}
		passes = append(passes, p)
	}
	mux, err := balancer.NewMux(passes...)
	if err != nil {
		// NewMux names the path; find the mount for the position.
		at := Pos{}
		for _, m := range c.Mounts {
			if strings.Contains(err.Error(), fmt.Sprintf("%q", m.Path)) {
				at = m.Pos
				break
			}
		}
		return nil, &Error{Pos: at, Directive: "ProxyPass", Msg: err.Error(), Err: err}
	}
	l.Mux = mux
	st := &site{vhosts: c.VirtualHosts, port: c.VirtualHostPort, secs: c.Sections, limits: c.Limits, headers: c.Headers, reverse: c.Reverse, drained: make(chan struct{})}
	for i := 0; i <= len(c.VirtualHosts); i++ {
		srv, err := newServer(i, c.Mounts, byName)
		if err != nil {
			return nil, err
		}
		st.servers = append(st.servers, srv)
	}
	for _, s := range c.Sections {
		if s.Manager {
			st.managed, st.managerPos = true, s.Pos
			break
		}
	}
	return st, nil
}

// managerConfig is the manager of the loaded balancers, with the
// configuration's growth (per balancer), nonces and BalancerPersist.
func (c *Config) managerConfig(l *Loaded) manager.Config {
	mc := manager.Config{Balancers: l.Balancers, GrowthFor: map[string]int{}, Hosts: c.ManagerHosts}
	for _, b := range c.Balancers {
		mc.GrowthFor[b.Config.Name] = b.Growth
		if b.NonceSet {
			if mc.Nonces == nil {
				mc.Nonces = map[string]string{}
			}
			mc.Nonces[b.Config.Name] = b.Nonce
		}
	}
	if c.Persist {
		mc.StateFile = c.StateFile
	}
	return mc
}

// Wrap returns the loaded configuration's handler with next serving the
// requests it does not proxy (excluded or unmatched, and not for the
// balancer-manager) instead of answering 404. Access rules apply before
// next too. Like Handler, it serves what the latest Reload applied.
func (l *Loaded) Wrap(next http.Handler) http.Handler {
	return &front{live: l.live, next: next}
}

// buildError places balancer.New's error at the member at fault, found by
// building each member alone, or else at the balancer.
func (bc *BalancerConfig) buildError(cfg balancer.Config, err error) error {
	none := cfg
	none.Members = nil
	if _, e := balancer.New(none); e != nil {
		return &Error{Pos: bc.Pos, Msg: err.Error(), Err: err}
	}
	for i, m := range cfg.Members {
		one := cfg
		one.Members = []balancer.Member{m}
		if _, e := balancer.New(one); e != nil && i < len(bc.MemberPos) {
			return &Error{Pos: bc.MemberPos[i], Directive: "BalancerMember", Msg: e.Error(), Err: err}
		}
	}
	return &Error{Pos: bc.Pos, Msg: err.Error(), Err: err}
}

// Balancer returns the balancer or worker with the given name ("mycluster"
// or "balancer://mycluster", case-insensitive), or nil.
func (l *Loaded) Balancer(name string) *balancer.Balancer {
	name = "balancer://" + strings.TrimPrefix(strings.ToLower(name), "balancer://")
	for _, bs := range [][]*balancer.Balancer{l.Balancers, l.Workers} {
		for _, b := range bs {
			if b.Name() == name {
				return b
			}
		}
	}
	return nil
}
