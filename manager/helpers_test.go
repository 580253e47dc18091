package manager_test

import (
	"io"
	"net/url"
	"strings"

	"github.com/proxybalancer/balancer/internal/balancertest"
)

// The shared in-process helpers, under the names these tests use.
type stub = balancertest.Stub

var (
	newClock = balancertest.NewClock
	newStub  = balancertest.NewStub
	seq      = balancertest.Seq
	members  = balancertest.Members
	mustNew  = balancertest.MustNew
)

// testHosts are the host names the tests' managers answer for: the host of
// httptest.NewRequest's default target.
var testHosts = []string{"example.com"}

// formBody is a form as a request body.
func formBody(v url.Values) io.Reader { return strings.NewReader(v.Encode()) }

func ptr[T any](v T) *T { return &v }
