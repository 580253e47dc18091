package balancer

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// ManagerConfig configures a [Manager]. The zero value of every field but
// Balancers means the default its comment names.
type ManagerConfig struct {
	// Balancers are the balancers the manager shows and changes, in the
	// order the page lists them. Their names must differ. Required.
	Balancers []*Balancer

	// Growth is how many members may be added to each balancer through the
	// manager (Apache's growth), 0 to 100. Zero means none: the manager
	// offers no "add member" form. A member added through the manager
	// counts until it leaves the balancer (an Update without it).
	Growth int

	// GrowthFor sets the growth of some balancers, keyed like Nonces,
	// overriding Growth for them (Apache's growth= is per balancer).
	GrowthFor map[string]int

	// Nonces fixes the nonce of some balancers, keyed by name ("mycluster"
	// or "balancer://mycluster"; Apache's nonce=). A nonce is at most 36
	// bytes, without control characters or spaces. An empty nonce makes
	// the balancer read-only, as Apache's nonce=None does. A balancer
	// without an entry gets a random UUID from crypto/rand at NewManager.
	Nonces map[string]string

	// ReadOnly makes every balancer read-only: the page, JSON and XML
	// show state and no change is accepted.
	ReadOnly bool

	// TrustedOrigins lists further origins ("https://admin.example.com")
	// whose pages may post changes, for a manager reached through a proxy
	// that changes the Host header. By default only the request's own
	// host is trusted.
	TrustedOrigins []string

	// StateFile, if set, keeps the changes made through the manager across
	// restarts (Apache's BalancerPersist): after each change the settings
	// and flags of every balancer are written to this JSON file (to a
	// temporary file in the same directory, then renamed), and NewManager
	// applies the file's content, if it exists, over the balancers'
	// configuration. Members are matched by normalised URL.
	StateFile string

	// Now returns the current time for the page; nil means time.Now.
	Now func() time.Time
}

// Manager is an [http.Handler] that shows and changes balancers at
// runtime, like Apache's balancer-manager. It serves, at whatever path it
// is mounted:
//
//   - GET: an HTML page with every balancer's settings and members;
//     "?b=name" opens the balancer's settings form and "?b=name&w=url" a
//     member's edit form.
//   - GET "?xml=1": Apache's XML document (text/xml, namespace httpd).
//   - GET "?json" (or Accept: application/json): the same data as JSON.
//   - POST: a change, as a form with Apache's parameter names (b, w,
//     nonce, w_lf, w_ls, w_wr, w_rr, w_status_X, w_hm, w_hi, w_hp, w_hf,
//     w_hu, b_lbm, b_tmo, b_max, b_sforce, b_ss, b_wyes with b_nwrkr), or
//     as a JSON document (Content-Type: application/json). The answer is
//     the page, or JSON or XML when asked for as above.
//
// A change needs POST, the balancer's nonce and a same-origin request
// (Sec-Fetch-Site, Origin or Referer, in that order, when a browser sends
// them; a request with none of them is not from a browser and needs only
// the nonce). Every value is checked before anything is applied: a bad
// value is answered 400 naming the parameter, a missing or wrong nonce or
// a cross-origin request 403, a GET carrying a change 405, and nothing
// changes. A valid change applies to the next request: the configuration
// through one atomic switch, then the status flags, under the balancer's
// configuration lock (a request routed in between sees the new settings
// with the old flags).
//
// The Manager does no access control of its own: mount it behind the
// embedder's authentication. A Manager is safe for concurrent use.
type Manager struct {
	now       func() time.Time
	readOnly  bool
	stateFile string
	trusted   map[string]bool

	list   []*managed
	byName map[string]*managed

	// mu serialises changes and state-file writes, and guards
	// managed.added.
	mu sync.Mutex
}

// managed is one balancer as the manager knows it.
type managed struct {
	b      *Balancer
	name   string // lower-cased, without "balancer://"
	nonce  string // "" = read-only
	growth int    // members the manager may add
	added  map[string]bool
}

const mgrMaxNonce = 36 // Apache stores nonces in 37-byte fields

