package otel_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/internal/balancertest"
	balancerotel "github.com/proxybalancer/balancer/otel"
)

// refusing returns a loopback URL on which nothing listens: connections
// to it are refused.
var refusing = balancertest.ClosedURL

// member is a loopback backend that records the traceparent header of
// each request it gets.
type member struct {
	srv *httptest.Server
	mu  sync.Mutex
	tp  []string
}

func newMember(t *testing.T, name string) *member {
	t.Helper()
	m := &member{}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.tp = append(m.tp, r.Header.Get("Traceparent"))
		m.mu.Unlock()
		io.WriteString(w, name)
	}))
	t.Cleanup(m.srv.Close)
	return m
}

func (m *member) traceparents() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.tp...)
}

// span is what a test compares of a recorded span.
type span struct {
	Name   string
	Kind   trace.SpanKind
	Parent string // the parent's name, "remote" for the client's span
	Status codes.Code
	Attrs  map[string]string
	Events []string
}

// tree reduces the recorded spans to comparable values, children after
// their parent in start order.
func tree(t *testing.T, spans tracetest.SpanStubs, remote trace.SpanID) []span {
	t.Helper()
	names := map[trace.SpanID]string{remote: "remote"}
	var out []span
	for _, s := range spans {
		names[s.SpanContext.SpanID()] = s.Name + "#" + strconv.Itoa(len(out))
		out = append(out, span{})
	}
	for i, s := range spans {
		attrs := map[string]string{}
		for _, kv := range s.Attributes {
			attrs[string(kv.Key)] = kv.Value.String()
		}
		var events []string
		for _, e := range s.Events {
			events = append(events, e.Name)
		}
		parent, ok := names[s.Parent.SpanID()]
		if !ok {
			parent = s.Parent.SpanID().String()
		}
		out[i] = span{Name: names[s.SpanContext.SpanID()], Kind: s.SpanKind, Parent: parent, Status: s.Status.Code, Attrs: attrs, Events: events}
	}
	return out
}

// setup returns a traced balancer over members, its handler, and the
// span exporter.
func setup(t *testing.T, opts balancerotel.Options, cfg balancer.Config) (http.Handler, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	opts.TracerProvider = tp
	tel, err := balancerotel.New(opts)
	require.NoError(t, err)
	tel.Instrument(&cfg)
	b, err := balancer.New(cfg)
	require.NoError(t, err)
	return tel.Handler(b), exp
}

