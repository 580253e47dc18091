// Package pathmatch holds Apache's URL-path prefix matching, shared by the
// balancer's ProxyPass mounts and the Apache configuration loader.
package pathmatch

// Alias is Apache's alias_match (mod_proxy.c): it returns how many bytes of
// path the prefix alias matches, or -1. Any run of '/' in alias matches any
// run in path, other bytes compare exactly, and the match must end at a path
// component boundary: "/app" matches "/app" and "/app/x" but not "/apple".
// An empty alias matches nothing.
func Alias(path, alias string) int {
	a, u := 0, 0
	for a < len(alias) && u < len(path) {
		if alias[a] == '/' {
			if path[u] != '/' {
				return -1
			}
			for a < len(alias) && alias[a] == '/' {
				a++
			}
			for u < len(path) && path[u] == '/' {
				u++
			}
			continue
		}
		if path[u] != alias[a] {
			return -1
		}
		a, u = a+1, u+1
	}
	if a != len(alias) || a == 0 {
		return -1 // the path ended first ("/" against "/examples"), or no alias
	}
	if alias[a-1] != '/' && u < len(path) && path[u] != '/' {
		return -1 // the last component did not match all the way
	}
	return u
}
