package manager

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/proxybalancer/balancer/internal/sticky"
	"github.com/proxybalancer/balancer/transport"
)

// writeXML writes Apache's balancer-manager XML (?xml=1): the elements of
// mod_proxy_balancer 2.4.71 in its order, in the httpd namespace, with
// every text escaped.
func (mg *Manager) writeXML(w http.ResponseWriter, code int) {
	var buf bytes.Buffer
	buf.WriteString("<?xml version='1.0' encoding='UTF-8' ?>\n")
	buf.WriteString("<httpd:manager xmlns:httpd='http://httpd.apache.org'>\n")
	buf.WriteString("  <httpd:balancers>\n")
	for _, m := range mg.balancers() {
		mg.state(m).writeXML(&buf, mg.readOnly)
	}
	buf.WriteString("  </httpd:balancers>\n")
	buf.WriteString("</httpd:manager>")
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// mgrXMLElem writes one element with escaped text and a newline.
func mgrXMLElem(buf *bytes.Buffer, indent, name, text string) {
	buf.WriteString(indent)
	buf.WriteString("<httpd:" + name + ">")
	xml.EscapeText(buf, []byte(text))
	buf.WriteString("</httpd:" + name + ">\n")
}

func (st *managedState) writeXML(buf *bytes.Buffer, readOnly bool) {
	const bi, wi = "      ", "          "
	cfg := &st.cfg
	buf.WriteString("    <httpd:balancer>\n")
	mgrXMLElem(buf, bi, "name", st.m.b.Name())
	nonce := st.m.nonce
	if readOnly {
		nonce = ""
	}
	mgrXMLElem(buf, bi, "nonce", nonce)
	stickyOn := cfg.StickySession != ""
	if stickyOn {
		cookie, _, _ := mgrStickyNames(cfg.StickySession)
		mgrXMLElem(buf, bi, "stickysession", cookie)
		mgrXMLElem(buf, bi, "nofailover", mgrOnOff(cfg.NoFailover))
	}
	// Apache writes no newline after the timeout element.
	fmt.Fprintf(buf, "%s<httpd:timeout>%d</httpd:timeout>", bi, int64(cfg.Timeout/time.Second))
	if cfg.MaxAttempts != 0 || len(cfg.Members) > 1 {
		mgrXMLElem(buf, bi, "maxattempts", strconv.Itoa(mgrMaxAttempts(cfg.MaxAttempts, len(cfg.Members))))
	}
	mgrXMLElem(buf, bi, "lbmethod", mgrMethodName(cfg.Method))
	if stickyOn {
		mgrXMLElem(buf, bi, "scolonpathdelim", mgrOnOff(cfg.ScolonPathDelim))
	}
	buf.WriteString("      <httpd:workers>\n")
	for _, ms := range st.members {
		mc := st.memberConf(ms.URL)
		u, _ := url.Parse(ms.URL)
		if u == nil {
			u = &url.URL{}
		}
		conn := mc.Connection
		buf.WriteString("        <httpd:worker>\n")
		mgrXMLElem(buf, wi, "name", ms.URL)
		mgrXMLElem(buf, wi, "scheme", u.Scheme)
		mgrXMLElem(buf, wi, "hostname", u.Hostname())
		mgrXMLElem(buf, wi, "loadfactor", fmt.Sprintf("%.2f", ms.LoadFactor))
		mgrXMLElem(buf, wi, "port", strconv.Itoa(mgrPort(u)))
		mgrXMLElem(buf, wi, "min", "0")
		mgrXMLElem(buf, wi, "smax", strconv.Itoa(mgrSMax(conn)))
		mgrXMLElem(buf, wi, "max", strconv.Itoa(conn.Max))
		mgrXMLElem(buf, wi, "ttl", strconv.FormatInt(int64(conn.TTL/time.Second), 10))
		if conn.Timeout > 0 {
			mgrXMLElem(buf, wi, "timeout", strconv.FormatInt(int64(conn.Timeout/time.Second), 10))
		}
		if conn.Acquire > 0 {
			mgrXMLElem(buf, wi, "acquire", strconv.FormatInt(conn.Acquire.Milliseconds(), 10))
		}
		if conn.KeepAlive {
			mgrXMLElem(buf, wi, "keepalive", "On")
		}
		// Apache's display string ends with a space.
		mgrXMLElem(buf, wi, "status", ms.Status.String()+" ")
		if !ms.ErrorSince.IsZero() {
			mgrXMLElem(buf, wi, "error_time", ms.ErrorSince.UTC().Format(http.TimeFormat))
		}
		mgrXMLElem(buf, wi, "retries", strconv.FormatInt(ms.Retries, 10))
		mgrXMLElem(buf, wi, "lbstatus", strconv.FormatInt(ms.Load, 10))
		mgrXMLElem(buf, wi, "loadfactor", fmt.Sprintf("%.2f", ms.LoadFactor))
		mgrXMLElem(buf, wi, "transferred", strconv.FormatInt(ms.Transferred, 10))
		mgrXMLElem(buf, wi, "read", strconv.FormatInt(ms.Read, 10))
		mgrXMLElem(buf, wi, "elected", strconv.FormatInt(ms.Elected, 10))
		mgrXMLElem(buf, wi, "route", ms.Route)
		mgrXMLElem(buf, wi, "redirect", ms.Redirect)
		mgrXMLElem(buf, wi, "busy", strconv.FormatInt(ms.Busy, 10))
		mgrXMLElem(buf, wi, "lbset", strconv.Itoa(ms.LBSet))
		if conn.DisableReuse {
			mgrXMLElem(buf, wi, "disablereuse", "On")
		}
		if conn.ConnectTimeout > 0 {
			mgrXMLElem(buf, wi, "connectiontimeout", strconv.FormatInt(conn.ConnectTimeout.Milliseconds(), 10))
		}
		if mc.Retry != 0 {
			retry := mc.Retry
			if retry < 0 {
				retry = 0
			}
			mgrXMLElem(buf, wi, "retry", strconv.FormatInt(int64(retry/time.Second), 10))
		}
		buf.WriteString("        </httpd:worker>\n")
	}
	buf.WriteString("      </httpd:workers>\n")
	buf.WriteString("    </httpd:balancer>\n")
}

func mgrOnOff(b bool) string {
	if b {
		return "On"
	}
	return "Off"
}

// mgrPort is the member's port, the scheme's default when the URL has
// none.
func mgrPort(u *url.URL) int {
	if p, err := strconv.Atoi(u.Port()); err == nil {
		return p
	}
	if u.Scheme == "https" {
		return 443
	}
	return 80
}

// mgrSMax is the idle connections a member keeps, as transport.Options
// documents SMax.
func mgrSMax(o transport.Options) int {
	switch {
	case o.SMax > 0 && (o.Max == 0 || o.SMax <= o.Max):
		return o.SMax
	case o.Max > 0:
		return o.Max
	}
	return transport.DefaultSMax
}

// mgrStickyNames splits a StickySession value into its cookie and URL
// parameter names.
func mgrStickyNames(s string) (cookie, param string, err error) {
	if s == "" {
		return "", "", nil
	}
	return sticky.ParseStickySession(s)
}
