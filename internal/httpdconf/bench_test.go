package httpdconf

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func BenchmarkParseSample(b *testing.B) {
	src, err := os.ReadFile(filepath.Join("testdata", "httpd-balancer.conf"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := Parse("sample.conf", strings.NewReader(string(src))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseLarge shows that parsing stays linear in the number of
// members and of parameters on one line (hostile input).
func BenchmarkParseLarge(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		var sb strings.Builder
		sb.WriteString("<Proxy balancer://big>\n")
		for i := range n {
			fmt.Fprintf(&sb, "BalancerMember http://10.%d.%d.%d:8080 route=r%d\n", i>>16&255, i>>8&255, i&255, i)
		}
		sb.WriteString("</Proxy>\nBalancerMember balancer://big http://x")
		for i := range n {
			fmt.Fprintf(&sb, " k%d=v", i)
		}
		sb.WriteString("\n")
		src := sb.String()
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				// The last line fails (unknown parameter) after the
				// parameters have all been collected.
				if _, err := Parse("big.conf", strings.NewReader(src)); err == nil {
					b.Fatal("want an unknown-parameter error")
				}
			}
		})
	}
}
