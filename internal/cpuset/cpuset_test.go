package cpuset

import (
	"slices"
	"strings"
	"testing"
	"unicode"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want []int
	}{
		{"", nil},
		{" \n", nil},
		{"0", []int{0}},
		{"7\n", []int{7}}, // as read from sysfs
		{"0-3", []int{0, 1, 2, 3}},
		{"2-2", []int{2}},
		{"0-3,5,7-9", []int{0, 1, 2, 3, 5, 7, 8, 9}},
		{"5,1,3", []int{1, 3, 5}},      // unsorted
		{"8-9,0-1", []int{0, 1, 8, 9}}, // unsorted ranges
		{"1,1,0-2,2", []int{0, 1, 2}},  // duplicates
		{"0-4,2-6", seq(0, 7)},         // overlapping ranges
		{" 0 , 2-3 ", []int{0, 2, 3}},  // spaces around items
		{"0-127", seq(0, 128)},         // a large machine
		{"286-287", []int{286, 287}},   // q35's highest CPU ids
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Parse(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in   string
		want string // in the error, besides the input
	}{
		{"3-1", `bad range "3-1"`},
		{"0,5-4", `bad range "5-4"`},
		{"a", `bad CPU "a"`},
		{"-1", `bad CPU ""`},
		{"1-", `bad range "1-"`},
		{"1-a", `bad range "1-a"`},
		{"1-2-3", `bad range "1-2-3"`},
		{"1,,2", `bad CPU ""`},
		{",", `bad CPU ""`},
		{"0,", `bad CPU ""`},
		{"1 2", `bad CPU "1 2"`},
		{"0x3", `bad CPU "0x3"`},
		{"1.5", `bad CPU "1.5"`},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err == nil {
			t.Errorf("Parse(%q) = %v, want an error", tt.in, got)
			continue
		}
		// The error quotes the whole list, then the bad part.
		if !strings.Contains(err.Error(), `cpu list "`+tt.in+`"`) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) error %q, want the list and %s", tt.in, err, tt.want)
		}
		if got != nil {
			t.Errorf("Parse(%q) returned %v with its error", tt.in, got)
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		in   []int
		want string
	}{
		{nil, ""},
		{[]int{}, ""},
		{[]int{0}, "0"},
		{[]int{0, 1}, "0-1"}, // as Linux writes two adjacent CPUs
		{[]int{0, 1, 2, 5}, "0-2,5"},
		{[]int{0, 2, 4}, "0,2,4"},
		{[]int{5, 0, 2, 1}, "0-2,5"},  // unsorted
		{[]int{3, 3, 1, 2, 1}, "1-3"}, // duplicates
		{[]int{0, 1, 2, 3, 8, 9, 10, 15}, "0-3,8-10,15"},
		{seq(0, 288), "0-287"},
	}
	for _, tt := range tests {
		in := slices.Clone(tt.in)
		if got := Format(in); got != tt.want {
			t.Errorf("Format(%v) = %q, want %q", tt.in, got, tt.want)
		}
		if !slices.Equal(in, tt.in) {
			t.Errorf("Format(%v) modified its argument to %v", tt.in, in)
		}
	}
}

// maxFuzzDigits bounds the CPU ids FuzzRoundTrip feeds Parse: Parse expands
// every range into a slice, so "0-99999999999" would exhaust memory, and a CPU
// id near math.MaxInt makes its loop overflow and never end.
const maxFuzzDigits = 5

// FuzzRoundTrip checks that whatever Parse accepts comes back sorted and
// distinct, and that Format writes it in a canonical form Parse reads back
// to the same CPUs.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{
		"", "0", "0-3", "0-3,5,7-9", "5,1,3", "1,1,0-2", "0-4,2-6", " 0 , 2-3 \n",
		"3-1", "a", "-1", "1-", ",", "1-2-3", "0-0", "0,2,4,6", "0-287",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		digits := 0
		for _, r := range s {
			if unicode.IsDigit(r) {
				if digits++; digits > maxFuzzDigits {
					t.Skip("CPU id too large to expand")
				}
			} else {
				digits = 0
			}
		}
		cpus, err := Parse(s)
		if err != nil {
			return
		}
		if !slices.IsSorted(cpus) || len(slices.Compact(slices.Clone(cpus))) != len(cpus) {
			t.Fatalf("Parse(%q) = %v: not sorted and distinct", s, cpus)
		}
		for _, c := range cpus {
			if c < 0 {
				t.Fatalf("Parse(%q) = %v: negative CPU", s, cpus)
			}
		}
		formatted := Format(cpus)
		back, err := Parse(formatted)
		if err != nil {
			t.Fatalf("Parse(Format(Parse(%q))) = Parse(%q): %v", s, formatted, err)
		}
		if !slices.Equal(back, cpus) {
			t.Fatalf("Parse(%q) = %v, but Parse(Format(...) = %q) = %v", s, cpus, formatted, back)
		}
		if again := Format(back); again != formatted {
			t.Fatalf("Format is not canonical: %q then %q", formatted, again)
		}
	})
}

func seq(from, n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = from + i
	}
	return s
}