// NewManager validates cfg and returns a Manager. With a StateFile that
// exists, its content is applied to the balancers before NewManager
// returns; an unreadable or invalid state file is an error.
func NewManager(cfg ManagerConfig) (*Manager, error) {
	mg := &Manager{
		now:       cfg.Now,
		readOnly:  cfg.ReadOnly,
		stateFile: cfg.StateFile,
		trusted:   map[string]bool{},
		byName:    map[string]*managed{},
	}
	if mg.now == nil {
		mg.now = time.Now
	}
	if cfg.Growth < 0 || cfg.Growth > 100 {
		return nil, fmt.Errorf("balancer: manager: growth %d: out of range 0..100", cfg.Growth)
	}
	if len(cfg.Balancers) == 0 {
		return nil, errors.New("balancer: manager: balancers: none given")
	}
	for i, b := range cfg.Balancers {
		if b == nil {
			return nil, fmt.Errorf("balancer: manager: balancers[%d]: nil", i)
		}
		name := mgrShortName(b.Name())
		if mg.byName[name] != nil {
			return nil, fmt.Errorf("balancer: manager: balancer %q: given twice", b.Name())
		}
		m := &managed{b: b, name: name, added: map[string]bool{}, growth: cfg.Growth}
		mg.byName[name] = m
		mg.list = append(mg.list, m)
	}
	grown := map[*managed]string{}
	for key, g := range cfg.GrowthFor {
		m := mg.byName[mgrShortName(key)]
		if m == nil {
			return nil, fmt.Errorf("balancer: manager: growthfor %q: no such balancer", key)
		}
		if other, dup := grown[m]; dup {
			return nil, fmt.Errorf("balancer: manager: growthfor %q: %s has a growth already (under %q)", key, m.b.Name(), other)
		}
		if g < 0 || g > 100 {
			return nil, fmt.Errorf("balancer: manager: growthfor %q: growth %d: out of range 0..100", key, g)
		}
		grown[m] = key
		m.growth = g
	}
	fixed := map[*managed]string{}
	for key, nonce := range cfg.Nonces {
		m := mg.byName[mgrShortName(key)]
		if m == nil {
			return nil, fmt.Errorf("balancer: manager: nonces %q: no such balancer", key)
		}
		if other, dup := fixed[m]; dup {
			return nil, fmt.Errorf("balancer: manager: nonces %q: %s has a nonce already (under %q)", key, m.b.Name(), other)
		}
		if err := mgrCheckNonce(nonce); err != nil {
			return nil, fmt.Errorf("balancer: manager: nonces %q: %v", key, err)
		}
		fixed[m] = key
		m.nonce = nonce
	}
	for _, m := range mg.list {
		if _, ok := fixed[m]; !ok {
			m.nonce = mgrNewNonce()
		}
	}
	for _, o := range cfg.TrustedOrigins {
		n, err := mgrOrigin(o)
		if err != nil {
			return nil, fmt.Errorf("balancer: manager: trustedorigins %q: %v", o, err)
		}
		mg.trusted[n] = true
	}
	if mg.stateFile != "" {
		if err := mg.load(); err != nil {
			return nil, err
		}
	}
	return mg, nil
}

// mgrShortName returns a balancer name lower-cased and without "balancer://".
func mgrShortName(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.TrimPrefix(s, "balancer://")
}

func mgrCheckNonce(n string) error {
	if len(n) > mgrMaxNonce {
		return fmt.Errorf("longer than %d bytes", mgrMaxNonce)
	}
	for i := 0; i < len(n); i++ {
		if n[i] <= ' ' || n[i] == 0x7f {
			return fmt.Errorf("byte %#02x at %d: control characters and spaces are not allowed", n[i], i)
		}
	}
	return nil
}

// mgrNewNonce returns a random UUID (version 4), as Apache's default nonce.
func mgrNewNonce() string {
	var u [16]byte
	rand.Read(u[:]) // never fails (crypto/rand panics rather than return an error)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// mgrOrigin returns an origin as "scheme://host[:port]", lower-case,
// without a default port.
func mgrOrigin(o string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(o))
	if err != nil {
		return "", err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("scheme %q: want http or https", u.Scheme)
	}
	if u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("want scheme://host[:port] and nothing else")
	}
	return strings.ToLower(u.Scheme) + "://" + mgrHost(u.Scheme, u.Host), nil
}

