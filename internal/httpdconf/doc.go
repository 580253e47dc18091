// Package httpdconf parses the part of an Apache httpd 2.4 configuration
// that defines load balancing, reading every parameter exactly as httpd
// reads it, into a neutral, fully typed [File]. It does not know the
// balancer package; the caller converts a File into its own configuration.
//
// # The subset
//
// Parsed: <Proxy "balancer://name"> sections with BalancerMember and
// ProxySet (and key=value parameters on the section line itself);
// BalancerMember and ProxySet naming the balancer outside a section;
// ProxyPass with key=value parameters, the nocanon, interpolate and noquery
// keywords, mapping=, the "!" exclusion and non-balancer targets;
// ProxyPassReverse, ProxyPassReverseCookieDomain, ProxyPassReverseCookiePath;
// ProxyHCExpr (the subset described at [Expr]) and ProxyHCTemplate;
// BalancerPersist, BalancerGrowth, BalancerInherit, ProxyPassInherit,
// ProxyTimeout; "SetHandler balancer-manager" (the <Location> path is
// recorded in File.ManagerPaths); the route-cookie recipe of the Apache
// documentation,
//
//	Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/" env=BALANCER_ROUTE_CHANGED
//
// recognised as a [RouteCookie] and attached to the balancer whose sticky
// cookie name it sets; Include, IncludeOptional, ServerRoot, Define and
// UnDefine. Every other directive and section is skipped and listed in
// File.Warnings, as are parameters httpd accepts that have no effect here.
//
// # Reading as httpd reads
//
// Directive and parameter names are case-insensitive. Arguments are split
// on whitespace, with "double" or 'single' quotes (a backslash escapes the
// quote and itself). A line ending in a backslash continues on the next
// line; a line whose first non-blank character is '#' is a comment (continued
// comments swallow the next line, as in httpd; a '#' after a directive is an
// argument). A UTF-8 byte-order mark at the start of a file is skipped.
// ${NAME} is replaced by an earlier Define's value (the process
// environment is not consulted). Parameters are read with httpd's own rules:
// loadfactor with atof, ×100 and truncated (2.259 is 225, 1.15 is 114);
// retry, timeout, ttl, lbset, max, smax, min, maxattempts, growth, hcpasses,
// hcfails and the balancer timeout with C atoi, so "retry=500ms" is 500
// seconds (a warning says so); connectiontimeout, acquire, ping and
// hcinterval with httpd's timeout parser (units ms, s, mi, hr; default s,
// except ms for acquire); status letters with + and - modes. A repeated key on
// one BalancerMember, ProxyPass or <Proxy> line keeps its first position and
// takes its last value (httpd's apr_table). On a ProxyPass whose target is a
// balancer, every parameter is a balancer parameter (so "retry=" there is
// "unknown Balancer parameter", as in httpd). A BalancerMember repeating the
// scheme, host and port of an earlier member of the same balancer shares
// that member and its parameters are ignored (with a warning), as in httpd;
// likewise a ProxyPass whose URL target repeats the scheme, host and port of
// an earlier one shares its worker (Mount.Worker is the same *Member).
//
// Deliberate departures: stickysession=A| (an empty URL parameter name,
// undefined behaviour in httpd) is an error; numbers beyond what
// time.Duration holds are errors where httpd would overflow silently;
// hexadecimal loadfactor values read as 0; member URLs must be
// scheme://host (Unix-socket "unix:...|http://" workers are rejected).
//
// # Sections and scoping
//
// Every module is treated as loaded: an <IfModule mod> body is parsed and an
// <IfModule !mod> body is skipped (with a warning). <IfDefine> is true only
// for names given to Define (no -D command-line parameters are assumed).
// <IfVersion> is evaluated against httpd 2.4.71. <VirtualHost> sections are
// listed in File.VirtualHosts with their ServerName and ServerAlias;
// balancers share one name space and mappings, rules and sections record
// their virtual host (VHost); httpd's inheritance flags are recorded but
// not applied. <Location path> bodies are parsed for ProxyPass,
// ProxyPassReverse (their one-argument forms), SetHandler
// balancer-manager and access rules (Require, <RequireAll|Any|None>,
// Order, Allow, Deny, Satisfy), which <Proxy> sections may hold too
// (File.Sections). ProxyPassMatch and "ProxyPass ~" are mappings with
// Mount.Regex. Other sections are skipped with a warning, or refused when
// they hold access rules (skipping those would serve requests httpd
// refuses); <Directory> and <Files> access rules are only noted
// (File.FileAccess), as they never apply to proxied requests.
//
// # Includes
//
// [Parse] reads one stream and does not follow Include (it warns). [ParseFile]
// and [ParseFS] follow Include and IncludeOptional: wildcards anywhere in the
// path, directories (every file below, sorted), relative paths taken from
// ServerRoot if set, else from the main file's directory; a missing file or
// unmatched wildcard is an error for Include and ignored for
// IncludeOptional. Sections must close in the file that opens them.
//
// # Errors
//
// Parsing stops at the first error, an *[Error] naming the file, the line
// (the first physical line of a continued line), the directive and the
// problem; parameter errors quote the key=value and httpd's message.
package httpdconf
