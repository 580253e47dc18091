package balancer

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// configWarnings lists what is valid in cfg but probably not meant.
func configWarnings(cfg *Config, s *snapshot) []string {
	var ws []string
	routes := map[string]string{}
	for i, m := range cfg.Members {
		name := s.members[i].name
		if strings.HasSuffix(name, "/") {
			ws = append(ws, fmt.Sprintf("member %q: the URL ends in '/': request paths are appended as they are, so /x becomes %sx (a double slash), as in Apache", m.URL, strings.TrimSuffix(name, "/")+"/"))
		}
		if m.Route != "" {
			if other, dup := routes[m.Route]; dup {
				ws = append(ws, fmt.Sprintf("member %q: route %q is also the route of %q; sessions go to the first usable one", m.URL, m.Route, other))
			} else {
				routes[m.Route] = m.URL
			}
		}
		if m.Route != "" && cfg.StickySession == "" {
			ws = append(ws, fmt.Sprintf("member %q: route %q has no effect without stickysession", m.URL, m.Route))
		}
	}
	for _, m := range cfg.Members {
		if m.Redirect != "" {
			if _, ok := routes[m.Redirect]; !ok {
				ws = append(ws, fmt.Sprintf("member %q: redirect %q names no member's route", m.URL, m.Redirect))
			}
		}
	}
	if rc := cfg.RouteCookie; rc != nil && s.sticky != nil {
		cookie, _, _ := strings.Cut(cfg.StickySession, "|")
		if rc.Name != cookie {
			ws = append(ws, fmt.Sprintf("routecookie %q: not the sticky cookie %q, so the balancer never reads it", rc.Name, cookie))
		}
	}
	return ws
}

// logConfigWarnings writes a configuration's warnings to its logger l.
// The caller holds no balancer lock.
func (b *Balancer) logConfigWarnings(name string, l *slog.Logger, ws []string) {
	if l == nil {
		return
	}
	for _, w := range ws {
		l.LogAttrs(context.Background(), slog.LevelWarn, "balancer configuration", slog.String("balancer", name), slog.String("warning", w))
	}
}
