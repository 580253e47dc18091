package fleet

import (
	"encoding/json"
	"net/http"
	"time"
)

// statusDoc is what ServeHTTP answers.
type statusDoc struct {
	Replica   string       `json:"replica"`
	Connected bool         `json:"connected"`
	Since     time.Time    `json:"since,omitzero"`
	Error     string       `json:"error,omitempty"`
	Revision  int64        `json:"revision"`
	Pending   int          `json:"pending"`
	ApplyErr  string       `json:"applyError,omitempty"`
	Health    HealthStatus `json:"health"`
	History   []Record     `json:"history"`
}

// ServeHTTP answers GET and HEAD with the replica's fleet status and the
// edits it has seen, newest first, as JSON: mount it beside the
// balancer-manager (behind the same access control) to see from any
// replica whether etcd is reachable, what is waiting to be published, and
// who changed what, from where, when. Other methods get 405.
func (f *Fleet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	st := f.Status()
	doc := statusDoc{
		Replica: f.replica(), Connected: st.Connected, Since: st.Since,
		Revision: st.Revision, Pending: st.Pending, Health: st.Health, History: f.History(),
	}
	if st.Err != nil {
		doc.Error = st.Err.Error()
	}
	if st.ApplyErr != nil {
		doc.ApplyErr = st.ApplyErr.Error()
	}
	for i, j := 0, len(doc.History)-1; i < j; i, j = i+1, j-1 {
		doc.History[i], doc.History[j] = doc.History[j], doc.History[i]
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(doc)
}
