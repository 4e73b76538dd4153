package debian

import "testing"

func TestCompareVersions(t *testing.T) {
	// Each pair is a < b; equal pairs are checked separately.
	less := [][2]string{
		{"7.3.4-1~bpo13+1", "7.3.4-1"},
		{"7.3.4-1~bpo13+1", "7.3.4-1~bpo13+2"},
		{"7.3.4-1~bpo12+1", "7.3.4-1~bpo13+1"},
		{"7.2.12-1~bpo13+1", "7.3.4-1~bpo13+1"},
		{"7.3.4-1~bpo13+1", "7.3.10-1~bpo13+1"}, // numeric, not lexical
		{"6.19.13-1~bpo13+1", "7.2.6-1~bpo13+1"},
		{"1.0~rc1", "1.0"},
		{"1.0~~", "1.0~"},
		{"1.0~", "1.0"},
		{"1.0", "1.0a"},
		{"1.0a", "1.0+"}, // letters sort before other characters
		{"1.0", "1.0.1"},
		{"1.0-1", "1.0-1.1"},
		{"1.0-1", "1.0-2"},
		{"1.0-9", "1.0-10"},
		{"9.9", "1:0.1"}, // the epoch wins
		{"1:9.9", "2:0.1"},
		{"1.0", "1.0-0.1"},
		{"2.30-4", "2.30-4+b1"},
		{"1.2.3", "1.2.3.0"},
		{"a", "b"},
		{"", "0.1"},
	}
	for _, p := range less {
		if got := CompareVersions(p[0], p[1]); got != -1 {
			t.Errorf("CompareVersions(%q, %q) = %d, want -1", p[0], p[1], got)
		}
		if got := CompareVersions(p[1], p[0]); got != 1 {
			t.Errorf("CompareVersions(%q, %q) = %d, want 1", p[1], p[0], got)
		}
	}
	equal := [][2]string{
		{"7.3.4-1~bpo13+1", "7.3.4-1~bpo13+1"},
		{"1.0", "1.00"},      // leading zeros of numbers do not count
		{"0:1.0", "1.0"},     // a missing epoch is 0
		{"1.0-0", "1.0"},     // a missing revision is like "0"
		{"01:1.0", "1:1.0"},  // the epoch is a number too
		{"1.0-1", " 1.0-1 "}, // stray white space
		{"1.001", "1.1"},
	}
	for _, p := range equal {
		if got := CompareVersions(p[0], p[1]); got != 0 {
			t.Errorf("CompareVersions(%q, %q) = %d, want 0", p[0], p[1], got)
		}
	}
}
