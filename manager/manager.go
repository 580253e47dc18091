// Package manager is Apache's balancer-manager for the balancers of
// package balancer: an [http.Handler] that shows their members and
// counters and changes their settings and flags at runtime, as an HTML
// page, Apache's XML document and a JSON API.
//
// It stands apart from package balancer as net/http/pprof stands apart
// from net/http: a program that does not mount a manager does not link it.
// It uses only the balancer's public edit API ([balancer.Balancer.Apply],
// [balancer.Balancer.State], [balancer.Balancer.OnChange]), which an admin
// page, automation or fleet sync of one's own can use in the same way.
//
// # Mounting
//
//	b, _ := balancer.New(balancer.Config{Name: "app", Members: ...})
//	mg, err := manager.New(manager.Config{Balancers: []*balancer.Balancer{b}})
//	if err != nil { ... }
//	mux := http.NewServeMux()
//	mux.Handle("/app/", b)
//	mux.Handle("/balancer-manager", requireAdmin(mg)) // your authentication
//
// The manager does no authentication: mount it behind the embedder's. It
// answers only requests for the host names of [Config.Hosts] (by default
// loopback addresses and localhost), which defeats DNS rebinding, and
// accepts changes only with the balancer's nonce from a page of its own
// origin. See docs/manager.md in the repository for the JSON API.
package manager

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/proxybalancer/balancer"
)

