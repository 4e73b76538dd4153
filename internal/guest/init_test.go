//go:build linux

package guest

import (
	"regexp"
	"strings"
	"testing"
)

// TestExactRunPattern checks that the guest's -test.run pattern selects the
// requested (sub)test and nothing else, also when its name holds regexp
// metacharacters.
func TestExactRunPattern(t *testing.T) {
	tests := []struct {
		name    string
		want    string
		rejects []string // per level, names it must not match
	}{
		{name: "TestX", want: "^TestX$", rejects: []string{"TestXY", "ATestX"}},
		{name: "TestX/1n2l2c1t", want: "^TestX$/^1n2l2c1t$", rejects: []string{"TestX/1n2l2c1t#01", "TestXY/1n2l2c1t", "TestX/11n2l2c1t"}},
		{name: "TestA/b+c", want: `^TestA$/^b\+c$`, rejects: []string{"TestA/bbc", "TestA/bc"}},
		{name: "TestA/x.y[1](z)", want: `^TestA$/^x\.y\[1\]\(z\)$`, rejects: []string{"TestA/xzy1z", "TestA/x.y1z"}},
		{name: "TestA/a|b/c*", want: `^TestA$/^a\|b$/^c\*$`, rejects: []string{"TestA/a/c", "TestA/b/c", "TestA/a|b/cc"}},
		{name: "TestX/1n2l2c1t#01", want: "^TestX$/^1n2l2c1t#01$", rejects: []string{"TestX/1n2l2c1t"}},
	}
	for _, tt := range tests {
		got := exactRunPattern(tt.name)
		if got != tt.want {
			t.Errorf("exactRunPattern(%q) = %q, want %q", tt.name, got, tt.want)
			continue
		}
		if !matchRun(t, got, tt.name) {
			t.Errorf("pattern %q does not match %q", got, tt.name)
		}
		for _, other := range tt.rejects {
			if matchRun(t, got, other) {
				t.Errorf("pattern %q matches %q too", got, other)
			}
		}
	}
}

// matchRun tells whether the -test.run pattern selects the test called name,
// as the testing package matches: level by level, split at each '/'. (The
// patterns exactRunPattern makes hold no unescaped '/' inside brackets, so
// a plain split suffices.)
func matchRun(t *testing.T, pattern, name string) bool {
	t.Helper()
	pats := strings.Split(pattern, "/")
	elems := strings.Split(name, "/")
	if len(elems) != len(pats) {
		return false
	}
	for i, p := range pats {
		re, err := regexp.Compile(p)
		if err != nil {
			t.Fatalf("pattern element %q: %v", p, err)
		}
		if !re.MatchString(elems[i]) {
			return false
		}
	}
	return true
}
