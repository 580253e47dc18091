package manager

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/proxybalancer/balancer"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/proxybalancer/balancer/healthcheck"
	"github.com/proxybalancer/balancer/lbmethod"
)

// mgrStateVersion is the version of the state file format.
const mgrStateVersion = 1

// mgrStateDoc is the state file: the settings and flags of every balancer,
// members by normalised URL.
type mgrStateDoc struct {
	Version   int                          `json:"version"`
	Balancers map[string]*mgrStateBalancer `json:"balancers"` // by name, without balancer://
}

type mgrStateBalancer struct {
	Method        string           `json:"method"`
	StickySession string           `json:"stickySession"`
	NoFailover    bool             `json:"noFailover"`
	MaxAttempts   int              `json:"maxAttempts"` // Config.MaxAttempts: 0 default, <0 none
	TimeoutMs     int64            `json:"timeoutMs"`
	Members       []mgrStateMember `json:"members"`
}

type mgrStateMember struct {
	URL         string        `json:"url"`
	Added       bool          `json:"added,omitempty"` // added through the manager
	LoadFactor  float64       `json:"loadFactor"`
	LBSet       int           `json:"lbSet"`
	Route       string        `json:"route"`
	Redirect    string        `json:"redirect"`
	Flags       string        `json:"flags"` // letters among I N D H R S
	HealthCheck mgrStateCheck `json:"healthCheck"`
}

type mgrStateCheck struct {
	Method     string `json:"method"`
	URI        string `json:"uri"`
	IntervalMs int64  `json:"intervalMs"`
	Passes     int    `json:"passes"`
	Fails      int    `json:"fails"`
}

// Save writes the state file now (at shutdown, say, to keep changes made
// with Update, Reconfigure or SetStatus too). Without a StateFile it does
// nothing. Changes applied with [balancer.Balancer.Apply], through the
// manager or not, are saved as they are made. Save is safe for concurrent
// use.
func (mg *Manager) Save() error {
	if mg.stateFile == "" {
		return nil
	}
	mg.saveMu.Lock()
	defer mg.saveMu.Unlock()
	mg.saveErr = mg.saveLocked()
	return mg.saveErr
}

// saveLocked writes the state file; the caller holds mg.saveMu.
func (mg *Manager) saveLocked() error {
	doc := mgrStateDoc{Version: mgrStateVersion, Balancers: map[string]*mgrStateBalancer{}}
	for _, m := range mg.balancers() {
		st := m.b.State()
		added := mg.addedOf(m)
		sb := &mgrStateBalancer{
			Method:        st.Method,
			StickySession: st.StickySession,
			NoFailover:    st.NoFailover,
			MaxAttempts:   st.MaxAttempts,
			TimeoutMs:     st.Timeout.Milliseconds(),
			Members:       []mgrStateMember{},
		}
		for _, ms := range st.Members {
			hc := ms.HealthCheck
			sb.Members = append(sb.Members, mgrStateMember{
				URL:        ms.URL,
				Added:      added[ms.URL],
				LoadFactor: ms.LoadFactor,
				LBSet:      ms.LBSet,
				Route:      ms.Route,
				Redirect:   ms.Redirect,
				Flags:      ms.Flags,
				HealthCheck: mgrStateCheck{
					Method:     hc.Method,
					URI:        hc.URI,
					IntervalMs: hc.Interval.Milliseconds(),
					Passes:     hc.Passes,
					Fails:      hc.Fails,
				},
			})
		}
		doc.Balancers[m.name] = sb
	}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return mgrWriteFileAtomic(mg.stateFile, append(data, '\n'))
}

// addedOf returns the members added to m through the manager.
func (mg *Manager) addedOf(m *managed) map[string]bool {
	mg.mu.Lock()
	defer mg.mu.Unlock()
	added := make(map[string]bool, len(m.added))
	for u := range m.added {
		added[u] = true
	}
	return added
}

// mgrWriteFileAtomic replaces path with data: it writes a temporary file in
// the same directory, syncs it and renames it over path, so a reader (or a
// crash) sees the old file or the new one, never a part.
func mgrWriteFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("state file %q: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("state file %q: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("state file %q: %w", path, err)
	}
	// Make the rename itself durable; not every system can sync a
	// directory, and the file is in place either way.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// load applies the state file, if it exists, over the balancers'
