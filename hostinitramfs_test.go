package ktstr

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadSchedulerBinary checks that a scheduler that cannot run in the
// guest is refused on the host, before any VM boots, with a clear reason.
func TestBadSchedulerBinary(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "sched.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	noexec := filepath.Join(dir, "noexec")
	self, _ := os.Executable()
	data, _ := os.ReadFile(self)
	if err := os.WriteFile(noexec, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, want string }{
		{filepath.Join(dir, "missing"), "does not exist"},
		{script, "script"},
		{noexec, "not executable"},
		{dir, "directory"},
	} {
		_, err := initramfsBuilder(Scheduler{Path: c.path})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "scheduler") {
			t.Errorf("scheduler %s: error %v; want one naming the scheduler and saying %q", c.path, err, c.want)
		}
	}
}

// TestInitramfsHasTheTestBinaryAsInit checks the archive's layout: the test
// binary as /init with its libraries, and the scheduler under /ktstr/bin.
func TestInitramfsHasTheTestBinaryAsInit(t *testing.T) {
	sh, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Skip("no /bin/sh")
	}
	b, err := initramfsBuilder(Scheduler{Path: sh})
	if err != nil {
		t.Fatal(err)
	}
	r, err := writeInitramfs(b, filepath.Join(t.TempDir(), "a.cpio"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(r.path)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"init\x00", "ktstr/bin/" + filepath.Base(sh) + "\x00", "TRAILER!!!\x00"} {
		if !strings.Contains(string(data), name) {
			t.Errorf("archive lacks %q", strings.TrimSuffix(name, "\x00"))
		}
	}
}
