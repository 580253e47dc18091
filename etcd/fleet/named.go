package fleet

import (
	"encoding/json"
	"net/url"
	"strings"

	"github.com/proxybalancer/balancer"
)

// changeFields lists the values that c sets, keyed like Record.Fields
// (keys below the balancer's prefix), and the members it removes
// (path-escaped normalised URLs). Values come from c itself, so that an
// edit applied on this replica meanwhile cannot change what is published;
// only a member that c adds is read from cur, the balancer's state after
// c, since it starts from defaults.
func changeFields(c balancer.Change, cur map[string]json.RawMessage) (fields map[string]json.RawMessage, removed []string) {
	fields = map[string]json.RawMessage{}
	put := func(k string, v any) {
		j, err := json.Marshal(v)
		if err != nil {
			panic(err) // plain values always encode
		}
		fields[k] = j
	}
	esc := func(raw string) string {
		n, err := balancer.NormalizeURL(raw)
		if err != nil {
			n = raw
		}
		return url.PathEscape(n)
	}
	if c.Method != nil {
		put("param/method", strings.ToLower(strings.TrimSpace(*c.Method)))
	}
	if c.StickySession != nil {
		put("param/stickySession", *c.StickySession)
	}
	if c.NoFailover != nil {
		put("param/noFailover", *c.NoFailover)
	}
	if c.MaxAttempts != nil {
		put("param/maxAttempts", *c.MaxAttempts)
	}
	if c.Timeout != nil {
		put("param/timeout", *c.Timeout)
	}
	for _, r := range c.Remove {
		m := esc(r)
		removed = append(removed, m)
		put("present/"+m, false)
	}
	for _, a := range c.Add {
		m := esc(a.URL)
		p := "member/" + m + "/"
		put("present/"+m, true)
		for k, v := range cur {
			if strings.HasPrefix(k, p) {
				fields[k] = v
			}
		}
	}
	for _, me := range c.Members {
		p := "member/" + esc(me.URL) + "/"
		if me.LoadFactor != nil {
			put(p+"loadFactor", *me.LoadFactor)
		}
		if me.LBSet != nil {
			put(p+"lbSet", *me.LBSet)
		}
		if me.Route != nil {
			put(p+"route", *me.Route)
		}
		if me.Redirect != nil {
			put(p+"redirect", *me.Redirect)
		}
		if hc := me.HealthCheck; hc != nil {
			if hc.Method != nil {
				put(p+"hc/method", strings.ToUpper(strings.TrimSpace(*hc.Method)))
			}
			if hc.URI != nil {
				put(p+"hc/uri", *hc.URI)
			}
			if hc.Interval != nil {
				put(p+"hc/interval", *hc.Interval)
			}
			if hc.Passes != nil {
				put(p+"hc/passes", *hc.Passes)
			}
			if hc.Fails != nil {
				put(p+"hc/fails", *hc.Fails)
			}
		}
		// Set, then Clear: a letter in both ends cleared.
		for _, l := range strings.ToUpper(me.Set) {
			if strings.ContainsRune(flagLetters, l) {
				put(p+"flag/"+string(l), true)
			}
		}
		for _, l := range strings.ToUpper(me.Clear) {
			if strings.ContainsRune(flagLetters, l) {
				put(p+"flag/"+string(l), false)
			}
		}
	}
	return fields, removed
}
