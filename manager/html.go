package manager

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/proxybalancer/balancer"
)

//go:embed assets/page.html assets/manager.css assets/charts.js
var managerAssets embed.FS

var (
	pageTemplate = template.Must(template.ParseFS(managerAssets, "assets/page.html"))
	pageStyle    = mgrAsset("assets/manager.css")
	// pageScript draws the live charts; the manager serves it itself
	// (?asset=charts.js).
	pageScript     = mgrAsset("assets/charts.js")
	pageScriptHash = mgrHash(pageScript)
	// pageCSP allows the page's own style sheet and chart script (by
	// their hashes; the script tag carries its hash as integrity), its
	// script's requests for the chart data, and forms posting to the
	// manager, and nothing else: no other script, no inline script, no
	// image, no frame, nothing from elsewhere.
	pageCSP = "default-src 'none'; style-src '" + mgrHash(pageStyle) + "'; script-src '" + pageScriptHash +
		"'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

func mgrAsset(name string) string {
	b, err := managerAssets.ReadFile(name)
	if err != nil {
		panic(err) // embedded at build time: cannot fail
	}
	return string(b)
}

// mgrHash is a CSP hash source of an asset.
func mgrHash(asset string) string {
	sum := sha256.Sum256([]byte(asset))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// The page's data; every string is escaped by html/template.
type mgrPage struct {
	Host, Now   string
	Persist     bool
	ScriptHash  string
	Changes     []mgrPageChange
	Error, Note string
	Notes       []Note // Config.Notes
	CSS         template.CSS
	Balancers   []mgrPageBalancer
}

type mgrPageBalancer struct {
	Name, Full, ID, Link string
	Nonce                string
	Editable, Open       bool
	Used, MaxMembers     int
	Room                 int
	CanAdd               bool
	Sticky, StickyShown  string
	NoFailover           string
	NoFailoverOn         bool
	Timeout              string
	MaxAttempts          int
	Method               string
	Methods              []mgrOption
	Members              []mgrPageMemberData
	Edit                 *mgrPageMemberData
}

// mgrPageChange is one recent change: when, to what, by whom, and what.
type mgrPageChange struct {
	At, Balancer, Who, Source, What string
}

// mgrPageChanges is how many recent changes the page lists.
const mgrPageChanges = 10

type mgrOption struct {
	Name     string
	Selected bool
}

type mgrTime struct{ At, Rel string }

type mgrPageMemberData struct {
	URL, Route, Redirect string
	Factor               string
	Set                  int
	Status, Letters      string
	StatusClass          string
	Usable, Disabled     bool
	Elected, Busy, Load  int64
	To, From             string
	HCMethod             string
	HCPasses, HCFails    string
	LastCheck            *mgrTime
	LastError            string
	ErrorUntil           *mgrTime
	EditLink             string

	// for the edit form
	Flags          []mgrPageFlag
	HCMethods      []mgrOption
	HCIntervalMs   int64
	HCPassesNeeded int
	HCFailsNeeded  int
	HCURI          string
}

type mgrPageFlag struct {
	Letter, Name string
	On           bool
}

// mgrFlagNames names the manager's flags on the edit form.
var mgrFlagNames = map[balancer.Status]string{
	balancer.StatusIgnoreErrors: "Ignore errors",
	balancer.StatusDrain:        "Draining",
	balancer.StatusDisabled:     "Disabled",
	balancer.StatusStandby:      "Hot standby",
	balancer.StatusSpare:        "Hot spare",
	balancer.StatusStopped:      "Stopped",
	balancer.StatusHCFailed:     "Health check failed",
}

// writeHTML writes the page; sel opens a balancer's forms and a member's
// edit form; note and errMsg are shown on top.
func (mg *Manager) writeHTML(w http.ResponseWriter, r *http.Request, code int, sel mgrView, note, errMsg string) {
	now := mg.now()
	d := mgrPage{
		Host:       r.Host,
		Now:        now.Format("2006-01-02 15:04:05 MST"),
		Persist:    mg.stateFile != "",
		Error:      errMsg,
		Note:       note,
		Notes:      mg.notes(),
		CSS:        template.CSS(pageStyle),
		ScriptHash: pageScriptHash,
	}
	for _, m := range mg.balancers() {
		d.Balancers = append(d.Balancers, mg.pageBalancer(mg.state(m), sel, now))
	}
	for i, ev := range mg.recent.newestFirst() {
		if i == mgrPageChanges {
			break
		}
		c := ev.Change
		d.Changes = append(d.Changes, mgrPageChange{
			At: mgrPageTime(c.When, now).At, Balancer: ev.Balancer,
			Who: c.Who, Source: c.Source, What: summary(c),
		})
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, d); err != nil {
		http.Error(w, "balancer: manager: page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

func (mg *Manager) pageBalancer(st *managedState, sel mgrView, now time.Time) mgrPageBalancer {
	cfg := &st.cfg
	m := st.m
	pb := mgrPageBalancer{
		Name:         m.name,
		Full:         m.b.Name(),
		ID:           "b-" + m.name,
		Link:         "?" + url.Values{"b": {m.name}}.Encode(),
		Nonce:        m.nonce,
		Editable:     !mg.readOnly && m.nonce != "",
		Open:         sel.m == m,
		Used:         len(st.members),
		Sticky:       cfg.StickySession,
		StickyShown:  "(none)",
		NoFailover:   mgrOnOff(cfg.NoFailover),
		NoFailoverOn: cfg.NoFailover,
		Timeout:      strconv.FormatFloat(cfg.Timeout.Seconds(), 'f', -1, 64),
		MaxAttempts:  mgrMaxAttempts(cfg.MaxAttempts, len(cfg.Members)),
		Method:       mgrMethodName(cfg.Method),
	}
	if !pb.Editable {
		pb.Nonce = ""
	}
	pb.Room = max(m.growth-st.growthUsed(), 0)
	pb.MaxMembers = pb.Used + pb.Room
	pb.CanAdd = pb.Editable && pb.Room > 0
	if c, p, err := mgrStickyNames(cfg.StickySession); err == nil && c != "" {
		pb.StickyShown = c + " | " + p
	}
	found := false
	for _, n := range managerMethods() {
		sel := strings.EqualFold(n, pb.Method)
		found = found || sel
		pb.Methods = append(pb.Methods, mgrOption{n, sel})
	}
	if !found {
		pb.Methods = append([]mgrOption{{pb.Method, true}}, pb.Methods...)
	}
	var selURL string
	if sel.m == m && sel.w != "" {
		if n, err := balancer.NormalizeURL(sel.w); err == nil {
			selURL = n
		}
	}
	for _, ms := range st.members {
		pm := mgrPageMember(ms, m.name, now)
		pb.Members = append(pb.Members, pm)
		if ms.URL == selURL && pb.Editable {
			e := pm
			e.fillForm(ms)
			pb.Edit = &e
		}
	}
	return pb
}

func mgrPageMember(ms balancer.MemberStats, bname string, now time.Time) mgrPageMemberData {
	pm := mgrPageMemberData{
		URL: ms.URL, Route: ms.Route, Redirect: ms.Redirect,
		Factor:   fmt.Sprintf("%.2f", ms.LoadFactor),
		Set:      ms.LBSet,
		Status:   ms.Status.String(),
		Letters:  ms.Status.Letters(),
		Usable:   ms.Status.Usable(),
		Disabled: ms.Status.Has(balancer.StatusDisabled),
		Elected:  ms.Elected, Busy: ms.Busy, Load: ms.Load,
		To: mgrSize(ms.Transferred), From: mgrSize(ms.Read),
		EditLink: "?" + url.Values{"b": {bname}, "w": {ms.URL}}.Encode() + "#edit",
	}
	switch {
	case !pm.Usable:
		pm.StatusClass = "bad"
	case ms.Status&(balancer.StatusDrain|balancer.StatusStandby|balancer.StatusSpare|balancer.StatusIgnoreErrors) != 0:
		pm.StatusClass = "warn"
	default:
		pm.StatusClass = "ok"
	}
	hc := ms.HealthCheck
	if hc.Method.String() != "NONE" {
		pm.HCMethod = hc.Method.String()
		if hc.URI != "" {
			pm.HCMethod += " " + hc.URI
		}
		pm.HCMethod += " every " + mgrHCInterval(hc).String()
		if ms.HealthKnown {
			pm.HCPasses = fmt.Sprintf("%d/%d", ms.Health.Passes, max(hc.Passes, 1))
			pm.HCFails = fmt.Sprintf("%d/%d", ms.Health.Fails, max(hc.Fails, 1))
		} else {
			pm.HCPasses = fmt.Sprintf("–/%d", max(hc.Passes, 1))
			pm.HCFails = fmt.Sprintf("–/%d", max(hc.Fails, 1))
		}
	}
	if ms.HealthKnown {
		if t := ms.Health.Last.Time; !t.IsZero() {
			pm.LastCheck = mgrPageTime(t, now)
		}
		if err := ms.Health.Last.Err; err != nil {
			pm.LastError = err.Error()
		}
	}
	if !ms.ErrorUntil.IsZero() {
		pm.ErrorUntil = mgrPageTime(ms.ErrorUntil, now)
	}
	return pm
}

// fillForm adds what the member edit form shows.
func (pm *mgrPageMemberData) fillForm(ms balancer.MemberStats) {
	for _, f := range managerFlags {
		pm.Flags = append(pm.Flags, mgrPageFlag{Letter: f.letter, Name: mgrFlagNames[f.flag], On: ms.Status.Has(f.flag)})
	}
	hc := ms.HealthCheck
	for _, n := range hcMethodNames() {
		pm.HCMethods = append(pm.HCMethods, mgrOption{n, n == hc.Method.String()})
	}
	pm.HCIntervalMs = mgrHCInterval(hc).Milliseconds()
	pm.HCPassesNeeded = max(hc.Passes, 1)
	pm.HCFailsNeeded = max(hc.Fails, 1)
	pm.HCURI = hc.URI
}

func mgrPageTime(t, now time.Time) *mgrTime {
	pt := &mgrTime{At: t.Format("15:04:05")}
	if t.Year() != now.Year() || t.YearDay() != now.YearDay() {
		pt.At = t.Format("2006-01-02 15:04:05")
	}
	d := t.Sub(now).Round(time.Second)
	switch {
	case d > 0:
		pt.Rel = "in " + d.String()
	case d < 0:
		pt.Rel = (-d).String() + " ago"
	default:
		pt.Rel = "now"
	}
	return pt
}

// writeScript serves the chart script (?asset=charts.js).
func writeScript(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(pageScript))
}

// mgrSize formats a byte count as Apache's manager does: bytes, then K,
// M, G with one decimal.
func mgrSize(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10)
	}
	f := float64(n)
	for _, u := range []string{"K", "M", "G", "T"} {
		f /= unit
		if f < unit || u == "T" {
			return strconv.FormatFloat(f, 'f', 1, 64) + u
		}
	}
	return strconv.FormatInt(n, 10)
}
