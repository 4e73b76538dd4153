package shell

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseInclude(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tool")
	if err := os.WriteFile(file, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	good := []struct{ in, guest string }{
		{file, "/include/tool"},
		{file + ":/opt/tool", "/opt/tool"},
		{dir + ":/data", "/data"},
	}
	for _, c := range good {
		got, err := ParseInclude(c.in)
		if err != nil || got.Guest != c.guest {
			t.Errorf("ParseInclude(%q) = %+v, %v; want guest path %s", c.in, got, err, c.guest)
		}
	}
	bad := []struct{ in, want string }{
		{"", "empty"},
		{filepath.Join(dir, "missing"), "no such file or directory on the host"},
		{dir, "a directory needs a guest path"},
		{file + ":", "empty guest path"},
		{file + ":rel/tool", "want a clean absolute path"},
		{file + ":/opt/../etc/x", "want a clean absolute path"},
		{file + ":/", "want a clean absolute path"},
		{file + ":/proc/tool", "/proc is reserved"},
		{file + ":/ktstr/bin/x", "/ktstr is reserved"},
		{file + ":/init", "the test binary"},
	}
	for _, c := range bad {
		_, err := ParseInclude(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseInclude(%q) = %v; want an error saying %q", c.in, err, c.want)
		}
	}
}

func TestFilesRefusesTwoAtOnePath(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, p := range []string{a, b} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files, err := Files([]Include{{Host: a, Guest: "/opt/a"}})
	if err != nil {
		t.Fatal(err)
	}
	if files["/opt/a"] != a || (files[guestBusybox] == "" && files["/bin/sh"] == "") {
		t.Errorf("Files = %v; want the include and a shell", files)
	}
	if _, err := Files([]Include{{Host: a, Guest: "/opt/x"}, {Host: b, Guest: "/opt/x"}}); err == nil || !strings.Contains(err.Error(), "both go to /opt/x") {
		t.Errorf("two includes at one path: %v", err)
	}
}

func TestArgsRoundTrip(t *testing.T) {
	a, err := decodeArgs(Args("echo hi", []Include{{Host: "/h/x", Guest: "/include/x"}}))
	if err != nil || a.Command != "echo hi" || len(a.Includes) != 1 || !strings.HasPrefix(a.Includes[0], "/include/x") {
		t.Errorf("round trip = %+v, %v", a, err)
	}
	if _, err := decodeArgs(nil); err == nil {
		t.Error("no arguments decoded without an error")
	}
}
