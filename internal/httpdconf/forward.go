package httpdconf

// What the front end forwards: ProxyPreserveHost, and the core's limits on
// a request's head (LimitRequestLine, LimitRequestFieldSize,
// LimitRequestFields).

// proxyPreserveHost reads ProxyPreserveHost On|Off.
func (p *parser) proxyPreserveHost(d *dctx) error {
	a, err := oneArg(d)
	if err != nil {
		return err
	}
	f, ok := onOff(a)
	if !ok {
		return d.errorf("%q: must be On or Off", a)
	}
	if d.sc.inVhost {
		// The virtual host's own setting, over the main server's.
		p.file.VirtualHosts[d.sc.vhostIdx-1].PreserveHost = f
		return nil
	}
	p.file.PreserveHost = f
	return nil
}

// limitRequest reads LimitRequestLine, LimitRequestFieldSize and
// LimitRequestFields: a non-negative number, as Apache reads it (atoi).
func (p *parser) limitRequest(d *dctx) error {
	a, err := oneArg(d)
	if err != nil {
		return err
	}
	n, exact := atoi(a)
	if n < 0 {
		return d.errorf("%q: must be a non-negative integer", a)
	}
	if !exact {
		p.warn(d.pos, d.name, "%q read as %d (Apache reads it with atoi)", a, n)
	}
	if d.sc.inVhost {
		p.warn(d.pos, d.name, "applies to every request: virtual host scoping is flattened")
	}
	switch d.name {
	case "LimitRequestLine":
		p.file.LimitRequestLine = &n
	case "LimitRequestFieldSize":
		p.file.LimitRequestFieldSize = &n
	default:
		p.file.LimitRequestFields = &n
	}
	return nil
}
