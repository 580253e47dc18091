package lbmethod

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

const (
	// heartbeatMaxAge: a server whose last report is this old or older is
	// left out of the pick (mod_lbmethod_heartbeat: seen < 10 s).
	heartbeatMaxAge = 10 * time.Second
	// heartbeatForget: strangers unseen and members unasked for this long
	// are dropped (mod_heartmonitor's SEEN_TIMEOUT).
	heartbeatForget = 30 * time.Second
	// heartbeatMaxBody is the longest datagram or POST body accepted
	// (mod_heartmonitor reads at most 1000 bytes).
	heartbeatMaxBody = 1000
	// defaultHeartbeatServers is the default HeartbeatTable.MaxServers
	// (strangers only).
	defaultHeartbeatServers = 1024
)

// HeartbeatReport is what a backend server last reported about itself, in
// mod_heartbeat's terms.
type HeartbeatReport struct {
	// Ready is the number of idle worker slots (mod_heartbeat's ready).
	Ready int
	// Busy is the number of worker slots serving a request.
	Busy int
	// Seen is when the report arrived; from a storage file, the time it
	// was read minus the file's lastseen.
	Seen time.Time
}

// HeartbeatTable holds the last report of every backend server, keyed by
// the server's IP address as a string ("10.0.0.7"), the way
// mod_heartmonitor keys them by the datagram's source address. It is fed by
// a [HeartbeatListener] (UDP, as mod_heartmonitor's HeartbeatListen), by
// [HeartbeatTable.ServeHTTP] (POST, as mod_heartmonitor's heartbeat
// handler) or by [HeartbeatTable.ReadStorage] (mod_heartmonitor's storage
// file), and read by [Heartbeat]. One table may feed any number of
// balancers.
//
// Reports come from the network, so anyone who can reach the listener can
// fill the table with forged sources. The table therefore tells members
// from strangers: a server is a member's while a heartbeat pick has looked
// for its address in the last 30 s (a pick looking for a member's host that
// has not reported yet reserves its place). Members' servers are always
// kept, however many there are; strangers (reports no pick asked for) are
// capped by MaxServers, a new one replacing the stranger added longest
// ago, and a stranger that neither reports nor is asked for during 30 s is
// dropped. A member whose server starts reporting after a flood is
// therefore scheduled from its first report that a pick sees, and at the
// latest from its first report after a pick looked for it.
//
// The zero value is an empty table using time.Now. A HeartbeatTable is
// safe for concurrent use; a pick takes a read lock and allocates nothing,
// reports of known servers take a read lock, and only a new server takes
// the write lock. Set Now and MaxServers before first use. It must not be
// copied after first use.
type HeartbeatTable struct {
	// Now is the clock that stamps reports and judges their age. Nil means
	// time.Now.
	Now func() time.Time
	// MaxServers caps how many strangers (servers no member looks for, see
	// above) the table tracks; zero or negative means 1024. Members'
	// servers do not count.
	MaxServers int

	store hbStore
}

func (t *HeartbeatTable) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// Record stores r as the latest report of the server at ip. Ready and Busy
// must be in 0..2147483647 and ip non-empty; a zero Seen means now.
func (t *HeartbeatTable) Record(ip string, r HeartbeatReport) error {
	if err := t.record(ip, r); err != nil {
		return fmt.Errorf("lbmethod: heartbeat server %q: %w", ip, err)
	}
	return nil
}

func (t *HeartbeatTable) record(ip string, r HeartbeatReport) error {
	if ip == "" {
		return errors.New("empty server address")
	}
	if err := checkCount("ready", int64(r.Ready)); err != nil {
		return err
	}
	if err := checkCount("busy", int64(r.Busy)); err != nil {
		return err
	}
	if r.Seen.IsZero() {
		r.Seen = t.now()
	}
	t.store.record(ip, r, t.now().UnixNano(), t.maxStrangers())
	return nil
}

func (t *HeartbeatTable) maxStrangers() int {
	if t.MaxServers <= 0 {
		return defaultHeartbeatServers
	}
	return t.MaxServers
}

// Lookup returns the latest report of the server at ip, if any.
func (t *HeartbeatTable) Lookup(ip string) (HeartbeatReport, bool) {
	return t.store.lookup(ip)
}

// ParseHeartbeat parses a heartbeat payload as mod_heartmonitor does:
// fields separated by "&", each "key=value" (a key without "=" has the
// value "1"), keys and values %-decoded. v, ready and busy must be present
// (v's value is not checked); other keys (port) are ignored, and of a
// repeated key the last counts. ready and busy must be decimal integers in
// 0..2147483647: a negative, fractional, empty or out-of-range count
// rejects the report (Apache 2.4.69+ validates the range too, with
// unverified details). mod_heartbeat sends "v=1&ready=25&busy=0". The
// returned report's Seen is zero.
func ParseHeartbeat(payload []byte) (HeartbeatReport, error) {
	var r HeartbeatReport
	var haveV, haveReady, haveBusy bool
	err := parseHeartbeatFields(string(payload), func(k, v string) error {
		var err error
		switch k {
		case "v":
			haveV = true
		case "ready":
			haveReady = true
			r.Ready, err = parseCount(k, v)
		case "busy":
			haveBusy = true
			r.Busy, err = parseCount(k, v)
		}
		return err
	})
	switch {
	case err != nil:
	case !haveV:
		err = errors.New("no v field")
	case !haveReady:
		err = errors.New("no ready field")
	case !haveBusy:
		err = errors.New("no busy field")
	}
	if err != nil {
		return HeartbeatReport{}, fmt.Errorf("lbmethod: heartbeat report: %w", err)
	}
	return r, nil
}