func mgrHost(scheme, host string) string {
	host = strings.ToLower(host)
	switch {
	case scheme == "http" && strings.HasSuffix(host, ":80"):
		return strings.TrimSuffix(host, ":80")
	case scheme == "https" && strings.HasSuffix(host, ":443"):
		return strings.TrimSuffix(host, ":443")
	}
	return host
}

// sameOrigin checks that a change comes from a page of this manager. A
// browser sends Sec-Fetch-Site (recent ones), Origin (on every POST) or at
// least Referer; the first present decides. A request with none of them
// does not come from a browser, so cross-site request forgery does not
// apply to it (the nonce is still required).
func (mg *Manager) sameOrigin(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		if site == "same-origin" || site == "none" {
			return nil
		}
		if n, err := mgrOrigin(origin); err == nil && mg.trusted[n] {
			return nil
		}
		return fmt.Errorf("balancer: manager: Sec-Fetch-Site %q: changes must come from the manager's own page", site)
	}
	if origin != "" {
		if mg.hostMatches(origin, r) {
			return nil
		}
		return fmt.Errorf("balancer: manager: Origin %q: not this host (%q) nor a trusted origin", origin, r.Host)
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		if mg.hostMatches(ref, r) {
			return nil
		}
		return fmt.Errorf("balancer: manager: Referer %q: not this host (%q) nor a trusted origin", ref, r.Host)
	}
	return nil
}

// hostMatches reports whether the URL (an Origin or a Referer) names the
// request's host or a trusted origin.
func (mg *Manager) hostMatches(raw string, r *http.Request) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	host := mgrHost(u.Scheme, u.Host)
	if mg.trusted[u.Scheme+"://"+host] {
		return true
	}
	return host == mgrHost(u.Scheme, r.Host)
}

// nonceOK compares a given nonce with the balancer's in constant time.
func (m *managed) nonceOK(given string) bool {
	return m.nonce != "" && subtle.ConstantTimeCompare([]byte(given), []byte(m.nonce)) == 1
}

// lookup finds a balancer by name, with or without "balancer://".
func (mg *Manager) lookup(name string) *managed { return mg.byName[mgrShortName(name)] }

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
	_, name, err := normalizeURL(raw)
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
	mg.mu.Lock()
	changed, err := mg.applyEdit(m, e)
	var saveErr error
	if err == nil && changed && mg.stateFile != "" {
		saveErr = mg.saveLocked()
	}
	mg.mu.Unlock()
	if err != nil {
		code := http.StatusBadRequest
		var fe *mgrFieldError
		if !errors.As(err, &fe) {
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

// snapshot of one balancer for the page, the JSON and XML documents and
// the state file.
type managedState struct {
	m       *managed
	cfg     Config
	members []MemberStats
	conf    map[string]*Member // configuration by normalised URL
	added   map[string]bool    // members added through the manager
}

// state takes a snapshot of m. The configuration and the member counters
// are read one after the other, so a change in between may show in one
// and not the other; a member missing from the configuration shows with
// zero settings.
func (mg *Manager) state(m *managed, locked bool) *managedState {
	st := &managedState{m: m, cfg: m.b.Config(), members: m.b.Members(), conf: map[string]*Member{}, added: map[string]bool{}}
	for i := range st.cfg.Members {
		if _, n, err := normalizeURL(st.cfg.Members[i].URL); err == nil {
			st.conf[n] = &st.cfg.Members[i]
		}
	}
	if !locked {
		mg.mu.Lock()
		defer mg.mu.Unlock()
	}
	for u := range m.added {
		if st.conf[u] != nil {
			st.added[u] = true
		}
	}
	return st
}

// memberConf returns the configuration of a member, or a zero Member.
func (st *managedState) memberConf(url string) *Member {
	if c := st.conf[url]; c != nil {
		return c
	}
	return &Member{URL: url}
}

// growthUsed returns how many members added through the manager are in
// the balancer.
func (st *managedState) growthUsed() int { return len(st.added) }
