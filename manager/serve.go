package manager

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/proxybalancer/balancer"
)

// output formats of an answer.
type mgrFormat int

const (
	mgrHTML mgrFormat = iota
	mgrJSON
	mgrXML
)

// mgrResponseFormat decides how to answer r: XML with an xml parameter, JSON
// with a json parameter, a JSON body or Accept: application/json, else
// HTML.
func mgrResponseFormat(r *http.Request, form url.Values) mgrFormat {
	q := r.URL.Query()
	switch {
	case q.Has("xml") || form.Has("xml"):
		return mgrXML
	case q.Has("json") || form.Has("json"):
		return mgrJSON
	case mgrIsJSON(r.Header.Get("Content-Type")):
		return mgrJSON
	}
	accept := r.Header.Get("Accept")
	if strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html") {
		return mgrJSON
	}
	return mgrHTML
}

func mgrIsJSON(ct string) bool {
	ct, _, _ = strings.Cut(ct, ";")
	return strings.EqualFold(strings.TrimSpace(ct), "application/json")
}

// mgrSecurityHeaders sets the headers every answer carries: no caching, no
// framing (the page has forms), no sniffing, no referrer to other sites,
// and a content security policy that allows nothing but the page's own
// style sheet and forms posting to the manager.
func mgrSecurityHeaders(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", pageCSP)
}

// mgrMaxBody bounds a POST body (Apache reads about 1 KB).
const mgrMaxBody = 64 << 10

// ServeHTTP serves the page, the XML and JSON documents, and changes; see
// [Manager].
func (mg *Manager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	mgrSecurityHeaders(w.Header())
	if err := mg.checkHost(r); err != nil {
		// Before anything is read: a page of another site rebound to
		// this address must not see the nonces.
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		mg.serveRead(w, r)
	case http.MethodPost:
		mg.serveChange(w, r)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		mg.fail(w, r, mgrResponseFormat(r, nil), http.StatusMethodNotAllowed,
			fmt.Errorf("balancer: manager: method %s: want GET, HEAD or POST", r.Method))
	}
}

var _ http.Handler = (*Manager)(nil)

// serveRead answers a GET: the page, XML or JSON. Parameters that would
// change something are refused: changes need POST.
func (mg *Manager) serveRead(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := mgrResponseFormat(r, nil)
	for key := range q {
		if mgrIsChangeKey(key) {
			w.Header().Set("Allow", "POST")
			mg.fail(w, r, f, http.StatusMethodNotAllowed,
				&mgrFieldError{field: key, value: q.Get(key), msg: "changes need POST (with the nonce)"})
			return
		}
	}
	switch {
	case q.Has("charts"):
		mg.writeCharts(w)
		return
	case q.Has("changes"):
		mg.writeChanges(w)
		return
	case q.Has("asset"):
		if a := q.Get("asset"); a != "charts.js" {
			mg.fail(w, r, f, http.StatusNotFound, &mgrFieldError{field: "asset", value: a, msg: "no such asset (there is charts.js)"})
			return
		}
		writeScript(w)
		return
	}
	if b := strings.TrimSpace(q.Get("b")); b != "" {
		m := mg.lookup(b)
		if m == nil {
			mg.fail(w, r, f, http.StatusNotFound, &mgrFieldError{field: "b", value: b, msg: "no such balancer"})
			return
		}
		if wu := strings.TrimSpace(q.Get("w")); wu != "" && !m.hasMember(wu) {
			mg.fail(w, r, f, http.StatusNotFound, &mgrFieldError{field: "w", value: wu, msg: "no such member in " + m.b.Name()})
			return
		}
	}
	mg.respond(w, r, f, http.StatusOK, mg.viewOf(q), "")
}

// viewOf returns what the query's b and w open; names that match nothing
// open nothing.
func (mg *Manager) viewOf(q url.Values) mgrView {
	m := mg.lookup(q.Get("b"))
	if m == nil {
		return mgrView{}
	}
	v := mgrView{m: m}
	if wu := strings.TrimSpace(q.Get("w")); wu != "" && m.hasMember(wu) {
		v.w = wu
	}
	return v
}

// mgrView is what a page shows opened: a balancer's settings form and a
// member's edit form.
type mgrView struct {
	m *managed
	w string // member URL as given
}

func (m *managed) hasMember(raw string) bool {
	name, err := balancer.NormalizeURL(raw)
	if err != nil {
		return false
	}
	for _, ms := range m.b.Members() {
		if ms.URL == name {
			return true
		}
	}
	return false
}

