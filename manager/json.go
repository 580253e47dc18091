package manager

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// The JSON document of GET ?json; see the README's "balancer-manager"
// section. Field names are stable.
type mgrJSONDoc struct {
	Notes     []Note            `json:"notes,omitempty"` // Config.Notes
	Balancers []mgrJSONBalancer `json:"balancers"`
}

type mgrJSONBalancer struct {
	Name          string          `json:"name"`  // balancer://name
	Nonce         string          `json:"nonce"` // "" when read-only
	ReadOnly      bool            `json:"readOnly"`
	StickySession string          `json:"stickySession"`
	NoFailover    bool            `json:"noFailover"`
	TimeoutMs     int64           `json:"timeoutMs"`
	MaxAttempts   int             `json:"maxAttempts"`
	Method        string          `json:"method"`
	Growth        int             `json:"growth"`
	GrowthUsed    int             `json:"growthUsed"`
	Members       []mgrJSONMember `json:"members"`
}

type mgrJSONMember struct {
	URL         string     `json:"url"`
	Route       string     `json:"route"`
	Redirect    string     `json:"redirect"`
	LoadFactor  float64    `json:"loadFactor"`
	LBSet       int        `json:"lbSet"`
	Status      string     `json:"status"` // Apache's display: "Init Dis"
	Flags       string     `json:"flags"`  // letters: "D"
	Usable      bool       `json:"usable"`
	Added       bool       `json:"added"` // added through the manager
	Elected     int64      `json:"elected"`
	Busy        int64      `json:"busy"`
	Load        int64      `json:"load"`
	Transferred int64      `json:"transferred"`
	Read        int64      `json:"read"`
	Retries     int64      `json:"retries"`
	ErrorSince  *time.Time `json:"errorSince,omitempty"`
	ErrorUntil  *time.Time `json:"errorUntil,omitempty"`
	// EjectedUntil is when an outlier ejection ends (absent when the
	// member is not ejected); Ejections counts its ejections.
	EjectedUntil *time.Time     `json:"ejectedUntil,omitempty"`
	Ejections    int64          `json:"ejections,omitempty"`
	HealthCheck  mgrJSONCheck   `json:"healthCheck"`
	Health       *mgrJSONHealth `json:"health,omitempty"` // absent while no checks run
}

type mgrJSONCheck struct {
	Method     string `json:"method"`
	URI        string `json:"uri"`
	IntervalMs int64  `json:"intervalMs"`
	Passes     int    `json:"passes"`
	Fails      int    `json:"fails"`
}

type mgrJSONHealth struct {
	Healthy    bool       `json:"healthy"`
	Passes     int        `json:"passes"` // consecutive, towards healthCheck.passes
	Fails      int        `json:"fails"`  // consecutive, towards healthCheck.fails
	Checking   bool       `json:"checking"`
	LastCheck  *time.Time `json:"lastCheck,omitempty"`
	LastStatus int        `json:"lastStatus,omitempty"`
	LastError  string     `json:"lastError,omitempty"`
}

func (st *managedState) json(readOnly bool) mgrJSONBalancer {
	jb := mgrJSONBalancer{
		Name:          st.m.b.Name(),
		Nonce:         st.m.nonce,
		ReadOnly:      readOnly || st.m.nonce == "",
		StickySession: st.cfg.StickySession,
		NoFailover:    st.cfg.NoFailover,
		TimeoutMs:     st.cfg.Timeout.Milliseconds(),
		MaxAttempts:   mgrMaxAttempts(st.cfg.MaxAttempts, len(st.cfg.Members)),
		Method:        mgrMethodName(st.cfg.Method),
		GrowthUsed:    st.growthUsed(),
		Members:       make([]mgrJSONMember, 0, len(st.members)),
	}
	if jb.ReadOnly {
		jb.Nonce = ""
	}
	for _, ms := range st.members {
		jm := mgrJSONMember{
			URL: ms.URL, Route: ms.Route, Redirect: ms.Redirect,
			LoadFactor: ms.LoadFactor, LBSet: ms.LBSet,
			Status: ms.Status.String(), Flags: ms.Status.Letters(), Usable: ms.Status.Usable(),
			Added:   st.added[ms.URL],
			Elected: ms.Elected, Busy: ms.Busy, Load: ms.Load,
			Transferred: ms.Transferred, Read: ms.Read, Retries: ms.Retries,
			HealthCheck: mgrJSONCheck{
				Method:     ms.HealthCheck.Method.String(),
				URI:        ms.HealthCheck.URI,
				IntervalMs: mgrHCInterval(ms.HealthCheck).Milliseconds(),
				Passes:     max(ms.HealthCheck.Passes, 1),
				Fails:      max(ms.HealthCheck.Fails, 1),
			},
		}
		if !ms.ErrorSince.IsZero() {
			since, until := ms.ErrorSince, ms.ErrorUntil
			jm.ErrorSince, jm.ErrorUntil = &since, &until
		}
		if !ms.EjectedUntil.IsZero() {
			until := ms.EjectedUntil
			jm.EjectedUntil = &until
		}
		jm.Ejections = ms.Ejections
		if ms.HealthKnown {
			h := ms.Health
			jh := &mgrJSONHealth{Healthy: h.Healthy, Passes: h.Passes, Fails: h.Fails, Checking: h.Checking, LastStatus: h.Last.Status}
			if !h.Last.Time.IsZero() {
				t := h.Last.Time
				jh.LastCheck = &t
			}
			if h.Last.Err != nil {
				jh.LastError = h.Last.Err.Error()
			}
			jm.Health = jh
		}
		jb.Members = append(jb.Members, jm)
	}
	return jb
}

// writeJSON writes the JSON document: every balancer, or the one sel
// names.
func (mg *Manager) writeJSON(w http.ResponseWriter, code int, sel mgrView) {
	doc := mgrJSONDoc{Notes: mg.notes(), Balancers: []mgrJSONBalancer{}}
	for _, m := range mg.balancers() {
		if sel.m != nil && sel.m != m {
			continue
		}
		jb := mg.state(m).json(mg.readOnly)
		jb.Growth = m.growth
		doc.Balancers = append(doc.Balancers, jb)
	}
	mgrWriteJSON(w, code, doc)
}

func mgrWriteJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, "balancer: manager: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	w.Write(append(body, '\n'))
}

// mgrJSONError is the body of a rejected JSON request: the message, and the
// parameters it names.
type mgrJSONError struct {
	Error  string   `json:"error"`
	Fields []string `json:"fields,omitempty"`
}

func mgrWriteJSONError(w http.ResponseWriter, code int, err error) {
	je := mgrJSONError{Error: err.Error()}
	var es mgrErrors
	var fe *mgrFieldError
	switch {
	case errors.As(err, &es):
		for _, e := range es {
			je.Fields = append(je.Fields, e.field)
		}
	case errors.As(err, &fe):
		je.Fields = []string{fe.field}
	}
	mgrWriteJSON(w, code, je)
}
