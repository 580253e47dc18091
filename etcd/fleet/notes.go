package fleet

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/proxybalancer/balancer/manager"
)

// Notes returns the replica's fleet status as one [manager.Note] named
// "fleet", for [manager.Config].Notes: OK while etcd answers, with the
// revision applied, the edits waiting to be published and the last error
// applying a published edit, and when etcd is unreachable, since when and
// why (the replica serves with the state it has meanwhile). It is safe for
// concurrent use and does not block on etcd.
//
//	mgr, err := manager.New(manager.Config{Balancers: bs, Notes: f.Notes})
func (f *Fleet) Notes() []manager.Note {
	st := f.Status()
	n := manager.Note{Name: "fleet", OK: st.Connected}
	since := ""
	if !st.Since.IsZero() {
		since = " since " + st.Since.UTC().Format(time.RFC3339)
	}
	switch {
	case st.Connected:
		n.Detail = fmt.Sprintf("replica %s: etcd connected%s, revision %d", f.replica(), since, st.Revision)
	case st.Since.IsZero():
		n.Detail = fmt.Sprintf("replica %s: not started", f.replica())
	default:
		n.Detail = fmt.Sprintf("replica %s: etcd unreachable%s", f.replica(), since)
		if st.Err != nil {
			n.Detail += " (" + st.Err.Error() + ")"
		}
		n.Detail += fmt.Sprintf(", serving with the state of revision %d", st.Revision)
	}
	n.Detail += fmt.Sprintf(", %d edits waiting to be published", st.Pending)
	if st.ApplyErr != nil {
		n.Detail += ", last published edit not applied: " + st.ApplyErr.Error()
	}
	n.Detail += "; " + healthNote(st.Health)
	return []manager.Note{n}
}

// healthNote says whose health-check results the replica follows.
func healthNote(h HealthStatus) string {
	switch {
	case !h.Shared:
		return "health checks and error state per replica (not shared)"
	case !h.Current:
		return "health shared, but no current view of the other replicas' reports (etcd has not confirmed this replica's lease within HealthTTL, or not yet): its own checks only"
	}
	s := fmt.Sprintf("health shared: reports of %d other replicas", len(h.Replicas))
	if len(h.Replicas) > 0 {
		s += " (" + strings.Join(h.Replicas, ", ") + ")"
	}
	for _, bal := range slices.Sorted(maps.Keys(h.Marked)) {
		s += fmt.Sprintf(", %s: C set from them on %s", bal, strings.Join(h.Marked[bal], ", "))
	}
	return s
}
