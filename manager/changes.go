package manager

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/proxybalancer/balancer"
)

// maxRecent is how many applied changes the manager remembers.
const maxRecent = 50

// recent remembers the last changes applied to the managed balancers, by
// anyone, for "who changed what" (the page and GET ?changes).
type recent struct {
	mu     sync.Mutex
	events []balancer.ChangeEvent // oldest first
}

func (r *recent) add(ev balancer.ChangeEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	if over := len(r.events) - maxRecent; over > 0 {
		r.events = append(r.events[:0:0], r.events[over:]...)
	}
}

// newestFirst returns the remembered changes, the newest first.
func (r *recent) newestFirst() []balancer.ChangeEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]balancer.ChangeEvent, len(r.events))
	for i, ev := range r.events {
		out[len(out)-1-i] = ev
	}
	return out
}

// The JSON document of GET ?changes: the last changes applied to the
// managed balancers, the newest first, each as the balancer.Change that was
// applied (with its provenance: source, who, when, version).
type changesDoc struct {
	Changes []changeEntry `json:"changes"`
}

type changeEntry struct {
	Balancer string          `json:"balancer"`
	Seq      uint64          `json:"seq"`
	Change   balancer.Change `json:"change"`
}

func (mg *Manager) writeChanges(w http.ResponseWriter) {
	doc := changesDoc{Changes: []changeEntry{}}
	for _, ev := range mg.recent.newestFirst() {
		doc.Changes = append(doc.Changes, changeEntry{Balancer: ev.Balancer, Seq: ev.Seq, Change: ev.Change})
	}
	mgrWriteJSON(w, http.StatusOK, doc)
}

// summary describes a change in a line, for the page.
func summary(c balancer.Change) string {
	var parts []string
	add := func(format string, args ...any) { parts = append(parts, fmt.Sprintf(format, args...)) }
	if c.Method != nil {
		add("method %s", *c.Method)
	}
	if c.StickySession != nil {
		if *c.StickySession == "" {
			add("sticky sessions off")
		} else {
			add("stickysession %s", *c.StickySession)
		}
	}
	if c.NoFailover != nil {
		add("nofailover %s", mgrOnOff(*c.NoFailover))
	}
	if c.MaxAttempts != nil {
		add("maxattempts %d", *c.MaxAttempts)
	}
	if c.Timeout != nil {
		add("timeout %v", *c.Timeout)
	}
	for _, u := range c.Remove {
		add("remove %s", u)
	}
	for _, m := range c.Add {
		add("add %s", memberSummary(m))
	}
	for _, m := range c.Members {
		add("%s", memberSummary(m))
	}
	if len(parts) == 0 {
		return "no values"
	}
	return strings.Join(parts, "; ")
}

func memberSummary(m balancer.MemberChange) string {
	parts := []string{m.URL}
	if m.LoadFactor != nil {
		parts = append(parts, "factor "+strconv.FormatFloat(*m.LoadFactor, 'f', -1, 64))
	}
	if m.LBSet != nil {
		parts = append(parts, "lbset "+strconv.Itoa(*m.LBSet))
	}
	if m.Route != nil {
		parts = append(parts, "route "+strconv.Quote(*m.Route))
	}
	if m.Redirect != nil {
		parts = append(parts, "redirect "+strconv.Quote(*m.Redirect))
	}
	if m.Set != "" {
		parts = append(parts, "set "+m.Set)
	}
	if m.Clear != "" {
		parts = append(parts, "clear "+m.Clear)
	}
	if m.HealthCheck != nil {
		parts = append(parts, "health check")
	}
	return strings.Join(parts, " ")
}