// A request whose first member refuses the connection and whose second
// answers: one server span, and under it one client span per attempt,
// each saying which member and why; the second says it is a failover from
// the first, and the member got that span's trace context.
func TestFailoverSpanTree(t *testing.T) {
	dead := refusing(t)
	live := newMember(t, "live")
	h, exp := setup(t, balancerotel.Options{}, balancer.Config{
		Name: "shop", StickySession: "JSESSIONID",
		Members: []balancer.Member{{URL: dead, Route: "a"}, {URL: live.srv.URL, Route: "b"}},
	})

	// The client's own trace.
	traceID, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	remote, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	r := httptest.NewRequest("GET", "http://front.example:8080/cart?x=1", nil)
	r.Header.Set("Traceparent", "00-"+traceID.String()+"-"+remote.String()+"-01")
	r.Header.Set("User-Agent", "test-agent")
	r.RemoteAddr = "192.0.2.7:4711"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	require.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, "live", w.Body.String())

	spans := exp.GetSpans()
	require.Len(t, spans, 3)
	for _, s := range spans {
		assert.Equal(t, traceID, s.SpanContext.TraceID(), "every span in the client's trace")
	}
	// Ended first: the attempts, then the request; in start order the
	// request comes first.
	ordered := tracetest.SpanStubs{spans[2], spans[0], spans[1]}
	deadHost, deadPort := hostPort(t, dead)
	liveHost, livePort := hostPort(t, live.srv.URL)
	want := []span{
		{Name: "GET#0", Kind: trace.SpanKindServer, Parent: "remote", Status: codes.Unset,
			Attrs: map[string]string{
				"http.request.method": "GET", "url.path": "/cart", "url.scheme": "http",
				"server.address": "front.example", "server.port": "8080", "client.address": "192.0.2.7",
				"user_agent.original": "test-agent", "network.protocol.version": "1.1",
				"http.response.status_code": "200",
				"balancer.name":             "balancer://shop", "balancer.attempts": "2",
				"balancer.member": live.srv.URL, "balancer.route": "b", "balancer.route_changed": "true",
			},
			Events: []string{"balancer.retry"}},
		{Name: "GET#1", Kind: trace.SpanKindClient, Parent: "GET#0", Status: codes.Error,
			Attrs: map[string]string{
				"http.request.method": "GET", "url.full": dead + "/cart?x=1",
				"server.address": deadHost, "server.port": deadPort,
				"balancer.member": dead, "balancer.route": "a",
				"balancer.reason": "scheduled", "balancer.lbset": "0", "balancer.attempt": "0",
				"error.type": "connect",
			},
			Events: []string{"exception"}},
		{Name: "GET#2", Kind: trace.SpanKindClient, Parent: "GET#0", Status: codes.Unset,
			Attrs: map[string]string{
				"http.request.method": "GET", "url.full": live.srv.URL + "/cart?x=1",
				"server.address": liveHost, "server.port": livePort,
				"balancer.member": live.srv.URL, "balancer.route": "b",
				"balancer.reason": "scheduled", "balancer.lbset": "0", "balancer.attempt": "1",
				"http.request.resend_count": "1",
				"balancer.retry.kind":       "failover", "balancer.retry.from": dead, "balancer.retry.reason": "connect",
				"http.response.status_code": "200",
			}},
	}
	if diff := cmp.Diff(want, tree(t, ordered, remote)); diff != "" {
		t.Errorf("span tree (-want +got):\n%s", diff)
	}
	retry := spans[2].Events[0]
	assert.Equal(t, []attribute.KeyValue{
		attribute.String("balancer.retry.kind", "failover"), attribute.String("balancer.retry.from", dead),
		attribute.String("balancer.retry.reason", "connect"), attribute.Int("balancer.attempt", 0),
	}, retry.Attributes)

	// The member got the second attempt's span as its parent.
	assert.Equal(t, []string{"00-" + traceID.String() + "-" + spans[1].SpanContext.SpanID().String() + "-01"}, live.traceparents())
}

func hostPort(t *testing.T, raw string) (string, string) {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u.Hostname(), u.Port()
}

// A sticky request's attempt says so; a request with no usable member is
// an error span with status 503 and no attempt.
func TestStickyAndUnavailable(t *testing.T) {
	a, bm := newMember(t, "a"), newMember(t, "b")
	h, exp := setup(t, balancerotel.Options{}, balancer.Config{
		Name: "s", StickySession: "JSESSIONID",
		Members: []balancer.Member{{URL: a.srv.URL, Route: "a"}, {URL: bm.srv.URL, Route: "b"}},
	})
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", "JSESSIONID=x.b")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	require.Equal(t, "b", w.Body.String())
	spans := exp.GetSpans()
	require.Len(t, spans, 2)
	attempt := attrs(spans[0])
	assert.Equal(t, "sticky", attempt["balancer.reason"])
	assert.Equal(t, bm.srv.URL, attempt["balancer.member"])
	req := attrs(spans[1])
	assert.Equal(t, "b", req["balancer.session.route"])
	assert.Equal(t, "JSESSIONID", req["balancer.session.sticky"])
	assert.Equal(t, "false", req["balancer.route_changed"])
	assert.Empty(t, a.traceparents(), "a got nothing")

	// No traceparent from the client: the request span is a root and the
	// member still gets a trace context.
	assert.False(t, spans[1].Parent.IsValid())
	require.Len(t, bm.traceparents(), 1)
	assert.Contains(t, bm.traceparents()[0], spans[0].SpanContext.SpanID().String())

	exp.Reset()
	h2, exp2 := setup(t, balancerotel.Options{}, balancer.Config{
		Name: "none", Members: []balancer.Member{{URL: a.srv.URL, Status: "D"}},
	})
	w = httptest.NewRecorder()
	h2.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	require.Equal(t, http.StatusServiceUnavailable, w.Code)
	spans = exp2.GetSpans()
	require.Len(t, spans, 1)
	assert.Equal(t, codes.Error, spans[0].Status.Code)
	req = attrs(spans[0])
	assert.Equal(t, "503", req["http.response.status_code"])
	assert.Equal(t, "503", req["error.type"])
	assert.Equal(t, "balancer://none", req["balancer.name"])
}

