// Package kconfig reads and edits kernel configuration text: a kernel's
// .config and config fragments (lines of CONFIG_NAME=value and
// "# CONFIG_NAME is not set"). It merges the fragment ktstr needs into a
// config, checks what Kconfig made of it, and tells what an option depends
// on. Everything here works on text; running make is the caller's part.
package kconfig

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
)

// Setting is one option as a config or fragment sets it.
type Setting struct {
	// Name is the option without the CONFIG_ prefix, e.g. "SCHED_CLASS_EXT".
	Name string
	// Value is as written: "y", "m", "250", a string with its quotes; "n"
	// for "# CONFIG_NAME is not set" (and for an explicit =n).
	Value string
}

// Line returns the setting as a config line.
func (s Setting) Line() string {
	if s.Value == "n" {
		return "# CONFIG_" + s.Name + " is not set"
	}
	return "CONFIG_" + s.Name + "=" + s.Value
}

// parseLine returns the setting a config line makes, if any.
func parseLine(line string) (Setting, bool) {
	line = strings.TrimSpace(line)
	if rest, ok := strings.CutPrefix(line, "# CONFIG_"); ok {
		name, found := strings.CutSuffix(rest, " is not set")
		if found && validName(name) {
			return Setting{Name: name, Value: "n"}, true
		}
		return Setting{}, false
	}
	rest, ok := strings.CutPrefix(line, "CONFIG_")
	if !ok {
		return Setting{}, false
	}
	name, value, ok := strings.Cut(rest, "=")
	if !ok || !validName(name) {
		return Setting{}, false
	}
	return Setting{Name: name, Value: value}, true
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// lines calls f for each line of text.
func lines(text []byte, f func(string)) {
	sc := bufio.NewScanner(bytes.NewReader(text))
	// Some string options (e.g. CONFIG_CMDLINE) can be long.
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		f(sc.Text())
	}
}

// Parse returns the settings of text in order; comments and blank lines
// are skipped. An option set twice appears twice; as in Kconfig, the
// later line wins (see Values).
func Parse(text []byte) []Setting {
	var out []Setting
	lines(text, func(l string) {
		if s, ok := parseLine(l); ok {
			out = append(out, s)
		}
	})
	return out
}

// Values maps each option text sets to its value, the last line winning.
func Values(text []byte) map[string]string {
	m := map[string]string{}
	for _, s := range Parse(text) {
		m[s.Name] = s.Value
	}
	return m
}

// Value looks key up in config text. The CONFIG_ prefix may be omitted. It
// returns the value as written ("y", "m", "250", or a string with its
// quotes) and true, or "" and false when the option is absent, "n" or "#
// CONFIG_... is not set".
//
// It scans for the one option rather than building [Values]: a
// distribution's config has over 10,000 lines, and a test binary reads
// CONFIG_HZ on every boot (the map cost about 18 ms of it).
func Value(config []byte, key string) (string, bool) {
	name := []byte(strings.TrimPrefix(key, "CONFIG_"))
	v, found := "", false
	for line := range bytes.Lines(config) {
		if !bytes.Contains(line, name) {
			continue
		}
		if s, ok := parseLine(string(line)); ok && s.Name == string(name) {
			v, found = s.Value, true // the later line wins
		}
	}
	if !found || v == "n" {
		return "", false
	}
	return v, true
}

// Enabled reports whether a bool or tristate option is built in ("y").
func Enabled(config []byte, key string) bool {
	v, ok := Value(config, key)
	return ok && v == "y"
}

// Merge writes fragment over base: every line of base that sets an option
// the fragment sets is dropped, and the fragment's settings are appended,
// as the kernel's scripts/kconfig/merge_config.sh does. The result still
// needs `make olddefconfig` to resolve dependencies and defaults, after
// which Check tells what did not hold.
func Merge(base, fragment []byte) []byte {
	frag := Parse(fragment)
	set := map[string]bool{}
	for _, s := range frag {
		set[s.Name] = true
	}
	var b bytes.Buffer
	lines(base, func(l string) {
		if s, ok := parseLine(l); ok && set[s.Name] {
			return
		}
		b.WriteString(l)
		b.WriteByte('\n')
	})
	b.WriteString("# ktstr: the sched_ext fragment\n")
	// One line per option, in the order of first mention, with the value
	// of its last line: what Kconfig would make of the fragment alone.
	final := Values(fragment)
	for _, s := range frag {
		if v, ok := final[s.Name]; ok {
			b.WriteString(Setting{s.Name, v}.Line())
			b.WriteByte('\n')
			delete(final, s.Name)
		}
	}
	return b.Bytes()
}

// Mismatch is a fragment option that did not end as the fragment asked.
type Mismatch struct {
	// Name is the option, without CONFIG_.
	Name string
	// Want is the fragment's value; Got the final config's, "n" when
	// the option is not set or absent.
	Want, Got string
	// Absent reports that the final config does not mention the option
	// at all: its dependencies failed, or this kernel has no such option.
	Absent bool
}

// Check compares the final config (after make olddefconfig) with what
// fragment asked and returns every option that differs, in the fragment's
// order. An option absent from the config counts as "n".
func Check(final, fragment []byte) []Mismatch {
	got := Values(final)
	want := Values(fragment)
	var out []Mismatch
	seen := map[string]bool{}
	for _, s := range Parse(fragment) {
		if seen[s.Name] {
			continue
		}
		seen[s.Name] = true
		w := want[s.Name]
		g, ok := got[s.Name]
		if !ok {
			g = "n"
		}
		if g != w {
			out = append(out, Mismatch{Name: s.Name, Want: w, Got: g, Absent: !ok})
		}
	}
	return out
}

// Hash identifies a config by its settings: the SHA-256, in hex, of every
// option set to something other than n, one "CONFIG_NAME=value" line each,
// sorted. Comments, blank lines and the order of lines do not change it.
func Hash(config []byte) string {
	var set []string
	for name, v := range Values(config) {
		if v != "n" {
			set = append(set, "CONFIG_"+name+"="+v)
		}
	}
	slices.Sort(set)
	h := sha256.New()
	for _, l := range set {
		h.Write([]byte(l + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}
