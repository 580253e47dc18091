package balancer

import (
	"fmt"
	"net/http"
)

// RequestLimits are Apache's limits on the size of a request's head
// (LimitRequestLine, LimitRequestFieldSize, LimitRequestFields), applied by
// [RequestLimits.Wrap] before any routing. The zero value is Apache's
// defaults; handlers built from an Apache configuration (package
// httpdconf) apply them, a Balancer used on its own does not. A
// RequestLimits is a plain value, safe to share.
//
// Apache 2.4.71 checked: a request line of Line+1 bytes (CRLF not counted)
// still passes and one of Line+2 gets 414 Request-URI Too Long; a header
// field of FieldSize+1 bytes passes and one of FieldSize+2 gets 400; more
// than Fields header fields (Host included) get 400. net/http parses the
// request before a handler sees it, so a field is measured as
// "Name: value" (a field written without the space after the colon, or
// with trailing spaces, is measured one byte or more off) and the request
// line as "METHOD target HTTP/x.y"; net/http's own limit on the whole head
// (http.Server.MaxHeaderBytes, 1 MB by default, answered with 431) still
// comes first.
type RequestLimits struct {
	// Line is LimitRequestLine: zero means 8190, negative means no limit.
	Line int
	// FieldSize is LimitRequestFieldSize: zero means 8190, negative means
	// no limit.
	FieldSize int
	// Fields is LimitRequestFields: zero means 100, negative means no
	// limit (Apache's LimitRequestFields 0).
	Fields int
}

// ApacheRequestLimits are Apache's default limits (the zero value).
var ApacheRequestLimits = RequestLimits{}

// Apache's defaults.
const (
	defaultLimitRequestLine      = 8190
	defaultLimitRequestFieldSize = 8190
	defaultLimitRequestFields    = 100
)

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// Check returns the status Apache answers r with (414 for the request
// line, 400 for a header field) and why, or 0 and nil when r is within
// the limits. It allocates only for a request over a limit.
func (l RequestLimits) Check(r *http.Request) (int, error) {
	if max := orDefault(l.Line, defaultLimitRequestLine); max > 0 {
		n := len(r.Method) + 1 + len(r.RequestURI) + 1 + len(r.Proto)
		if n > max+1 {
			return http.StatusRequestURITooLong, fmt.Errorf("balancer: request line of %d bytes exceeds LimitRequestLine %d", n, max)
		}
	}
	maxSize := orDefault(l.FieldSize, defaultLimitRequestFieldSize)
	maxFields := orDefault(l.Fields, defaultLimitRequestFields)
	fields := 0
	if r.Host != "" {
		fields++
		if n := len("Host: ") + len(r.Host); maxSize > 0 && n > maxSize+1 {
			return http.StatusBadRequest, fmt.Errorf("balancer: header field Host of %d bytes exceeds LimitRequestFieldSize %d", n, maxSize)
		}
	}
	for k, vs := range r.Header {
		fields += len(vs)
		if maxSize <= 0 {
			continue
		}
		for _, v := range vs {
			if n := len(k) + 2 + len(v); n > maxSize+1 {
				return http.StatusBadRequest, fmt.Errorf("balancer: header field %s of %d bytes exceeds LimitRequestFieldSize %d", k, n, maxSize)
			}
		}
	}
	if maxFields > 0 && fields > maxFields {
		return http.StatusBadRequest, fmt.Errorf("balancer: %d header fields exceed LimitRequestFields %d", fields, maxFields)
	}
	return 0, nil
}

// Wrap returns a handler that answers a request over the limits as Apache
// does (414 or 400, see Check) and passes the others to next.
func (l RequestLimits) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if code, _ := l.Check(r); code != 0 {
			w.Header().Set("Connection", "close")
			http.Error(w, http.StatusText(code), code)
			return
		}
		next.ServeHTTP(w, r)
	})
}