// serveChange answers a POST: checks, applies and persists a change, then
// answers as a GET would, with a note.
func (mg *Manager) serveChange(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, mgrMaxBody)
	ct := r.Header.Get("Content-Type")
	var (
		e   *mgrEdit
		err error
	)
	f := mgrResponseFormat(r, nil)
	switch mt, _, _ := strings.Cut(ct, ";"); strings.ToLower(strings.TrimSpace(mt)) {
	case "application/json":
		e, err = mgrParseJSON(r.Body)
	case "application/x-www-form-urlencoded":
		if err = r.ParseForm(); err != nil {
			code := http.StatusBadRequest
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				code = http.StatusRequestEntityTooLarge
			}
			mg.fail(w, r, f, code, fmt.Errorf("balancer: manager: form: %v", err))
			return
		}
		f = mgrResponseFormat(r, r.PostForm)
		e, err = mgrParseForm(r.URL.Query(), r.PostForm)
	default:
		mg.fail(w, r, f, http.StatusUnsupportedMediaType,
			fmt.Errorf("balancer: manager: Content-Type %q: want application/x-www-form-urlencoded or application/json", ct))
		return
	}
	if err := mg.sameOrigin(r); err != nil {
		mg.fail(w, r, f, http.StatusForbidden, err)
		return
	}
	if err != nil {
		mg.fail(w, r, f, http.StatusBadRequest, err)
		return
	}
	if e.balancer.v == "" {
		mg.fail(w, r, f, http.StatusBadRequest, &mgrFieldError{field: e.balancer.field, missing: true, msg: "missing: name the balancer to change"})
		return
	}
	m := mg.lookup(e.balancer.v)
	if m == nil {
		mg.fail(w, r, f, http.StatusBadRequest, &mgrFieldError{field: e.balancer.field, value: e.balancer.v, msg: "no such balancer"})
		return
	}
	switch {
	case mg.readOnly || m.nonce == "":
		mg.fail(w, r, f, http.StatusForbidden, fmt.Errorf("balancer: manager: %s is read-only", m.b.Name()))
		return
	case !e.nonce.set || e.nonce.v == "":
		mg.fail(w, r, f, http.StatusForbidden, &mgrFieldError{field: e.nonce.field, missing: true, msg: "missing: changes need the balancer's nonce"})
		return
	case !m.nonceOK(e.nonce.v):
		mg.fail(w, r, f, http.StatusForbidden, &mgrFieldError{field: e.nonce.field, value: e.nonce.v, msg: "wrong nonce for " + m.b.Name()})
		return
	}
	if err := e.err(); err != nil {
		mg.fail(w, r, f, http.StatusBadRequest, err)
		return
	}
	// The page opens what the page the form was on had open (the form
	// posts to that page's URL); JSON shows the balancer changed.
	sel := mgrView{m: m}
	if f == mgrHTML {
		sel = mg.viewOf(r.URL.Query())
	}
	mg.editMu.Lock()
	changed, err := mg.applyEdit(m, e, who(r))
	var saveErr error
	if err == nil && changed && mg.stateFile != "" {
		// The change listener saved the state file; its result, or a
		// later save's, which has this change too.
		mg.saveMu.Lock()
		saveErr = mg.saveErr
		mg.saveMu.Unlock()
	}
	mg.editMu.Unlock()
	if err != nil {
		code := http.StatusBadRequest
		var fe *mgrFieldError
		var fes mgrErrors
		if !errors.As(err, &fe) && !errors.As(err, &fes) {
			code = http.StatusInternalServerError
		}
		mg.fail(w, r, f, code, err)
		return
	}
	if saveErr != nil {
		mg.fail(w, r, f, http.StatusInternalServerError,
			fmt.Errorf("balancer: manager: the change was applied but not saved: %v", saveErr))
		return
	}
	note := "No change."
	if changed {
		note = "Changes applied to " + m.b.Name() + "."
	}
	mg.respond(w, r, f, http.StatusOK, sel, note)
}

// respond writes the document in format f.
func (mg *Manager) respond(w http.ResponseWriter, r *http.Request, f mgrFormat, code int, sel mgrView, note string) {
	switch f {
	case mgrXML:
		mg.writeXML(w, code)
	case mgrJSON:
		mg.writeJSON(w, code, sel)
	default:
		mg.writeHTML(w, r, code, sel, note, "")
	}
}

// fail answers an error in format f.
func (mg *Manager) fail(w http.ResponseWriter, r *http.Request, f mgrFormat, code int, err error) {
	switch f {
	case mgrJSON:
		mgrWriteJSONError(w, code, err)
	case mgrXML:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		fmt.Fprintln(w, err.Error())
	default:
		mg.writeHTML(w, r, code, mgrView{}, "", err.Error())
	}
}

// mgrFieldError is a rejected parameter: it names the parameter and its value.
type mgrFieldError struct {
	field   string
	value   string
	missing bool // no value was given: the message shows none
	msg     string
}

func (e *mgrFieldError) Error() string {
	if e.missing {
		return fmt.Sprintf("balancer: manager: %s: %s", e.field, e.msg)
	}
	return fmt.Sprintf("balancer: manager: %s %q: %s", e.field, e.value, e.msg)
}

// snapshot of one balancer for the page, the JSON and XML documents.
type managedState struct {
	m       *managed
	cfg     balancer.Config
	members []balancer.MemberStats
	conf    map[string]*balancer.Member // configuration by normalised URL
	added   map[string]bool             // members added through the manager
}

// state takes a snapshot of m. The configuration and the member counters
// are read one after the other, so a change in between may show in one
// and not the other; a member missing from the configuration shows with
// zero settings.
func (mg *Manager) state(m *managed) *managedState {
	st := &managedState{m: m, cfg: m.b.Config(), members: m.b.Members(), conf: map[string]*balancer.Member{}, added: map[string]bool{}}
	for i := range st.cfg.Members {
		if n, err := balancer.NormalizeURL(st.cfg.Members[i].URL); err == nil {
			st.conf[n] = &st.cfg.Members[i]
		}
	}
	mg.mu.Lock()
	defer mg.mu.Unlock()
	for u := range m.added {
		if st.conf[u] != nil {
			st.added[u] = true
		}
	}
	return st
}

// memberConf returns the configuration of a member, or a zero Member.
func (st *managedState) memberConf(url string) *balancer.Member {
	if c := st.conf[url]; c != nil {
		return c
	}
	return &balancer.Member{URL: url}
}

// growthUsed returns how many members added through the manager are in
// the balancer.
func (st *managedState) growthUsed() int { return len(st.added) }

// who names the client of a change: its address and, with basic auth, the
// user name.
func who(r *http.Request) string {
	if u, _, ok := r.BasicAuth(); ok && u != "" {
		return u + "@" + r.RemoteAddr
	}
	return r.RemoteAddr
}
