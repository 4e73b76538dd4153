package image

import (
	"bufio"
	"bytes"
	"strings"
)

// ConfigHas looks key up in kconfig text (a kernel's .config). The CONFIG_
// prefix may be omitted. It returns the value as written ("y", "m", "250",
// or a string with its quotes) and true, or "" and false when the option is
// absent or "# CONFIG_... is not set".
func ConfigHas(config []byte, key string) (value string, ok bool) {
	if !strings.HasPrefix(key, "CONFIG_") {
		key = "CONFIG_" + key
	}
	prefix := []byte(key + "=")
	unset := []byte("# " + key + " is not set")
	sc := bufio.NewScanner(bytes.NewReader(config))
	// Some string options (e.g. CONFIG_CMDLINE) can be long.
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if v, found := bytes.CutPrefix(line, prefix); found {
			value, ok = string(v), true // a later line overrides, as in kconfig
		} else if bytes.Equal(line, unset) {
			value, ok = "", false
		}
	}
	if value == "n" {
		return "", false
	}
	return value, ok
}

// ConfigEnabled reports whether a bool or tristate option is built in ("y").
func ConfigEnabled(config []byte, key string) bool {
	v, ok := ConfigHas(config, key)
	return ok && v == "y"
}
