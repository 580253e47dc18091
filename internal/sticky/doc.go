// Package sticky extracts Apache httpd 2.4.71 mod_proxy_balancer sticky-session
// routes from a request's path, query string and Cookie headers.
//
// Everything here is a pure function of its arguments: the package knows
// nothing about members, contexts or http.Request. The root package parses the
// stickysession and stickysessionsep parameters with [ParseStickySession] and
// [ParseSeparator], builds one [Extractor] per balancer with [NewExtractor],
// and calls [Extractor.Find] on every request.
//
// The parsing quirks of Apache are reproduced on purpose (spec §2, §12 items
// 1–5): the URL parameter is found by plain substring search and wins over the
// cookie even when its value carries no route, the first cookie occurrence
// wins, values are neither trimmed nor unquoted, and the route is the text
// after the first separator.
//
// Where this package is stricter than Apache, it is so only in configuration,
// never in routing: [ParseStickySession] refuses names Apache would truncate
// (over 63 bytes), an empty half of "COOKIE|PARAM", and names with bytes no
// cookie or parameter name contains; [ParseSeparator] refuses "\x00".
// A route pattern ([NewExtractor]) is an extension Apache does not have; it
// is off unless the caller sets one.
package sticky
