package manager

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/proxybalancer/balancer/healthcheck"
)

// mgrJSONEdit is a change as a JSON document; see the README's
// "balancer-manager" section.
type mgrJSONEdit struct {
	Balancer string              `json:"balancer"`
	Nonce    *string             `json:"nonce"`
	Settings *mgrJSONSettings    `json:"settings"`
	Members  []mgrJSONMemberEdit `json:"members"`
	Add      []string            `json:"add"`
}

type mgrJSONSettings struct {
	Method        *string `json:"method"`
	StickySession *string `json:"stickySession"`
	NoFailover    *bool   `json:"noFailover"`
	MaxAttempts   *int    `json:"maxAttempts"`
	TimeoutMs     *int64  `json:"timeoutMs"`
}

type mgrJSONMemberEdit struct {
	URL         string            `json:"url"`
	LoadFactor  *float64          `json:"loadFactor"`
	LBSet       *int              `json:"lbSet"`
	Route       *string           `json:"route"`
	Redirect    *string           `json:"redirect"`
	Flags       map[string]bool   `json:"flags"`
	HealthCheck *mgrJSONCheckEdit `json:"healthCheck"`
}

type mgrJSONCheckEdit struct {
	Method     *string `json:"method"`
	URI        *string `json:"uri"`
	IntervalMs *int64  `json:"intervalMs"`
	Passes     *int    `json:"passes"`
	Fails      *int    `json:"fails"`
}

// mgrParseJSON reads a change from a JSON document. Unknown fields and
// values of the wrong type are errors.
func mgrParseJSON(r io.Reader) (*mgrEdit, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var je mgrJSONEdit
	if err := dec.Decode(&je); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, &mgrFieldError{field: te.Field, value: te.Value, msg: "wrong type: want " + te.Type.String()}
		}
		return nil, fmt.Errorf("balancer: manager: JSON body: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("balancer: manager: JSON body: more than one value")
	}
	return je.toEdit(), nil
}

func (je *mgrJSONEdit) toEdit() *mgrEdit {
	e := &mgrEdit{}
	e.balancer = mgrVal[string]{true, strings.TrimSpace(je.Balancer), "balancer", je.Balancer}
	e.nonce.field = "nonce"
	if je.Nonce != nil {
		e.nonce = mgrVal[string]{true, strings.TrimSpace(*je.Nonce), "nonce", *je.Nonce}
	}
	if js := je.Settings; js != nil {
		s := &e.settings
		if js.Method != nil {
			const f = "settings.method"
			if v := strings.TrimSpace(*js.Method); v == "" {
				e.bad(f, *js.Method, "must not be empty")
			} else {
				s.method = mgrVal[string]{true, v, f, *js.Method}
			}
		}
		if js.StickySession != nil {
			const f = "settings.stickySession"
			if v, ok := e.stickyValue(f, strings.TrimSpace(*js.StickySession)); ok {
				s.sticky = mgrVal[string]{true, v, f, *js.StickySession}
			}
		}
		if js.NoFailover != nil {
			s.noFailover = mgrVal[bool]{true, *js.NoFailover, "settings.noFailover", strconv.FormatBool(*js.NoFailover)}
		}
		if js.MaxAttempts != nil {
			const f = "settings.maxAttempts"
			raw := strconv.Itoa(*js.MaxAttempts)
			if n, ok := e.intRange(f, raw, *js.MaxAttempts, 0, maxManagerAttempts); ok {
				s.maxAttempts = mgrVal[int]{true, n, f, raw}
			}
		}
		if js.TimeoutMs != nil {
			const f = "settings.timeoutMs"
			raw := strconv.FormatInt(*js.TimeoutMs, 10)
			if d, ok := e.timeoutMs(f, raw, float64(*js.TimeoutMs)); ok {
				s.timeout = mgrVal[time.Duration]{true, d, f, raw}
			}
		}
	}
	for i, jm := range je.Members {
		e.members = append(e.members, jm.toEdit(e, fmt.Sprintf("members[%d]", i)))
	}
	for i, raw := range je.Add {
		f := fmt.Sprintf("add[%d]", i)
		if u, ok := e.memberURL(f, strings.TrimSpace(raw)); ok {
			e.add = append(e.add, mgrVal[string]{true, u, f, raw})
		}
	}
	return e
}

