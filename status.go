package balancer

import (
	"fmt"
	"strings"
)

// Status is a member's set of Apache status flags (mod_proxy.h's
// PROXY_WORKER_* bits, in Apache's bit order). A member is usable when
// Init is set and none of Shutdown, Disabled, Stopped, Error and HCFailed
// is; see [Status.Usable].
//
// The zero value has no flag set.
type Status uint16

// The status flags, with the letter Apache's status= parameter uses.
const (
	StatusInit         Status = 1 << iota // O: initialised ("Init")
	StatusIgnoreErrors                    // I: never put into error state ("Ign")
	StatusDrain                           // N: draining, serves sticky sessions only ("Drn")
	StatusGeneric                         // G: generic worker, informational ("Gen")
	StatusShutdown                        // U: in shutdown ("Shut")
	StatusDisabled                        // D: disabled ("Dis")
	StatusStopped                         // S: stopped; never retried or health-checked ("Stop")
	StatusError                           // E: in error until its retry has passed ("Err")
	StatusStandby                         // H: hot standby ("Stby")
	StatusFree                            // F: free slot, informational ("Free")
	StatusHCFailed                        // C: failed its health checks ("HcFl")
	StatusSpare                           // R: hot spare ("Spar")

	// StatusEjected is not Apache's: passive outlier detection
	// (Config.Outlier) took the member out of use for a while ("Ejct").
	// It has no status= letter and is never persisted or edited.
	StatusEjected
)

// unusableMask holds the flags that make a member unusable
// (PROXY_WORKER_IS_USABLE).
const unusableMask = StatusShutdown | StatusDisabled | StatusStopped | StatusError | StatusHCFailed | StatusEjected

var statusTable = [...]struct {
	flag    Status
	letter  byte
	display string
}{
	{StatusInit, 'O', "Init"},
	{StatusIgnoreErrors, 'I', "Ign"},
	{StatusDrain, 'N', "Drn"},
	{StatusGeneric, 'G', "Gen"},
	{StatusShutdown, 'U', "Shut"},
	{StatusDisabled, 'D', "Dis"},
	{StatusStopped, 'S', "Stop"},
	{StatusError, 'E', "Err"},
	{StatusStandby, 'H', "Stby"},
	{StatusFree, 'F', "Free"},
	{StatusHCFailed, 'C', "HcFl"},
	{StatusSpare, 'R', "Spar"},
}

// Usable reports whether a member with these flags may receive requests:
// Init is set and none of U, D, S, E, C and Ejected is.
func (s Status) Usable() bool { return s&StatusInit != 0 && s&unusableMask == 0 }

// Has reports whether every flag of f is set.
func (s Status) Has(f Status) bool { return s&f == f }

// String returns Apache's display of the flags, as the balancer-manager
// shows it: each set flag's name in bit order, then "Ok" when usable, for
// example "Init Dis" or "Init Drn Ok"; "???" when no flag is set. Apache
// ends each word with a space; String leaves the last one out.
func (s Status) String() string {
	if s == 0 {
		return "???"
	}
	var b strings.Builder
	for _, e := range statusTable {
		if s&e.flag != 0 {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(e.display)
		}
	}
	if s&StatusEjected != 0 {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("Ejct")
	}
	if s.Usable() {
		b.WriteString(" Ok")
	}
	return b.String()
}

// Letters returns the flags as Apache's status letters in bit order, with
// Init (O) left out, for example "DH". It is the form [ParseStatus] reads.
func (s Status) Letters() string {
	var b []byte
	for _, e := range statusTable[1:] {
		if s&e.flag != 0 {
			b = append(b, e.letter)
		}
	}
	return string(b)
}

// ParseStatus applies an Apache status= value to base and returns the
// result. The value is read left to right: '+' switches to setting and '-'
// to clearing (setting is the initial mode), and each letter sets or clears
// its flag; letters are case-insensitive. "d" equals "+D", "+H-H+S" leaves
// only S, "S-E" sets S and clears E. An unknown letter or a trailing '+' or
// '-' is an error, as in Apache.
func ParseStatus(value string, base Status) (Status, error) {
	s := base
	set := true
	pending := false // a '+' or '-' not yet followed by a letter
	for i := 0; i < len(value); i++ {
		c := value[i]
		switch c {
		case '+':
			set, pending = true, true
			continue
		case '-':
			set, pending = false, true
			continue
		}
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		f, ok := flagForLetter(c)
		if !ok {
			return base, fmt.Errorf("unknown status flag %q in %q (known: OINGUDSEHFCR)", value[i], value)
		}
		if set {
			s |= f
		} else {
			s &^= f
		}
		pending = false
	}
	if pending {
		return base, fmt.Errorf("status %q ends with %q and no flag letter", value, value[len(value)-1])
	}
	return s, nil
}

func flagForLetter(c byte) (Status, bool) {
	for _, e := range statusTable {
		if e.letter == c {
			return e.flag, true
		}
	}
	return 0, false
}
