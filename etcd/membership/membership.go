// Package membership keeps a balancer's members equal to the services
// registered under an etcd key prefix. A service registers itself with
// Register, under a lease that it keeps alive: when the service stops, it
// revokes the lease and its member goes at once; when it crashes, the
// lease expires after its TTL and the member goes then.
//
// The member list is applied with a [discovery.MemberSet], which changes
// it the way [balancer.Balancer.Update] does: members that stay keep their
// state and runtime settings, members that go drain, and an empty list is
// never applied (the last good one stays). While etcd is unreachable the
// last list stays in force; the watch resumes where it stopped when etcd
// is back.
package membership

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/proxybalancer/balancer/discovery"
	"github.com/proxybalancer/balancer/etcd/internal/backoff"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Registration is the value stored under a service's key: JSON, or just
// the URL as a plain string.
type Registration struct {
	// URL is the member's base URL. Required.
	URL string `json:"url"`
	// LBSet and LoadFactor, if set, are the member's tier and weight
	// (Apache's lbset and loadfactor), applied when they change.
	LBSet      int     `json:"lbset,omitempty"`
	LoadFactor float64 `json:"loadfactor,omitempty"`
}

// parseRegistration reads a stored value.
func parseRegistration(v []byte) (Registration, error) {
	s := strings.TrimSpace(string(v))
	var r Registration
	if strings.HasPrefix(s, "{") {
		if err := json.Unmarshal(v, &r); err != nil {
			return r, err
		}
		if r.URL == "" {
			return r, fmt.Errorf("no url")
		}
	} else {
		r = Registration{URL: s}
	}
	if _, err := discovery.Normalize(r.URL); err != nil {
		return r, fmt.Errorf("url %q: %v", r.URL, err)
	}
	return r, nil
}

// Register stores reg under key with a lease of ttl (whole seconds, at
// least 1) and keeps the lease alive until ctx ends; then it revokes the
// lease, so the key goes at once, and returns ctx's error. If the lease is
// lost (etcd unreachable for longer than ttl), Register grants a new one
// and stores reg again once etcd answers. An invalid reg or ttl is
// returned at once.
func Register(ctx context.Context, c *clientv3.Client, key string, reg Registration, ttl time.Duration) error {
	if ttl < time.Second {
		return fmt.Errorf("membership: ttl %v: at least 1s", ttl)
	}
	if reg.URL == "" {
		return fmt.Errorf("membership: Registration.URL is empty")
	}
	val, err := json.Marshal(reg)
	if err != nil {
		return err
	}
	bo := newBackoff()
	for {
		id, err := registerOnce(ctx, c, key, string(val), int64(ttl/time.Second))
		if err == nil {
			bo.Reset()
			ka, err := c.KeepAlive(ctx, id)
			if err == nil {
				for range ka { // ends when ctx ends or the lease is lost
				}
			}
			if ctx.Err() != nil {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
				_, _ = c.Revoke(rctx, id)
				cancel()
				return ctx.Err()
			}
		}
		if err := bo.Wait(ctx); err != nil {
			return err
		}
	}
}

func registerOnce(ctx context.Context, c *clientv3.Client, key, val string, ttl int64) (clientv3.LeaseID, error) {
	lease, err := c.Grant(ctx, ttl)
	if err != nil {
		return 0, err
	}
	if _, err := c.Put(ctx, key, val, clientv3.WithLease(lease.ID)); err != nil {
		return 0, err
	}
	return lease.ID, nil
}

// newBackoff waits 100ms between tries, doubling up to 2s.
func newBackoff() *backoff.Backoff {
	return backoff.New(100*time.Millisecond, 2*time.Second)
}
