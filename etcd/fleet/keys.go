package fleet

import (
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/proxybalancer/balancer"
)

// The fleet's state in etcd, under Config.Prefix, for each balancer
// (named without "balancer://", path-escaped):
//
//	<prefix><balancer>/param/<name>           a balancer parameter
//	<prefix><balancer>/present/<url>          true: added, false: removed
//	<prefix><balancer>/member/<url>/<name>    a member setting or flag
//	<prefix><balancer>/log                    the last published edit
//
// Member URLs are normalised and path-escaped. Values are JSON: the
// setting's value (durations in nanoseconds, flags true or false), and for
// the log key a [Record]. One published edit is one transaction, so its
// keys share a revision; the last revision of a key is its value.
//
// With Fleet.ShareHealth, each replica's health report lives beside them,
// under its lease (see share.go):
//
//	<prefix without its last '/'>.health/<replica>

// flagLetters are the flags a fleet shares, as "flag/<letter>" keys:
// the operator flags. C, E and health results stay per replica.
const flagLetters = "INDHRS"

// The parameters are "param/" and method, stickySession, noFailover,
// maxAttempts, timeout; the member settings "member/<url>/" and
// loadFactor, lbSet, route, redirect, hc/method, hc/uri, hc/interval,
// hc/passes, hc/fails.

// keys builds and parses the key names of one fleet.
type keys struct{ prefix string }

func (k keys) bal(b string) string { return k.prefix + url.PathEscape(shortName(b)) + "/" }
func (k keys) log(b string) string { return k.bal(b) + "log" }

// shortName is a balancer's name without "balancer://".
func shortName(b string) string { return strings.TrimPrefix(b, "balancer://") }

// field is one parsed key of a balancer.
type field struct {
	kind   string // "param", "present", "member", "log"
	member string // normalised URL
	name   string
}

// parseRel parses a key below a balancer's prefix.
func parseRel(rest string) (f field, ok bool) {
	if rest == "log" {
		return field{kind: "log"}, true
	}
	kind, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return f, false
	}
	switch kind {
	case "param":
		return field{kind: kind, name: rest}, true
	case "present":
		m, err := url.PathUnescape(rest)
		return field{kind: kind, member: m}, err == nil
	case "member":
		esc, name, ok := strings.Cut(rest, "/")
		m, err := url.PathUnescape(esc)
		return field{kind: kind, member: m, name: name}, ok && err == nil
	}
	return f, false
}

// Record is one edit published to the fleet, as the log key holds it and
// [Fleet.History] returns it: what changed, by whom, from where, when.
type Record struct {
	// Revision is the etcd revision of the edit, which orders all edits of
	// the fleet (0 in the log value itself).
	Revision int64 `json:"revision,omitempty"`
	// Replica is the gateway the edit was made on.
	Replica string `json:"replica"`
	// Source, Who and When are the provenance of the edit on that replica
	// ([balancer.Change]).
	Source string    `json:"source,omitempty"`
	Who    string    `json:"who,omitempty"`
	When   time.Time `json:"when"`
	// Balancer is the balancer's name, "balancer://name".
	Balancer string `json:"balancer"`
	// Fields lists what was published with the JSON values, keyed by the
	// key below the balancer's prefix ("param/method",
	// "member/<url>/loadFactor", "present/<url>", URLs path-escaped).
	Fields map[string]json.RawMessage `json:"fields"`
}

// stateFields lists the values of State s as fields, keyed like Record.Fields.
func stateFields(s balancer.State) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	put := func(k string, v any) {
		j, err := json.Marshal(v)
		if err != nil {
			panic(err) // plain values always encode
		}
		out[k] = j
	}
	put("param/method", s.Method)
	put("param/stickySession", s.StickySession)
	put("param/noFailover", s.NoFailover)
	put("param/maxAttempts", s.MaxAttempts)
	put("param/timeout", s.Timeout)
	for _, m := range s.Members {
		esc := url.PathEscape(m.URL)
		p := "member/" + esc + "/"
		put("present/"+esc, true)
		put(p+"loadFactor", m.LoadFactor)
		put(p+"lbSet", m.LBSet)
		put(p+"route", m.Route)
		put(p+"redirect", m.Redirect)
		put(p+"hc/method", m.HealthCheck.Method)
		put(p+"hc/uri", m.HealthCheck.URI)
		put(p+"hc/interval", m.HealthCheck.Interval)
		put(p+"hc/passes", m.HealthCheck.Passes)
		put(p+"hc/fails", m.HealthCheck.Fails)
		for _, l := range flagLetters {
			put(p+"flag/"+string(l), strings.ContainsRune(m.Flags, l))
		}
	}
	return out
}