// parseStorageLine parses one line of mod_heartmonitor's storage file:
// "<ip> &ready=<n>&busy=<n>&lastseen=<s>&port=<n>". A missing lastseen
// means the server was seen now.
func parseStorageLine(line string, now time.Time) (string, HeartbeatReport, error) {
	ip, fields, ok := strings.Cut(line, " ")
	if !ok || ip == "" {
		return "", HeartbeatReport{}, errors.New(`not "<ip> <fields>"`)
	}
	r := HeartbeatReport{Seen: now}
	var haveReady, haveBusy bool
	err := parseHeartbeatFields(fields, func(k, v string) error {
		var err error
		switch k {
		case "ready":
			haveReady = true
			r.Ready, err = parseCount(k, v)
		case "busy":
			haveBusy = true
			r.Busy, err = parseCount(k, v)
		case "lastseen":
			var s int
			s, err = parseCount(k, v)
			r.Seen = now.Add(-time.Duration(s) * time.Second)
		}
		return err
	})
	switch {
	case err != nil:
	case !haveReady:
		err = errors.New("no ready field")
	case !haveBusy:
		err = errors.New("no busy field")
	}
	return ip, r, err
}

// ReadStorage records every server listed in r, which holds
// mod_heartmonitor's storage file (HeartbeatStorage, written when
// HeartbeatMaxServers is 0): one line per server,
//
//	<ip> &ready=<n>&busy=<n>&lastseen=<seconds since its last report>&port=<n>
//
// A server's Seen is now minus lastseen; a line without lastseen counts as
// seen now. Servers the file does not list keep their earlier reports and
// age out. Blank lines are skipped. Every well-formed line is recorded even
// when others are not; the error names each malformed line.
//
// mod_heartmonitor rewrites the file every 5 s, so read it about as often
// (see [HeartbeatTable.LoadStorageFile]).
func (t *HeartbeatTable) ReadStorage(r io.Reader) error {
	return t.readStorage(r, "")
}

// LoadStorageFile reads the storage file at path with
// [HeartbeatTable.ReadStorage]. Call it from a loop the caller owns, e.g.
//
//	tick := time.NewTicker(5 * time.Second)
//	for ; ; <-tick.C {
//		if err := table.LoadStorageFile("/run/apache2/hb.dat"); err != nil {
//			log.Print(err)
//		}
//	}
func (t *HeartbeatTable) LoadStorageFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("lbmethod: heartbeat storage: %w", err)
	}
	defer f.Close()
	return t.readStorage(f, " "+path)
}

func (t *HeartbeatTable) readStorage(r io.Reader, name string) error {
	now := t.now()
	var errs []error
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		ip, rep, err := parseStorageLine(line, now)
		if err == nil {
			err = t.record(ip, rep)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("lbmethod: heartbeat storage%s line %d: %w", name, n, err))
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("lbmethod: heartbeat storage%s: %w", name, err))
	}
	return errors.Join(errs...)
}

// ServeHTTP accepts a heartbeat report POSTed as the request body (the
// datagram format, at most 1000 bytes), as mod_heartmonitor's
// "SetHandler heartbeat" does, and records it for the request's remote IP
// (http.Request.RemoteAddr: behind another proxy that is the proxy's
// address). It answers 200 when recorded, 400 for a malformed report, 405
// for a method other than POST and 413 for a longer body. It does no
// authentication: mount it where only the backends can reach it.
func (t *HeartbeatTable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "heartbeat reports are POSTed", http.StatusMethodNotAllowed)
		return
	}
	ip, err := remoteIP(r.RemoteAddr)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, heartbeatMaxBody+1))
	if err != nil {
		http.Error(w, "lbmethod: heartbeat report: reading body", http.StatusBadRequest)
		return
	}
	if len(body) > heartbeatMaxBody {
		http.Error(w, "lbmethod: heartbeat report: longer than 1000 bytes", http.StatusRequestEntityTooLarge)
		return
	}
	rep, err := ParseHeartbeat(body)
	if err == nil {
		err = t.Record(ip, rep)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "OK\n")
}

// remoteIP returns the IP of an "ip:port" remote address as a table key.
func remoteIP(addr string) (string, error) {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return ap.Addr().Unmap().String(), nil
	}
	if a, err := netip.ParseAddr(addr); err == nil {
		return a.Unmap().String(), nil
	}
	return "", fmt.Errorf("lbmethod: heartbeat report: remote address %q: not an IP", addr)
}

// parseHeartbeatFields splits s on "&" and each part on the first "=",
// %-decodes both sides and calls each for every non-empty part; a part
// without "=" has the value "1".
func parseHeartbeatFields(s string, each func(k, v string) error) error {
	for part := range strings.SplitSeq(s, "&") {
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			v = "1"
		}
		k, err := url.PathUnescape(k)
		if err != nil {
			return fmt.Errorf("field %q: %w", part, err)
		}
		v, err = url.PathUnescape(v)
		if err != nil {
			return fmt.Errorf("field %q: %w", part, err)
		}
		if err := each(k, v); err != nil {
			return err
		}
	}
	return nil
}

// parseCount parses a report's count: a decimal integer in 0..MaxInt32.
func parseCount(field, v string) (int, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("%s %q: out of range 0..%d", field, v, math.MaxInt32)
		}
		return 0, fmt.Errorf("%s %q: not a decimal integer", field, v)
	}
	if err := checkCount(field, n); err != nil {
		return 0, err
	}
	return int(n), nil
}

func checkCount(field string, n int64) error {
	if n < 0 || n > math.MaxInt32 {
		return fmt.Errorf("%s %d: out of range 0..%d", field, n, math.MaxInt32)
	}
	return nil
}
