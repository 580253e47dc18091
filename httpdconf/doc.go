// Package httpdconf serves an Apache httpd 2.4 load-balancing configuration:
// it reads the BalancerMember, ProxySet, ProxyPass, ProxyPassReverse,
// ProxyHCExpr/ProxyHCTemplate and route-cookie directives of an httpd
// configuration file and turns them into balancers ([balancer.Balancer]),
// their mounts ([balancer.Mux]) and an [http.Handler] ready to serve.
//
//	l, err := httpdconf.Load("/etc/apache2/conf-enabled/balancer.conf", httpdconf.Options{})
//	if err != nil {
//		log.Fatal(err) // "balancer.conf:12: BalancerMember: ..." names file, line and directive
//	}
//	for _, w := range l.Config.Warnings {
//		log.Print(w) // directives outside the subset, parameters with no effect here
//	}
//	go l.RunHealthChecks(ctx) // hcmethod=..., until ctx ends
//	http.ListenAndServe("127.0.0.1:8080", l.Handler)
//
// Loading is two steps, each usable on its own: [Read] parses the file and
// maps it onto plain configuration values ([Config]: a [balancer.Config] per
// balancer and one [Mount] per ProxyPass, in the order Apache matches them),
// which a program can inspect or change; [Config.Build] creates the
// balancers and the mux. [Load] does both.
//
// # How directives map
//
// Every parameter is read as httpd reads it (whole seconds with atoi for
// retry and timeout, loadfactor ×100 truncated, status letters with + and -)
// and mapped onto the balancer's field of the same meaning:
//
//   - loadfactor=N → Member.LoadFactor (Apache's stored N×100 divided by
//     100, so 1.15 is 1.14 as in Apache); route, redirect, lbset → the same
//     fields; status → Member.Status (the flags set and cleared, in the
//     status= syntax);
//   - retry=N → Member.Retry (retry=0 → [balancer.RetryNow]);
//   - timeout, connectiontimeout, acquire, ping, ttl, max, smax,
//     disablereuse/enablereuse, keepalive → Member.Connection; a member
//     without timeout= takes ProxyTimeout, as in Apache;
//   - h2c:// and h2:// members → http:// and https:// with Connection.H2C;
//     ws:// and wss:// members → http:// and https:// (WebSocket upgrades are
//     proxied by any member), with a warning; other schemes (ajp, fcgi, ...)
//     are errors;
//   - hcmethod, hcuri, hcinterval, hcpasses, hcfails, hctemplate →
//     Member.HealthCheck, whose Timeout is the member's timeout (Apache's
//     checks honour it); hcexpr → HealthCheck.Expect evaluating the
//     ProxyHCExpr on the check's status, headers and body;
//   - lbmethod → Config.Method by [lbmethod.ByName]; lbmethod=heartbeat
//     → [lbmethod.MethodHeartbeat] of Options.Heartbeat (the reports'
//     source), which it needs, else it is an error;
//   - stickysession, stickysessionsep, scolonpathdelim, nofailover, timeout,
//     failonstatus, failontimeout → the Config fields of the same name;
//     maxattempts=N → Config.MaxAttempts (maxattempts=0 → -1, none; unset →
//     0, Apache's members−1); forcerecovery=Off → DisableForceRecovery;
//   - the documentation's route-cookie recipe
//     (Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/" env=BALANCER_ROUTE_CHANGED)
//     → Config.RouteCookie of the balancer whose cookie it sets;
//   - growth, nonce and BalancerPersist → [BalancerConfig].Growth, Nonce and
//     [Config].Persist (kept in Options.StateFile, by default the
//     configuration's path + ".state.json"); "SetHandler balancer-manager"
//     in a <Location> → [Loaded].Manager (package
//     github.com/proxybalancer/balancer/manager), served by [Loaded].Handler at
//     that path under the section's access rules;
//   - routeregex=RE (Helicon Ape's extension; httpd refuses it as an
//     unknown Balancer parameter) → Config.RoutePattern: the route is the
//     first group of RE's leftmost match in the session value, and a value
//     it does not match carries no route (the request is scheduled).
//     Helicon reads the cookie "[session_data]![backend_id]" this way;
//     httpd would split at stickysessionsep ('.'), so "abc!app2" has no
//     route there. RE is Go's regexp (no backreferences or lookaround:
//     such an expression is an error).
//
// # Servers, access rules and ProxyPassMatch
//
// [Loaded].Handler serves the configuration as httpd would, checked
// against Apache 2.4.71 (apache_site_test.go):
//
//   - <VirtualHost> sections are matched by the connection's local
//     address and port (the sections naming the address first, then those
//     with * or _default_; Options.VirtualHostPort replaces the port),
//     then by Host among them: ServerName or ServerAlias (wildcards * and
//     ?), case-insensitive, port ignored; no match takes the first of them;
//     none listening takes the main server. Every virtual host serves the
//     main server's ProxyPass lines before its own (as httpd, whatever
//     ProxyPassInherit says); balancers are one name space. A virtual
//     host's ProxyPreserveHost applies to the requests it proxies.
//   - ProxyPassMatch (and "ProxyPass ~") matches the decoded, normalised
//     path; $0..$9 in the target take the groups; a target without any
//     is followed by the whole path, as in httpd.
//   - Require (all, ip, host, local, not), <RequireAll>, <RequireAny>,
//     <RequireNone>, Order, Allow from, Deny from and Satisfy in
//     <Location> and <Proxy balancer://name> or <Proxy *> sections are
//     enforced on the connection's peer address (see [Section]); 403 as
//     httpd answers. What cannot be enforced is an error naming the file,
//     the line and the reason: other Require providers, env= conditions,
//     AuthType, RemoteIPHeader, access rules in <Limit>, <LocationMatch>,
//     <If> and other sections not read, or in <Directory> when a
//     balancer-manager is served.
//
// # Mounts
//
// Each ProxyPass becomes a [Mount], matched in Apache's order: the ProxyPass
// lines inside <Location> first, then the others, each group in
// configuration order; the first match wins. "ProxyPass /p !" excludes
// /p: [Loaded.Handler] answers such requests (and unmatched ones) with 404,
// and [Loaded.Wrap] hands them to a handler of the caller's.
//
// A ProxyPass to an ordinary URL ("ProxyPass /api http://10.0.0.5:8080/v1")
// gets a one-member balancer of its own ([Config].Workers), named after the
// target's host and port: ProxyPass lines whose targets share the scheme,
// host and port share it, as they share Apache's worker.
//
// ProxyPassReverse with the same path and target as a ProxyPass sets that
// mount's Reverse; one with another absolute URL is a [ReverseRule],
// applied to every proxied response of its server as httpd applies it;
// others (a path-only URL, interpolate) are warnings.
// ProxyPassReverseCookieDomain and ProxyPassReverseCookiePath rules apply to
// the responses of every mount, as in Apache, where they are not tied to a
// ProxyPass.
//
// # What is not honoured
//
// Directives outside the subset, sections other than the balancing ones,
// and parameters with no effect here are listed in [Config].Warnings with
// their file, line and directive; so is anything read but not honoured:
// the ProxyPass keywords nocanon, noquery and interpolate, mapping=, min=, hcmethod=CPING,
// health checks of non-balancer workers, route-cookie recipes this package
// cannot reproduce exactly. Errors (an [*Error]) name the file, the line
// and the directive.
package httpdconf