// configuration: the file wins, as with Apache's BalancerPersist. Members
// are matched by normalised URL; members the manager had added are added
// again (within Growth); other members of the file that the configuration
// no longer has, and balancers the manager does not have, are ignored, and
// so is a method the manager cannot build (heartbeat).
func (mg *Manager) load(list []*managed) error {
	data, err := os.ReadFile(mg.stateFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("balancer: manager: state file %q: %v", mg.stateFile, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var doc mgrStateDoc
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("balancer: manager: state file %q: %v", mg.stateFile, err)
	}
	if doc.Version != mgrStateVersion {
		return fmt.Errorf("balancer: manager: state file %q: version %d: want %d", mg.stateFile, doc.Version, mgrStateVersion)
	}
	// Every balancer's values are checked before any is changed.
	edits := map[*managed]*mgrEdit{}
	for _, m := range list {
		if sb := doc.Balancers[m.name]; sb != nil {
			e := sb.toEdit(m)
			if err := e.err(); err != nil {
				return fmt.Errorf("balancer: manager: state file %q: %v", mg.stateFile, err)
			}
			edits[m] = e
		}
	}
	for _, m := range list {
		if e := edits[m]; e != nil {
			if _, err := mg.applyEdit(m, e, "state file "+mg.stateFile); err != nil {
				return fmt.Errorf("balancer: manager: state file %q: %v", mg.stateFile, err)
			}
		}
	}
	return nil
}

// toEdit turns a balancer's saved state into a change.
func (sb *mgrStateBalancer) toEdit(m *managed) *mgrEdit {
	e := &mgrEdit{}
	p := "balancers." + m.name + "."
	cur := m.b.Config()
	s := &e.settings
	if _, err := lbmethod.ByName(sb.Method); err == nil || strings.EqualFold(sb.Method, mgrMethodName(cur.Method)) {
		s.method = mgrVal[string]{true, sb.Method, p + "method", sb.Method}
	}
	if v, ok := e.stickyValue(p+"stickySession", sb.StickySession); ok {
		s.sticky = mgrVal[string]{true, v, p + "stickySession", sb.StickySession}
	}
	s.noFailover = mgrVal[bool]{true, sb.NoFailover, p + "noFailover", strconv.FormatBool(sb.NoFailover)}
	raw := strconv.Itoa(sb.MaxAttempts)
	if sb.MaxAttempts > maxManagerAttempts {
		e.bad(p+"maxAttempts", raw, fmt.Sprintf("out of range ..%d", maxManagerAttempts))
	} else {
		s.rawMaxAttempts = mgrVal[int]{true, sb.MaxAttempts, p + "maxAttempts", raw}
	}
	if d, ok := e.timeoutMs(p+"timeoutMs", strconv.FormatInt(sb.TimeoutMs, 10), float64(sb.TimeoutMs)); ok {
		s.timeout = mgrVal[time.Duration]{true, d, p + "timeoutMs", strconv.FormatInt(sb.TimeoutMs, 10)}
	}
	present := map[string]bool{}
	for _, mc := range cur.Members {
		if n, err := balancer.NormalizeURL(mc.URL); err == nil {
			present[n] = true
		}
	}
	for i, sm := range sb.Members {
		mp := fmt.Sprintf("%smembers[%d].", p, i)
		u, ok := e.memberURL(mp+"url", sm.URL)
		if !ok {
			continue
		}
		if !present[u] {
			if !sm.Added {
				continue
			}
			e.add = append(e.add, mgrVal[string]{true, u, mp + "url", sm.URL})
		}
		me := &mgrMemberEdit{url: mgrVal[string]{true, u, mp + "url", sm.URL}}
		raw := strconv.FormatFloat(sm.LoadFactor, 'f', -1, 64)
		if v, ok := e.loadFactor(mp+"loadFactor", raw, sm.LoadFactor); ok {
			me.lf = mgrVal[float64]{true, v, mp + "loadFactor", raw}
		}
		raw = strconv.Itoa(sm.LBSet)
		if n, ok := e.intRange(mp+"lbSet", raw, sm.LBSet, 0, 99); ok {
			me.lbset = mgrVal[int]{true, n, mp + "lbSet", raw}
		}
		if v, ok := e.route(mp+"route", sm.Route); ok {
			me.route = mgrVal[string]{true, v, mp + "route", sm.Route}
		}
		if v, ok := e.route(mp+"redirect", sm.Redirect); ok {
			me.redirect = mgrVal[string]{true, v, mp + "redirect", sm.Redirect}
		}
		if st, err := balancer.ParseStatus(sm.Flags, 0); err != nil || st&^mgrPersistedFlags != 0 {
			e.bad(mp+"flags", sm.Flags, "want letters among I, N, D, H, R, S")
		} else {
			me.set, me.clear = st, mgrPersistedFlags&^st
		}
		hc := sm.HealthCheck
		if m, ok := e.hcMethod(mp+"healthCheck.method", hc.Method); ok {
			me.hcMethod = mgrVal[healthcheck.Method]{true, m, mp + "healthCheck.method", hc.Method}
		}
		if v, ok := e.hcURI(mp+"healthCheck.uri", hc.URI); ok {
			me.hcURI = mgrVal[string]{true, v, mp + "healthCheck.uri", hc.URI}
		}
		raw = strconv.FormatInt(hc.IntervalMs, 10)
		if d, ok := e.hcInterval(mp+"healthCheck.intervalMs", raw, hc.IntervalMs); ok {
			me.hcInterval = mgrVal[time.Duration]{true, d, mp + "healthCheck.intervalMs", raw}
		}
		raw = strconv.Itoa(hc.Passes)
		if n, ok := e.intRange(mp+"healthCheck.passes", raw, hc.Passes, 1, math.MaxInt32); ok {
			me.hcPasses = mgrVal[int]{true, n, mp + "healthCheck.passes", raw}
		}
		raw = strconv.Itoa(hc.Fails)
		if n, ok := e.intRange(mp+"healthCheck.fails", raw, hc.Fails, 1, math.MaxInt32); ok {
			me.hcFails = mgrVal[int]{true, n, mp + "healthCheck.fails", raw}
		}
		e.members = append(e.members, me)
	}
	return e
}