func (jm *mgrJSONMemberEdit) toEdit(e *mgrEdit, p string) *mgrMemberEdit {
	me := &mgrMemberEdit{}
	me.url = mgrVal[string]{true, strings.TrimSpace(jm.URL), p + ".url", jm.URL}
	if me.url.v == "" {
		e.errs = append(e.errs, &mgrFieldError{field: p + ".url", missing: true, msg: "missing: name the member to change"})
	}
	if jm.LoadFactor != nil {
		f := p + ".loadFactor"
		raw := strconv.FormatFloat(*jm.LoadFactor, 'f', -1, 64)
		if v, ok := e.loadFactor(f, raw, *jm.LoadFactor); ok {
			me.lf = mgrVal[float64]{true, v, f, raw}
		}
	}
	if jm.LBSet != nil {
		f := p + ".lbSet"
		raw := strconv.Itoa(*jm.LBSet)
		if n, ok := e.intRange(f, raw, *jm.LBSet, 0, 99); ok {
			me.lbset = mgrVal[int]{true, n, f, raw}
		}
	}
	if jm.Route != nil {
		f := p + ".route"
		if v, ok := e.route(f, strings.TrimSpace(*jm.Route)); ok {
			me.route = mgrVal[string]{true, v, f, *jm.Route}
		}
	}
	if jm.Redirect != nil {
		f := p + ".redirect"
		if v, ok := e.route(f, strings.TrimSpace(*jm.Redirect)); ok {
			me.redirect = mgrVal[string]{true, v, f, *jm.Redirect}
		}
	}
	letters := make([]string, 0, len(jm.Flags))
	for l := range jm.Flags {
		letters = append(letters, l)
	}
	sort.Strings(letters)
	for _, l := range letters {
		flag, ok := managerFlag(l)
		if !ok {
			e.bad(p+".flags."+l, strconv.FormatBool(jm.Flags[l]), "unknown status flag (want one of I, N, D, H, R, S, C)")
			continue
		}
		if jm.Flags[l] {
			me.set |= flag
		} else {
			me.clear |= flag
		}
	}
	if hc := jm.HealthCheck; hc != nil {
		if hc.Method != nil {
			f := p + ".healthCheck.method"
			if m, ok := e.hcMethod(f, strings.TrimSpace(*hc.Method)); ok {
				me.hcMethod = mgrVal[healthcheck.Method]{true, m, f, *hc.Method}
			}
		}
		if hc.URI != nil {
			f := p + ".healthCheck.uri"
			if v, ok := e.hcURI(f, strings.TrimSpace(*hc.URI)); ok {
				me.hcURI = mgrVal[string]{true, v, f, *hc.URI}
			}
		}
		if hc.IntervalMs != nil {
			f := p + ".healthCheck.intervalMs"
			raw := strconv.FormatInt(*hc.IntervalMs, 10)
			if d, ok := e.hcInterval(f, raw, *hc.IntervalMs); ok {
				me.hcInterval = mgrVal[time.Duration]{true, d, f, raw}
			}
		}
		if hc.Passes != nil {
			f := p + ".healthCheck.passes"
			raw := strconv.Itoa(*hc.Passes)
			if n, ok := e.intRange(f, raw, *hc.Passes, 1, math.MaxInt32); ok {
				me.hcPasses = mgrVal[int]{true, n, f, raw}
			}
		}
		if hc.Fails != nil {
			f := p + ".healthCheck.fails"
			raw := strconv.Itoa(*hc.Fails)
			if n, ok := e.intRange(f, raw, *hc.Fails, 1, math.MaxInt32); ok {
				me.hcFails = mgrVal[int]{true, n, f, raw}
			}
		}
	}
	return me
}
