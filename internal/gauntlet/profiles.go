package gauntlet

import (
	"fmt"
	"strings"
)

// Flag is one scheduler flag the gauntlet can switch on: its name (used in
// profile names, so no '+', '/' or spaces), the scheduler arguments it adds,
// and the names of other flags it only makes sense with (steal requires llc).
type Flag struct {
	Name     string
	Args     []string
	Requires []string
}

// Profile is one set of active flags, in declaration order. Profiles made
// by [Profiles] also carry the flags' arguments; a Profile built by hand has
// a Name but no Args.
type Profile struct {
	Flags []string
	args  []string
}

// Name is the flags joined by "+" ("llc+steal"), or "default" when no flag
// is active. It is a path element of gauntlet subtest names; note that Go's
// -run treats '+' as a regular-expression operator, so select such a
// subtest with `llc\+steal`.
func (p Profile) Name() string {
	if len(p.Flags) == 0 {
		return "default"
	}
	return strings.Join(p.Flags, "+")
}

// Args is the concatenation of the active flags' arguments in declaration
// order: what is appended to the scheduler's command line.
func (p Profile) Args() []string { return append([]string(nil), p.args...) }

// Has reports whether flag is active in p.
func (p Profile) Has(flag string) bool {
	for _, f := range p.Flags {
		if f == flag {
			return true
		}
	}
	return false
}

// MaxOptionalFlags is the most optional flags (declared − required −
// excluded) Profiles enumerates. The profile count is 2^optional, and every
// profile multiplies with every preset and kernel: 16 optional flags already
// make 65 536 profiles, over 1.5 million variants across the 24 presets,
// far more than any run or budget can use. Past that, require or exclude
// flags to narrow the gauntlet.
const MaxOptionalFlags = 16

// maxFlags is the bitmask width used for flag sets.
const maxFlags = 64

// Profiles returns the gauntlet's flag profiles for a scheduler declaring
// flags: every subset of the optional flags (all − required − excluded),
// each with the required flags added, kept only when every flag's Requires
// are in the set. Flags within a profile are in declaration order; profiles
// are ordered by the set read as a binary number whose least significant bit
// is the first declared flag (the reference's power-set enumeration), so
// "default" (or the required flags alone) comes first.
//
// Errors: a declared flag with an empty, duplicate or unusable name
// ("default", or containing '+', '/' or white space) or requiring an
// undeclared flag; a required or excluded name that is not declared; a flag
// both required and excluded; more than MaxOptionalFlags optional flags;
// and no profile at all (a required flag needs an excluded one).
//
// Example: the reference's six flags llc, borrow, steal (requires llc),
// rebal, reject-pin, no-ctrl give 2^6 = 64 subsets, 16 of which have steal
// without llc: 48 profiles.
func Profiles(flags []Flag, required, excluded []string) ([]Profile, error) {
	if len(flags) > maxFlags {
		return nil, fmt.Errorf("flags: %d declared, at most %d supported", len(flags), maxFlags)
	}
	index := make(map[string]int, len(flags))
	for i, f := range flags {
		if err := checkFlagName(f.Name); err != nil {
			return nil, err
		}
		if _, dup := index[f.Name]; dup {
			return nil, fmt.Errorf("flag %q declared twice", f.Name)
		}
		index[f.Name] = i
	}
	needs := make([]uint64, len(flags))
	for i, f := range flags {
		for _, r := range f.Requires {
			j, ok := index[r]
			if !ok {
				return nil, fmt.Errorf("flag %q requires %q, which is not a declared flag (declared: %s)", f.Name, r, declared(flags))
			}
			needs[i] |= 1 << j
		}
	}
	mask := func(what string, names []string) (uint64, error) {
		var m uint64
		for _, n := range names {
			j, ok := index[n]
			if !ok {
				return 0, fmt.Errorf("%s flag %q is not a declared flag (declared: %s)", what, n, declared(flags))
			}
			m |= 1 << j
		}
		return m, nil
	}
	req, err := mask("required", required)
	if err != nil {
		return nil, err
	}
	exc, err := mask("excluded", excluded)
	if err != nil {
		return nil, err
	}
	if both := req & exc; both != 0 {
		return nil, fmt.Errorf("flag %q is both required and excluded", flags[lowestBit(both)].Name)
	}
	all := uint64(1)<<len(flags) - 1
	if len(flags) == maxFlags {
		all = ^uint64(0)
	}
	var optional []int // declared indices, ascending
	for i := range flags {
		if (all&^req&^exc)&(1<<i) != 0 {
			optional = append(optional, i)
		}
	}
	if len(optional) > MaxOptionalFlags {
		return nil, fmt.Errorf("%d optional flags (declared − required − excluded) would make 2^%d profiles per preset and kernel; at most %d are enumerated, so require or exclude some", len(optional), len(optional), MaxOptionalFlags)
	}
	var out []Profile
	for m := uint64(0); m < 1<<len(optional); m++ {
		set := req
		for b, i := range optional {
			if m&(1<<b) != 0 {
				set |= 1 << i
			}
		}
		if !closed(set, needs) {
			continue
		}
		var p Profile
		for i, f := range flags {
			if set&(1<<i) != 0 {
				p.Flags = append(p.Flags, f.Name)
				p.args = append(p.args, f.Args...)
			}
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no flag profile satisfies the requirements: a required flag needs (directly or through others) an excluded flag (required %v, excluded %v)", required, excluded)
	}
	return out, nil
}

// closed reports whether every flag in set has its requirements in set.
func closed(set uint64, needs []uint64) bool {
	for i, n := range needs {
		if set&(1<<i) != 0 && n&^set != 0 {
			return false
		}
	}
	return true
}

func lowestBit(m uint64) int {
	for i := 0; i < 64; i++ {
		if m&(1<<i) != 0 {
			return i
		}
	}
	return -1
}

func checkFlagName(n string) error {
	switch {
	case n == "":
		return fmt.Errorf("flag with an empty name")
	case n == "default":
		return fmt.Errorf(`flag name "default" is reserved for the profile with no flags`)
	case strings.ContainsAny(n, "+/ \t\r\n"):
		return fmt.Errorf("flag name %q contains '+', '/' or white space; it must fit in a profile name such as llc+steal", n)
	}
	return nil
}

func declared(flags []Flag) string {
	if len(flags) == 0 {
		return "none"
	}
	names := make([]string, len(flags))
	for i, f := range flags {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}
