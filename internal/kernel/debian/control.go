package debian

import (
	"bytes"
	"strings"
)

// stanza is one paragraph of a Debian control-format file (Release,
// Packages, deb822 sources). Field names compare case-insensitively.
type stanza map[string]string

// get returns a field's value; continuation lines are joined with "\n".
func (s stanza) get(name string) string { return s[strings.ToLower(name)] }

// parseStanzas splits control-format data into paragraphs.
func parseStanzas(data []byte) []stanza {
	var out []stanza
	cur := stanza{}
	last := ""
	flush := func() {
		if len(cur) > 0 {
			out = append(out, cur)
		}
		cur, last = stanza{}, ""
	}
	// Split by hand rather than with bufio.Scanner, which has a line limit.
	for len(data) > 0 {
		var raw []byte
		raw, data, _ = bytes.Cut(data, []byte("\n"))
		line := strings.TrimRight(string(raw), "\r")
		switch {
		case strings.HasPrefix(line, "#"):
			// A comment (deb822 sources); Packages files have none.
		case strings.TrimSpace(line) == "":
			flush()
		case line[0] == ' ' || line[0] == '\t':
			if last != "" {
				cur[last] += "\n" + strings.TrimSpace(line)
			}
		default:
			name, value, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			last = strings.ToLower(strings.TrimSpace(name))
			cur[last] = strings.TrimSpace(value)
		}
	}
	flush()
	return out
}
