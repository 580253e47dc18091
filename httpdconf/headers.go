package httpdconf

import (
	"context"
	"net/http"
	"strings"

	"github.com/proxybalancer/balancer"
)

// HeaderEdit is a Header or RequestHeader directive with a static value
// (mod_headers): set, add, append or unset, optionally on the condition
// env=VAR or env=!VAR where VAR is one of the six BALANCER_* values.
//
// The edits that apply to a request are, in order, the main server's, its
// virtual host's, those of the <Proxy> sections of the balancer it goes to
// and those of the <Location> sections matching its path (each group in
// configuration order), as httpd merges them.
//
// RequestHeader edits the request before it is proxied. httpd runs them
// before the balancer has chosen a member, so the BALANCER_* values are
// never set for them: env=BALANCER_X is never true, env=!BALANCER_X always
// (as here). Header edits the response of a member ([Config.ModifyResponse]
// of the balancers); "Header always" edits every response, the 403, 502 and
// 503 that the front end answers itself included; both see the BALANCER_*
// values of the request's last attempt.
type HeaderEdit struct {
	Pos Pos
	// Request is true for RequestHeader; Always for "Header always".
	Request, Always bool
	// Action is "set", "add", "append" or "unset"; Value is empty for
	// unset.
	Action, Name, Value string
	// Env is the env= variable, "" for none; EnvNot is env=!VAR.
	Env    string
	EnvNot bool
	// VHost is the 1-based index of the <VirtualHost>, 0 for the main
	// server. Location or Proxy is the path or balancer ("balancer://name"
	// or "*") of the section the directive is in, both empty at server
	// level.
	VHost           int
	Location, Proxy string
}

// headerEdits maps the parsed edits.
func (cv *converter) headerEdits() {
	for _, e := range cv.f.Headers {
		h := HeaderEdit{Pos: pos(e.Pos), Request: e.Request, Always: e.Always, Action: e.Action, Name: e.Name, Value: e.Value, Env: e.Env, EnvNot: e.EnvNot, VHost: e.VHost}
		if s := e.Section; s != nil {
			if s.Proxy {
				h.Proxy = s.Path
			} else {
				h.Location = mergeSlashes(s.Path)
			}
		}
		cv.c.Headers = append(cv.c.Headers, h)
	}
}

// applies reports whether e is in scope for a request of server vhost for
// path, proxied to balancer (lower-case name, "" when not proxied).
func (e *HeaderEdit) applies(vhost int, path, bal string) bool {
	if e.VHost != 0 && e.VHost != vhost {
		return false
	}
	switch {
	case e.Proxy != "":
		return bal != "" && (e.Proxy == "*" || strings.EqualFold(strings.TrimPrefix(e.Proxy, "balancer://"), bal))
	case e.Location != "":
		return locationMatch(e.Location, path)
	}
	return true
}

// edits returns the edits for a request in httpd's merge order.
func edits(all []HeaderEdit, vhost int, path, bal string) []*HeaderEdit {
	var out []*HeaderEdit
	for _, level := range []func(e *HeaderEdit) bool{
		func(e *HeaderEdit) bool { return e.Proxy == "" && e.Location == "" },
		func(e *HeaderEdit) bool { return e.Proxy != "" },
		func(e *HeaderEdit) bool { return e.Location != "" },
	} {
		for _, v := range []int{0, vhost} {
			for i := range all {
				e := &all[i]
				if level(e) && e.VHost == v && e.applies(vhost, path, bal) {
					out = append(out, e)
				}
			}
			if vhost == 0 {
				break
			}
		}
	}
	return out
}

// when reports whether the edit's condition holds with lookup giving the
// BALANCER_* values.
func (e *HeaderEdit) when(lookup func(string) (string, bool)) bool {
	if e.Env == "" {
		return true
	}
	_, set := lookup(e.Env)
	return set != e.EnvNot
}

// apply edits h.
func (e *HeaderEdit) apply(h http.Header) {
	switch e.Action {
	case "set":
		h.Set(e.Name, e.Value)
	case "add":
		h.Add(e.Name, e.Value)
	case "append":
		if old := h.Values(e.Name); len(old) > 0 {
			h.Set(e.Name, strings.Join(old, ", ")+", "+e.Value)
		} else {
			h.Set(e.Name, e.Value)
		}
	case "unset":
		h.Del(e.Name)
	}
}

type editsKey struct{}

// noEnv is the lookup of a request no balancer has routed yet.
func noEnv(string) (string, bool) { return "", false }

// withEdits prepares r for the edits of a proxied request: the request
// edits applied (on a copy of the header), the response edits put in
// the context for the balancer's ModifyResponse, and w wrapped for the
// "always" ones.
func withEdits(w http.ResponseWriter, r *http.Request, es []*HeaderEdit) (http.ResponseWriter, *http.Request) {
	var req, resp, always []*HeaderEdit
	for _, e := range es {
		switch {
		case e.Request:
			req = append(req, e)
		case e.Always:
			always = append(always, e)
		default:
			resp = append(resp, e)
		}
	}
	if len(req) > 0 {
		r2 := new(http.Request)
		*r2 = *r
		r2.Header = r.Header.Clone()
		for _, e := range req {
			if e.when(noEnv) {
				e.apply(r2.Header)
			}
		}
		r = r2
	}
	if len(resp) > 0 {
		r = r.WithContext(context.WithValue(r.Context(), editsKey{}, resp))
	}
	if len(always) > 0 {
		var info *balancer.Info
		r, info = balancer.Capture(r)
		w = &alwaysWriter{ResponseWriter: w, edits: always, info: info}
	}
	return w, r
}

// modifyResponse applies the request's Header edits to a member's
// response, then calls next (the configuration's own ModifyResponse).
func modifyResponse(next func(*http.Response) error) func(*http.Response) error {
	return func(res *http.Response) error {
		if next != nil {
			if err := next(res); err != nil {
				return err
			}
		}
		if res.Request == nil {
			return nil
		}
		es, _ := res.Request.Context().Value(editsKey{}).([]*HeaderEdit)
		if len(es) == 0 {
			return nil
		}
		info, _ := balancer.FromContext(res.Request.Context())
		for _, e := range es {
			if e.when(info.Lookup) {
				e.apply(res.Header)
			}
		}
		return nil
	}
}

// alwaysWriter applies "Header always" edits when the response's header
// is written.
type alwaysWriter struct {
	http.ResponseWriter
	edits []*HeaderEdit
	info  *balancer.Info
	done  bool
}

func (aw *alwaysWriter) edit() {
	if aw.done {
		return
	}
	aw.done = true
	for _, e := range aw.edits {
		if e.when(aw.info.Lookup) {
			e.apply(aw.ResponseWriter.Header())
		}
	}
}

func (aw *alwaysWriter) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols {
		aw.edit()
	}
	aw.ResponseWriter.WriteHeader(code)
}

func (aw *alwaysWriter) Write(p []byte) (int, error) {
	aw.edit()
	return aw.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection (flushes,
// deadlines, hijacking for upgrades).
func (aw *alwaysWriter) Unwrap() http.ResponseWriter { return aw.ResponseWriter }
