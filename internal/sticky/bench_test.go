package sticky_test

import "testing"

func BenchmarkFind(b *testing.B) {
	e := mustExtractor(b, "JSESSIONID|jsessionid", "", false, nil)
	browser := []string{"_ga=GA1.2.1234567890.1700000000; theme=dark; JSESSIONID=8F2C4A1B9D3E5F60.r2; lang=en-GB"}
	benchmarks := []struct {
		name    string
		path    string
		query   string
		cookies []string
	}{
		{name: "cookie", path: "/app/cart/items", query: "page=2&sort=price", cookies: browser},
		{name: "url-path", path: "/app/cart/items;jsessionid=8F2C4A1B9D3E5F60.r2", query: "page=2&sort=price", cookies: browser},
		{name: "url-query", path: "/app/cart/items", query: "page=2&jsessionid=8F2C4A1B9D3E5F60.r2", cookies: browser},
		{name: "miss", path: "/app/cart/items", query: "page=2&sort=price", cookies: []string{"_ga=GA1.2.1234567890.1700000000; theme=dark"}},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			if _, _, ok := e.Find(bm.path, bm.query, bm.cookies); ok != (bm.name != "miss") {
				b.Fatalf("Find found = %v", ok)
			}
			b.ReportAllocs()
			for b.Loop() {
				e.Find(bm.path, bm.query, bm.cookies)
			}
		})
	}
}