// fieldSet is a set of published field values of one balancer, keyed like
// Record.Fields; a nil value is a deleted member field.
type fieldSet map[string]json.RawMessage

// change turns fields into the Change that sets them on a balancer whose
// state is cur. Members that cur lacks are added when present is true, and
// their edits dropped otherwise; members removed are removed if cur has
// them. Values that cannot be decoded are reported in errs and left out.
func (fs fieldSet) change(cur balancer.State) (c balancer.Change, errs []error) {
	have := map[string]bool{}
	for _, m := range cur.Members {
		have[m.URL] = true
	}
	// dec decodes v into *dst, a pointer field, only if v is valid.
	dec := func(k string, v json.RawMessage, dst any) bool {
		if err := decodeInto(v, dst); err != nil {
			errs = append(errs, fmt.Errorf("fleet: %s: value %s: %v", k, v, err))
			return false
		}
		return true
	}
	added := map[string]bool{}
	for k, v := range fs {
		f, ok := parseRel(k)
		if !ok || f.kind != "present" || v == nil {
			continue
		}
		m := f.member
		var p bool
		if !dec(k, v, &p) {
			continue
		}
		switch {
		case p && !have[m]:
			c.Add = append(c.Add, balancer.MemberChange{URL: m})
			added[m] = true
		case !p && have[m]:
			c.Remove = append(c.Remove, m)
		}
	}
	edits := map[string]*balancer.MemberChange{}
	edit := func(m string) *balancer.MemberChange {
		if e := edits[m]; e != nil {
			return e
		}
		e := &balancer.MemberChange{URL: m}
		edits[m] = e
		return e
	}
	for k, v := range fs {
		if v == nil {
			continue
		}
		f, ok := parseRel(k)
		if !ok {
			continue
		}
		if f.kind == "param" {
			switch f.name {
			case "method":
				dec(k, v, &c.Method)
			case "stickySession":
				dec(k, v, &c.StickySession)
			case "noFailover":
				dec(k, v, &c.NoFailover)
			case "maxAttempts":
				dec(k, v, &c.MaxAttempts)
			case "timeout":
				dec(k, v, &c.Timeout)
			}
			continue
		}
		if f.kind != "member" {
			continue
		}
		m, name := f.member, f.name
		if !have[m] && !added[m] {
			continue // a member this replica does not have
		}
		if removing(c.Remove, m) {
			continue
		}
		e := edit(m)
		hc := func() *balancer.HealthCheckChange {
			if e.HealthCheck == nil {
				e.HealthCheck = &balancer.HealthCheckChange{}
			}
			return e.HealthCheck
		}
		switch name {
		case "loadFactor":
			dec(k, v, &e.LoadFactor)
		case "lbSet":
			dec(k, v, &e.LBSet)
		case "route":
			dec(k, v, &e.Route)
		case "redirect":
			dec(k, v, &e.Redirect)
		case "hc/method":
			dec(k, v, &hc().Method)
		case "hc/uri":
			dec(k, v, &hc().URI)
		case "hc/interval":
			dec(k, v, &hc().Interval)
		case "hc/passes":
			dec(k, v, &hc().Passes)
		case "hc/fails":
			dec(k, v, &hc().Fails)
		default:
			l, ok := strings.CutPrefix(name, "flag/")
			var on bool
			if ok && len(l) == 1 && strings.Contains(flagLetters, l) && dec(k, v, &on) {
				if on {
					e.Set += l
				} else {
					e.Clear += l
				}
			}
		}
	}
	for _, e := range edits {
		e.Set, e.Clear = sortLetters(e.Set), sortLetters(e.Clear)
		c.Members = append(c.Members, *e)
	}
	sortChange(&c)
	return c, errs
}

func removing(rm []string, m string) bool {
	for _, r := range rm {
		if r == m {
			return true
		}
	}
	return false
}

// decodeInto decodes v into dst, a pointer to a value or to a pointer
// field, leaving dst unchanged when v does not decode (json.Unmarshal may
// allocate a pointer field before it fails).
func decodeInto(v json.RawMessage, dst any) error {
	rv := reflect.ValueOf(dst).Elem()
	tmp := reflect.New(rv.Type())
	if err := json.Unmarshal(v, tmp.Interface()); err != nil {
		return err
	}
	rv.Set(tmp.Elem())
	return nil
}
