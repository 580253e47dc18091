package balancer

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Whatever the decoded request path, the outbound request line carries it
// encoded exactly as Apache encodes it (appendEscapedPath), after the
// member's path as written: net/url takes the RawPath setURL gives it, or
// needs none.
func FuzzSetURLEncodesAsApache(f *testing.F) {
	for _, s := range []string{"/p;x", "/p~x", "/p q", "/p!*'()", "/p%zz", "/é", "/a\x7f", "/[x]", "/a+b@c", "/\"<>\\^`{|}"} {
		f.Add(s)
	}
	members := []*member{}
	for _, raw := range []string{"http://m", "http://m/base", "http://m/b%20a", "http://m/p%2Fq", "http://m/x!y"} {
		u, err := url.Parse(raw)
		require.NoError(f, err)
		members = append(members, &member{url: u, path: u.Path, rawPath: u.RawPath})
	}
	f.Fuzz(func(t *testing.T, p string) {
		if p == "" || p[0] != '/' {
			t.Skip("request paths start with '/'")
		}
		st := &requestState{path: p}
		for _, m := range members {
			out := &http.Request{URL: &url.URL{RawQuery: "q=1;x"}}
			st.setURL(out, m)
			want := string(appendEscapedPath([]byte(m.url.EscapedPath()), p)) + "?q=1;x"
			assert.Equal(t, want, out.URL.RequestURI(), "member %s, path %q", m.url, p)
		}
	})
}

func TestRejectPath(t *testing.T) {
	for _, c := range []struct {
		escaped, decoded string
		want             int
	}{
		{"/a%2Fb", "/a/b", 404}, {"/a%2fb", "/a/b", 404}, {"/p%00", "/p\x00", 404}, {"/a%252Fb", "/a%2Fb", 0},
		{"/a%20b", "/a b", 0}, {"/plain", "/plain", 0}, {"/%2", "/%2", 0}, {"/x%2F", "/x/", 404},
	} {
		assert.Equal(t, c.want, rejectPath(c.escaped, c.decoded), c.escaped)
	}
}
