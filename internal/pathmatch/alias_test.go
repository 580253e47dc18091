package pathmatch

import "testing"

// Apache's alias_match (mod_proxy.c), case by case.
func TestAlias(t *testing.T) {
	tests := []struct {
		path, alias string
		want        int
	}{
		{"/app", "/app", 4},
		{"/app/x", "/app", 4},
		{"/apple", "/app", -1}, // the last component must match all the way
		{"/app", "/app/", -1},  // the path ends before the alias
		{"/app/", "/app/", 5},
		{"/app//x", "/app/", 6}, // slash runs match slash runs
		{"//app/x", "/app", 5},
		{"/x", "/", 1},
		{"/", "/", 1},
		{"/", "/examples", -1},
		{"/App", "/app", -1}, // case-sensitive
		{"/app?x", "/app", -1},
	}
	for _, tt := range tests {
		if got := Alias(tt.path, tt.alias); got != tt.want {
			t.Errorf("Alias(%q, %q) = %d, want %d", tt.path, tt.alias, got, tt.want)
		}
	}
}

func TestAliasEmpty(t *testing.T) {
	if got := Alias("/x", ""); got != -1 {
		t.Errorf("Alias(\"/x\", \"\") = %d, want -1", got)
	}
}
