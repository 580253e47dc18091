package balancer_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The balancer-manager lives in package manager: the root package links
// neither templates nor XML nor embedded files.
func TestRootLinksNoManager(t *testing.T) {
	goBin, err := exec.LookPath("go")
	require.NoError(t, err, "the go command runs this test")
	out, err := exec.Command(goBin, "list", "-deps", ".").Output()
	require.NoError(t, err, "go list -deps .")
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "net/http/httputil", "go list printed the root's dependencies")
	for _, p := range []string{"html/template", "encoding/xml", "embed", "github.com/proxybalancer/balancer/manager"} {
		assert.NotContains(t, deps, p)
	}
}
