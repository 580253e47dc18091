package fleet

import (
	"slices"
	"strings"

	"github.com/proxybalancer/balancer"
)

// sortLetters orders flag letters as flagLetters does.
func sortLetters(s string) string {
	var b strings.Builder
	for _, l := range flagLetters {
		if strings.ContainsRune(s, l) {
			b.WriteRune(l)
		}
	}
	return b.String()
}

// sortChange orders a Change's lists by URL, so that the same fields make
// the same Change on every replica.
func sortChange(c *balancer.Change) {
	slices.Sort(c.Remove)
	slices.SortFunc(c.Add, func(a, b balancer.MemberChange) int { return strings.Compare(a.URL, b.URL) })
	slices.SortFunc(c.Members, func(a, b balancer.MemberChange) int { return strings.Compare(a.URL, b.URL) })
}