func attrs(s tracetest.SpanStub) map[string]string {
	m := map[string]string{}
	for _, kv := range s.Attributes {
		m[string(kv.Key)] = kv.Value.String()
	}
	return m
}

// Instrument keeps an Observer and a WrapTransport the configuration had.
func TestInstrumentChains(t *testing.T) {
	live := newMember(t, "live")
	var picked, done, wrapped, attempts int
	var mu sync.Mutex
	cfg := balancer.Config{
		Name:    "chain",
		Members: []balancer.Member{{URL: live.srv.URL}},
		Observer: &balancer.Observer{
			Picked: func(balancer.PickEvent) { mu.Lock(); picked++; mu.Unlock() },
			Done:   func(balancer.DoneEvent) { mu.Lock(); done++; mu.Unlock() },
		},
		WrapTransport: func(_ string, rt http.RoundTripper) http.RoundTripper {
			wrapped++
			return rtFunc(func(r *http.Request) (*http.Response, error) {
				mu.Lock()
				attempts++
				mu.Unlock()
				assert.NotEmpty(t, r.Header.Get("Traceparent"), "the trace context is set before the inner wrapper")
				return rt.RoundTrip(r)
			})
		},
	}
	h, exp := setup(t, balancerotel.Options{Propagator: propagation.TraceContext{}}, cfg)
	for range 2 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		require.Equal(t, http.StatusOK, w.Code)
	}
	assert.Len(t, exp.GetSpans(), 4)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []int{2, 2, 1, 2}, []int{picked, done, wrapped, attempts})
}

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// With a MeterProvider: the request and attempt durations and the retries.
func TestMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { mp.Shutdown(context.Background()) })
	dead := refusing(t)
	live := newMember(t, "live")
	h, _ := setup(t, balancerotel.Options{MeterProvider: mp}, balancer.Config{
		Name: "m", Members: []balancer.Member{{URL: dead}, {URL: live.srv.URL}},
	})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	require.Equal(t, http.StatusOK, w.Code)

	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	require.Len(t, rm.ScopeMetrics, 1)
	got := map[string][]map[string]string{}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		switch d := m.Data.(type) {
		case metricdata.Histogram[float64]:
			for _, p := range d.DataPoints {
				assert.Equal(t, uint64(1), p.Count, m.Name)
				got[m.Name] = append(got[m.Name], setMap(p.Attributes))
			}
		case metricdata.Sum[int64]:
			for _, p := range d.DataPoints {
				assert.Equal(t, int64(1), p.Value, m.Name)
				got[m.Name] = append(got[m.Name], setMap(p.Attributes))
			}
		default:
			t.Errorf("%s: unexpected data %T", m.Name, m.Data)
		}
	}
	deadHost, deadPort := hostPort(t, dead)
	liveHost, livePort := hostPort(t, live.srv.URL)
	want := map[string][]map[string]string{
		"http.server.request.duration": {{"http.request.method": "GET", "url.scheme": "http",
			"http.response.status_code": "200", "balancer.name": "balancer://m"}},
		"balancer.retries": {{"balancer.name": "balancer://m", "balancer.retry.kind": "failover"}},
	}
	clientWant := []map[string]string{
		{"http.request.method": "GET", "server.address": deadHost, "server.port": deadPort, "url.scheme": "http",
			"error.type": "connect", "balancer.name": "balancer://m"},
		{"http.request.method": "GET", "server.address": liveHost, "server.port": livePort, "url.scheme": "http",
			"http.response.status_code": "200", "balancer.name": "balancer://m"},
	}
	assert.ElementsMatch(t, clientWant, got["http.client.request.duration"])
	delete(got, "http.client.request.duration")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
}

func setMap(s attribute.Set) map[string]string {
	m := map[string]string{}
	for _, kv := range s.ToSlice() {
		m[string(kv.Key)] = kv.Value.String()
	}
	return m
}
