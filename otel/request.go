package otel

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/semconv/v1.40.0/httpconv"
	"go.opentelemetry.io/otel/trace"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/transport"
)

// The balancer's own attributes.
const (
	attrName          = attribute.Key("balancer.name")
	attrMember        = attribute.Key("balancer.member")
	attrRoute         = attribute.Key("balancer.route")
	attrReason        = attribute.Key("balancer.reason")
	attrLBSet         = attribute.Key("balancer.lbset")
	attrAttempt       = attribute.Key("balancer.attempt")
	attrAttempts      = attribute.Key("balancer.attempts")
	attrRouteChanged  = attribute.Key("balancer.route_changed")
	attrSessionRoute  = attribute.Key("balancer.session.route")
	attrSessionSticky = attribute.Key("balancer.session.sticky")
	attrRetryKind     = attribute.Key("balancer.retry.kind")
	attrRetryFrom     = attribute.Key("balancer.retry.from")
	attrRetryReason   = attribute.Key("balancer.retry.reason")
)

// requestKey is the context key of the request a Handler traces.
type requestKey struct{}

// request is one client request traced by a Handler: its span, and what
// the balancer's events said about the attempt under way.
type request struct {
	span   trace.Span
	method string // as recorded: a known method or _OTHER
	scheme string

	mu    sync.Mutex
	pick  balancer.PickEvent   // the latest choice
	retry *balancer.RetryEvent // the failed attempt before it, or nil
}

func requestFrom(ctx context.Context) *request {
	if ctx == nil {
		return nil
	}
	rq, _ := ctx.Value(requestKey{}).(*request)
	return rq
}

// picked remembers the choice for the attempt span that follows.
func (t *Telemetry) picked(ev balancer.PickEvent) {
	rq := requestFrom(ev.Context)
	if rq == nil {
		return
	}
	rq.mu.Lock()
	rq.pick = ev
	rq.pick.Context = nil
	rq.mu.Unlock()
}

// retried notes the failed attempt on the request span, for the next
// attempt span, and in the retries counter.
func (t *Telemetry) retried(ev balancer.RetryEvent) {
	kind := retryKind(ev.Sent)
	if t.metrics {
		t.retries.Add(ev.Context, 1, metric.WithAttributes(attrName.String(ev.Balancer), attrRetryKind.String(kind)))
	}
	rq := requestFrom(ev.Context)
	if rq == nil {
		return
	}
	rq.span.AddEvent("balancer.retry", trace.WithAttributes(
		attrRetryKind.String(kind), attrRetryFrom.String(ev.Member),
		attrRetryReason.String(errorType(ev.Err)), attrAttempt.Int(ev.Attempt)))
	ev.Context = nil
	rq.mu.Lock()
	rq.retry = &ev
	rq.mu.Unlock()
}

func retryKind(sent bool) string {
	if sent {
		return "retry"
	}
	return "failover"
}

// done completes the request span with the outcome.
func (t *Telemetry) done(ev balancer.DoneEvent) {
	rq := requestFrom(ev.Context)
	if rq == nil {
		return
	}
	attrs := []attribute.KeyValue{attrName.String(ev.Balancer), attrAttempts.Int(ev.Attempts)}
	if ev.Status != 0 {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(ev.Status))
	}
	if ev.Member != "" {
		attrs = append(attrs, attrMember.String(ev.Member), attrRoute.String(ev.Info.WorkerRoute),
			attrRouteChanged.Bool(ev.Info.RouteChanged))
		if ev.Info.Session {
			attrs = append(attrs, attrSessionRoute.String(ev.Info.SessionRoute), attrSessionSticky.String(ev.Info.SessionSticky))
		}
	}
	var etype string
	switch {
	case ev.Status >= 500:
		etype = strconv.Itoa(ev.Status)
	case ev.Err != nil:
		etype = errorType(ev.Err)
	}
	if etype != "" {
		attrs = append(attrs, semconv.ErrorTypeKey.String(etype))
	}
	rq.span.SetAttributes(attrs...)
	if ev.Status >= 500 {
		msg := ""
		if ev.Err != nil {
			msg = ev.Err.Error()
		}
		rq.span.SetStatus(codes.Error, msg)
	}
	if t.metrics {
		mattrs := []attribute.KeyValue{attrName.String(ev.Balancer)}
		if ev.Status != 0 {
			mattrs = append(mattrs, t.server.AttrResponseStatusCode(ev.Status))
		}
		if etype != "" {
			mattrs = append(mattrs, t.server.AttrErrorType(httpconv.ErrorTypeAttr(etype)))
		}
		t.server.Record(ev.Context, ev.Latency.Seconds(), httpconv.RequestMethodAttr(rq.method), rq.scheme, mattrs...)
	}
}

// errorType names an attempt's error for error.type: why the transport
// sent nothing, "timeout", the end of the request's context, else the
// error's type.
func errorType(err error) string {
	var ns *transport.NotSentError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ns):
		return ns.Reason.String()
	case transport.IsTimeout(err):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline_exceeded"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection_closed"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection_reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken_pipe"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection_refused"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	t := semconv.ErrorType(err).Value.AsString()
	if strings.HasPrefix(t, "*errors.") || strings.HasPrefix(t, "*fmt.") {
		return "_OTHER" // a type that says nothing
	}
	return t
}
