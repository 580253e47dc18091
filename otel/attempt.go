package otel

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/semconv/v1.40.0/httpconv"
	"go.opentelemetry.io/otel/trace"

	"github.com/proxybalancer/balancer"
)

// attemptTransport traces each attempt at one member around the member's
// transport (Config.WrapTransport). It adds no body and no httptrace hook,
// so the member's transport sends the request as it would unwrapped.
type attemptTransport struct {
	t    *Telemetry
	next http.RoundTripper
}

func (a *attemptTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t := a.t
	start := time.Now()
	method, attrs := methodAttrs(req.Method, make([]attribute.KeyValue, 0, 16))
	host, port := hostPort(req.URL.Host, req.URL.Scheme)
	attrs = append(attrs, semconv.URLFull(redacted(req.URL)), semconv.ServerAddress(host), semconv.ServerPort(port))
	var name string
	if info, ok := balancer.FromContext(req.Context()); ok {
		name = info.Name
		attrs = append(attrs, attrMember.String(info.WorkerName), attrRoute.String(info.WorkerRoute))
	}
	if rq := requestFrom(req.Context()); rq != nil {
		rq.mu.Lock()
		pick, retry := rq.pick, rq.retry
		rq.retry = nil
		rq.mu.Unlock()
		if pick.Member != "" {
			attrs = append(attrs, attrReason.String(pick.Reason.String()), attrLBSet.Int(pick.LBSet), attrAttempt.Int(pick.Attempt))
			if pick.Attempt > 0 {
				attrs = append(attrs, semconv.HTTPRequestResendCount(pick.Attempt))
			}
		}
		if retry != nil {
			attrs = append(attrs, attrRetryKind.String(retryKind(retry.Sent)), attrRetryFrom.String(retry.Member),
				attrRetryReason.String(errorType(retry.Err)))
		}
	}
	ctx, span := t.tracer.Start(req.Context(), spanName(method), trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))

	// The member gets this attempt's trace context. A RoundTripper must
	// not change req: the headers are copied.
	out := req.WithContext(ctx)
	out.Header = req.Header.Clone()
	if out.Header == nil {
		out.Header = http.Header{}
	}
	t.prop.Inject(ctx, propagation.HeaderCarrier(out.Header))

	end := func(code int, err error) {
		var etype string
		switch {
		case err != nil:
			etype = errorType(err)
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		case code >= 400:
			etype = strconv.Itoa(code)
			statusError(span, code, 400)
		}
		if etype != "" {
			span.SetAttributes(semconv.ErrorTypeKey.String(etype))
		}
		span.End()
		if t.metrics {
			mattrs := []attribute.KeyValue{attrName.String(name), t.client.AttrURLScheme(req.URL.Scheme)}
			if code != 0 {
				mattrs = append(mattrs, t.client.AttrResponseStatusCode(code))
			}
			if etype != "" {
				mattrs = append(mattrs, t.client.AttrErrorType(httpconv.ErrorTypeAttr(etype)))
			}
			t.client.Record(context.WithoutCancel(ctx), time.Since(start).Seconds(), httpconv.RequestMethodAttr(method), host, port, mattrs...)
		}
	}

	res, err := a.next.RoundTrip(out)
	if err != nil {
		end(0, err)
		return nil, err // unchanged: the balancer tells failover from it
	}
	span.SetAttributes(semconv.HTTPResponseStatusCode(res.StatusCode))
	if res.StatusCode == http.StatusSwitchingProtocols || res.Body == nil || res.Body == http.NoBody {
		// An upgraded connection is the proxy's to keep, and its body
		// must stay the io.ReadWriteCloser it is.
		end(res.StatusCode, nil)
		return res, nil
	}
	res.Body = &spanBody{rc: res.Body, end: end, code: res.StatusCode}
	return res, nil
}

// spanBody ends the attempt span when the response body is read to its end,
// fails, or is closed.
type spanBody struct {
	rc   io.ReadCloser
	end  func(code int, err error)
	code int
	once sync.Once
}

func (b *spanBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	switch {
	case err == io.EOF:
		b.once.Do(func() { b.end(b.code, nil) })
	case err != nil:
		b.once.Do(func() { b.end(b.code, err) })
	}
	return n, err
}

func (b *spanBody) Close() error {
	err := b.rc.Close()
	b.once.Do(func() { b.end(b.code, nil) })
	return err
}

// redacted is u without user information, as url.full asks.
func redacted(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	c := *u
	c.User = nil
	return c.String()
}