// Config configures a [Manager]. The zero value of every field but
// Balancers means the default its comment names.
type Config struct {
	// Balancers are the balancers the manager shows and changes, in the
	// order the page lists them. Their names must differ. Required;
	// [Manager.SetBalancers] replaces them later.
	Balancers []*balancer.Balancer

	// Growth is how many members may be added to each balancer through the
	// manager (Apache's growth), 0 to 100. Zero means none: the manager
	// offers no "add member" form. A member added through the manager
	// counts until it leaves the balancer.
	Growth int

	// GrowthFor sets the growth of some balancers, keyed like Nonces,
	// overriding Growth for them (Apache's growth= is per balancer).
	GrowthFor map[string]int

	// Nonces fixes the nonce of some balancers, keyed by name ("mycluster"
	// or "balancer://mycluster"; Apache's nonce=). A nonce is at most 36
	// bytes, without control characters or spaces. An empty nonce makes
	// the balancer read-only, as Apache's nonce=None does. A balancer
	// without an entry gets a random UUID from crypto/rand.
	Nonces map[string]string

	// ReadOnly makes every balancer read-only: the page, JSON and XML
	// show state and no change is accepted.
	ReadOnly bool

	// Hosts are the host names the manager answers for, compared with
	// the request's Host without its port, case-insensitively: names
	// ("admin.example.com"), IP addresses, "*.example.com" for every name
	// under example.com, or "*" for any host (which gives up the
	// protection against DNS rebinding: a page of another site whose name
	// was made to resolve to the manager's address could read it and post
	// changes). Empty means loopback addresses (127.0.0.0/8, ::1) and
	// "localhost", on any port. A request for another host gets 403.
	Hosts []string

	// TrustedOrigins lists further origins ("https://admin.example.com")
	// whose pages may post changes, for a manager reached through a proxy
	// that changes the Host header or terminates TLS. By default only the
	// request's own origin (its scheme, http or https, and its Host) is
	// trusted.
	TrustedOrigins []string

	// StateFile, if set, keeps runtime changes across restarts (Apache's
	// BalancerPersist): after each change applied to a balancer (through
	// the manager or any other caller of [balancer.Balancer.Apply]) the
	// state of every balancer ([balancer.Balancer.State], and which
	// members the manager added) is written to this JSON file (to a
	// temporary file in the same directory, then renamed), and New
	// applies the file's content, if it exists, over the balancers'
	// configuration: the persisted state wins over the configuration for
	// the members and settings it names. Members are matched by normalised
	// URL ([balancer.NormalizeURL]).
	StateFile string

	// SampleInterval is the time between two points of the page's live
	// charts (and of GET ?charts): the members' counters are sampled that
	// often by [Manager.Run], or, without it, when the charts are read.
	// Zero means DefaultSampleInterval; at least 100 ms. The charts
	// follow the first MaxChartMembers members of each balancer.
	SampleInterval time.Duration

	// History is how far back the charts go; zero means DefaultHistory.
	History time.Duration

	// Now returns the current time for the page and the charts' samples;
	// nil means time.Now.
	Now func() time.Time

	// Notes, if set, returns lines of status of integrations the page
	// (above the balancers, a failing note as an error) and the JSON
	// ("notes") show, such as an etcd fleet's connection
	// (fleet.Fleet.Notes). It is called for each page and JSON document,
	// outside any manager lock, possibly concurrently; it must not block.
	Notes func() []Note
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
//   - GET "?charts": the data of the page's live charts (see [Manager.Run]);
//     "?asset=charts.js" is the page's script that draws them.
//   - GET "?changes": the last changes applied to the balancers, by the
//     manager or anyone else, with who made them (the page lists them too).
//   - POST: a change, as a form with Apache's parameter names (b, w,
//     nonce, w_lf, w_ls, w_wr, w_rr, w_status_X, w_hm, w_hi, w_hp, w_hf,
//     w_hu, b_lbm, b_tmo, b_max, b_sforce, b_ss, b_wyes with b_nwrkr), or
//     as a JSON document (Content-Type: application/json). The answer is
//     the page, or JSON or XML when asked for as above.
//
// Every request must name one of [Config.Hosts]. A change needs POST, the
// balancer's nonce and a same-origin request (Sec-Fetch-Site, Origin or
// Referer, in that order, when a browser sends them; a request with none
// of them is not from a browser and needs only the nonce). Every value is
// checked before anything is applied: a bad value is answered 400 naming
// the parameter, a missing or wrong nonce or a cross-origin request 403, a
// GET carrying a change 405, and nothing changes. A valid change is one
// [balancer.Balancer.Apply] (source "balancer-manager", by the client's
// address and, with basic auth, user name) and applies to the next request.
//
// The Manager does no access control of its own: mount it behind the
// embedder's authentication. A Manager is safe for concurrent use.
type Manager struct {
	now       func() time.Time
	notesFn   func() []Note
	readOnly  bool
	stateFile string
	trusted   map[string]bool
	hosts     hostList
	charts    *sampler
	recent    recent // the last changes applied, for who changed what

	// Growth and nonces of balancers named in the configuration, kept for
	// balancers that SetBalancers brings later.
	growth    int
	growthFor map[string]int // by short name
	nonces    map[string]string

	// mu guards list, byName and every managed.added.
	mu     sync.Mutex
	list   []*managed
	byName map[string]*managed

	// editMu serialises the manager's changes (growth is counted and
	// spent under it); saveMu serialises state-file writes and guards
	// saveErr, the result of the last one.
	editMu  sync.Mutex
	saveMu  sync.Mutex
	saveErr error
}

// managed is one balancer as the manager knows it.
type managed struct {
	b      *balancer.Balancer
	name   string // lower-cased, without "balancer://"
	nonce  string // "" = read-only
	growth int    // members the manager may add
	added  map[string]bool
	stop   func() // ends the OnChange subscription
}

const mgrMaxNonce = 36 // Apache stores nonces in 37-byte fields

// New validates cfg and returns a Manager. With a StateFile that exists,
// its content is applied to the balancers before New returns; an
// unreadable or invalid state file is an error.
func New(cfg Config) (*Manager, error) {
	mg := &Manager{
		now:       cfg.Now,
		notesFn:   cfg.Notes,
		readOnly:  cfg.ReadOnly,
		stateFile: cfg.StateFile,
		trusted:   map[string]bool{},
		byName:    map[string]*managed{},
		growth:    cfg.Growth,
		growthFor: map[string]int{},
		nonces:    map[string]string{},
		charts:    newSampler(cfg.SampleInterval, cfg.History),
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
	list, err := mg.build(cfg.Balancers, nil)
	if err != nil {
		return nil, err
	}
	for key, g := range cfg.GrowthFor {
		name := mgrShortName(key)
		if _, dup := mg.growthFor[name]; dup {
			return nil, fmt.Errorf("balancer: manager: growthfor %q: %s has a growth already", key, name)
		}
		if g < 0 || g > 100 {
			return nil, fmt.Errorf("balancer: manager: growthfor %q: growth %d: out of range 0..100", key, g)
		}
		if mgrFind(list, name) == nil {
			return nil, fmt.Errorf("balancer: manager: growthfor %q: no such balancer", key)
		}
		mg.growthFor[name] = g
	}
	for key, nonce := range cfg.Nonces {
		name := mgrShortName(key)
		if _, dup := mg.nonces[name]; dup {
			return nil, fmt.Errorf("balancer: manager: nonces %q: %s has a nonce already", key, name)
		}
		if err := mgrCheckNonce(nonce); err != nil {
			return nil, fmt.Errorf("balancer: manager: nonces %q: %v", key, err)
		}
		if mgrFind(list, name) == nil {
			return nil, fmt.Errorf("balancer: manager: nonces %q: no such balancer", key)
		}
		mg.nonces[name] = nonce
	}
	for _, m := range list {
		mg.settle(m)
	}
	for _, o := range cfg.TrustedOrigins {
		n, err := mgrOrigin(o)
		if err != nil {
			return nil, fmt.Errorf("balancer: manager: trustedorigins %q: %v", o, err)
		}
		mg.trusted[n] = true
	}
	if mg.hosts, err = parseHosts(cfg.Hosts); err != nil {
		return nil, err
	}
	mg.list = list
	for _, m := range list {
		mg.byName[m.name] = m
	}
	if mg.stateFile != "" {
		if err := mg.load(list); err != nil {
			return nil, err
		}
	}
	for _, m := range list {
		mg.subscribe(m)
	}
	return mg, nil
}

// build checks bs and returns them as managed balancers: those of keep
// (by balancer) as they are, the others new (nonce and growth still to
// settle).
func (mg *Manager) build(bs []*balancer.Balancer, keep map[*balancer.Balancer]*managed) ([]*managed, error) {
	var list []*managed
	seen := map[string]bool{}
	for i, b := range bs {
		if b == nil {
			return nil, fmt.Errorf("balancer: manager: balancers[%d]: nil", i)
		}
		name := mgrShortName(b.Name())
		if seen[name] {
			return nil, fmt.Errorf("balancer: manager: balancer %q: given twice", b.Name())
		}
		seen[name] = true
		m := keep[b]
		if m == nil {
			m = &managed{b: b, name: name, added: map[string]bool{}}
		}
		list = append(list, m)
	}
	return list, nil
}

// settle gives a new managed balancer its growth and nonce: the
// configured ones, or the default growth and a random nonce.
func (mg *Manager) settle(m *managed) {
	m.growth = mg.growth
	if g, ok := mg.growthFor[m.name]; ok {
		m.growth = g
	}
	if n, ok := mg.nonces[m.name]; ok {
		m.nonce = n
	} else {
		m.nonce = mgrNewNonce()
	}
}

func mgrFind(list []*managed, name string) *managed {
	for _, m := range list {
		if m.name == name {
			return m
		}
	}
	return nil
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

// nonceOK compares a given nonce with the balancer's in constant time.
func (m *managed) nonceOK(given string) bool {
	return m.nonce != "" && subtle.ConstantTimeCompare([]byte(given), []byte(m.nonce)) == 1
}

// lookup finds a balancer by name, with or without "balancer://".
func (mg *Manager) lookup(name string) *managed {
	mg.mu.Lock()
	defer mg.mu.Unlock()
	return mg.byName[mgrShortName(name)]
}

// balancers returns the managed balancers in page order.
func (mg *Manager) balancers() []*managed {
	mg.mu.Lock()
	defer mg.mu.Unlock()
	return mg.list
}

// SetBalancers replaces the balancers the manager shows and changes, for a
// configuration reload: balancers that stay (the same *Balancer) keep
// their nonce and the members added through the manager; new ones get the
// configured nonce and growth (Config.Nonces, GrowthFor, Growth) or a
// random nonce; the manager forgets the ones left out. With a StateFile,
// its content is applied to the new balancers, as New does, and the file
// is written again. On error nothing changes. Safe for concurrent use.
func (mg *Manager) SetBalancers(bs []*balancer.Balancer) error {
	if len(bs) == 0 {
		return errors.New("balancer: manager: balancers: none given")
	}
	mg.editMu.Lock()
	defer mg.editMu.Unlock()
	keep := map[*balancer.Balancer]*managed{}
	for _, m := range mg.balancers() {
		keep[m.b] = m
	}
	list, err := mg.build(bs, keep)
	if err != nil {
		return err
	}
	var fresh []*managed
	stays := map[*managed]bool{}
	for _, m := range list {
		if keep[m.b] == m {
			stays[m] = true
			continue
		}
		mg.settle(m)
		fresh = append(fresh, m)
	}
	if mg.stateFile != "" && len(fresh) > 0 {
		if err := mg.load(fresh); err != nil {
			return err
		}
	}
	for _, m := range keep {
		if !stays[m] {
			m.stop()
		}
	}
	for _, m := range fresh {
		mg.subscribe(m)
	}
	byName := make(map[string]*managed, len(list))
	for _, m := range list {
		byName[m.name] = m
	}
	mg.mu.Lock()
	mg.list, mg.byName = list, byName
	mg.mu.Unlock()
	if mg.stateFile != "" {
		return mg.Save()
	}
	return nil
}

// subscribe follows m's changes: each is remembered (who changed what)
// and, with a StateFile, saved.
func (mg *Manager) subscribe(m *managed) {
	m.stop = m.b.OnChange(func(ev balancer.ChangeEvent) {
		mg.recent.add(ev)
		if mg.stateFile == "" {
			return
		}
		mg.saveMu.Lock()
		defer mg.saveMu.Unlock()
		mg.saveErr = mg.saveLocked()
	})
}

// Close ends the manager's subscriptions to its balancers' changes (for a
// manager discarded while its balancers keep running). The manager still
// serves afterwards, but no longer saves changes made elsewhere. Safe to
// call more than once.
func (mg *Manager) Close() error {
	mg.editMu.Lock()
	defer mg.editMu.Unlock()
	for _, m := range mg.balancers() {
		m.stop()
	}
	return nil
}
