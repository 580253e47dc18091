package fleet

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/etcd/internal/etcdtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// replica is one gateway of a test fleet: a balancer and its Fleet, with
// its own etcd client.
type replica struct {
	name  string
	b     *balancer.Balancer
	f     *Fleet
	logs  *logRecords
	stop  func()
	fleet chan balancer.ChangeEvent // changes the Fleet applied
}

// startReplica builds a balancer from cfg and joins it to the fleet:
// Load, then Run until the test ends (or stop).
func startReplica(t *testing.T, srv *etcdtest.Server, name string, cfg balancer.Config, opts ...func(*Fleet)) *replica {
	t.Helper()
	r := &replica{name: name, logs: &logRecords{}, fleet: make(chan balancer.ChangeEvent, 10000)}
	r.f = &Fleet{Client: srv.Client(), Replica: name, Logger: slog.New(r.logs), Prefix: "/test/"}
	for _, o := range opts {
		o(r.f)
	}
	r.f.Observe(&cfg)
	b, err := balancer.New(cfg)
	require.NoError(t, err)
	r.b, r.f.Balancers = b, []*balancer.Balancer{b}
	b.OnChange(func(ev balancer.ChangeEvent) {
		if ev.Change.Source == Source {
			select {
			case r.fleet <- ev:
			default:
			}
		}
	})
	require.NoError(t, r.f.Load(context.Background()))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.f.Run(ctx) }()
	r.stop = sync.OnceFunc(func() {
		cancel()
		assert.ErrorIs(t, <-done, context.Canceled)
		_ = b.Close()
	})
	t.Cleanup(r.stop)
	return r
}

func testConfig(members ...string) balancer.Config {
	cfg := balancer.Config{Name: "app"}
	for i, m := range members {
		cfg.Members = append(cfg.Members, balancer.Member{URL: m, Route: fmt.Sprintf("r%d", i)})
	}
	return cfg
}

// logRecords collects log records.
type logRecords struct {
	mu   sync.Mutex
	msgs []string
	more chan struct{} // closed and replaced at each record
}

func (l *logRecords) Enabled(_ context.Context, lv slog.Level) bool { return true }
func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.msgs = append(l.msgs, r.Level.String()+" "+r.Message)
	if l.more != nil {
		close(l.more)
		l.more = nil
	}
	l.mu.Unlock()
	return nil
}
func (l *logRecords) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecords) WithGroup(string) slog.Handler      { return l }
func (l *logRecords) count(prefix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if strings.HasPrefix(m, prefix) {
			n++
		}
	}
	return n
}

// await waits until n records start with prefix, 30 s at most.
func (l *logRecords) await(t *testing.T, prefix string, n int) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		l.mu.Lock()
		got := 0
		for _, m := range l.msgs {
			if strings.HasPrefix(m, prefix) {
				got++
			}
		}
		if l.more == nil {
			l.more = make(chan struct{})
		}
		more := l.more
		l.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-more:
		case <-timeout:
			t.Fatalf("%d records %q within 30s, want %d: %q", got, prefix, n, l.msgs)
		}
	}
}

func ptr[T any](v T) *T { return &v }
