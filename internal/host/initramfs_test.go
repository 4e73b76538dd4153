package host

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ktstr-go/ktstr/internal/initramfs"
	"github.com/ktstr-go/ktstr/internal/layout"
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
	sh := hostShell(t)
	b, err := initramfsBuilder(Scheduler{Path: sh})
	if err != nil {
		t.Fatal(err)
	}
	archiveHas(t, b, "init\x00", "ktstr/bin/"+filepath.Base(sh)+"\x00", "TRAILER!!!\x00")
}

// hostShell returns the host's /bin/sh, a dynamically linked ELF binary
// to pack, or skips the test.
func hostShell(t *testing.T) string {
	t.Helper()
	sh, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Skip("no /bin/sh")
	}
	return sh
}

// archiveHas writes b's archive and checks that it holds every string of
// want: an entry name ending in NUL, or file content.
func archiveHas(t *testing.T, b *initramfs.Builder, want ...string) {
	t.Helper()
	r, err := writeInitramfs(b, filepath.Join(t.TempDir(), "a.cpio"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(r.path)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if !strings.Contains(string(data), w) {
			t.Errorf("archive lacks %q", strings.TrimSuffix(w, "\x00"))
		}
	}
}

// TestSchedulerFilesPacked checks that a scheduler's Files land at their
// guest paths: a file with its mode, a directory whole with the links in
// it, and the kernel configuration where the guest links /boot to it.
func TestSchedulerFilesPacked(t *testing.T) {
	sh := hostShell(t)
	dir := t.TempDir()
	write := func(name, data string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("mysched.toml", "slice_us = 5000\n", 0o600)
	write("data/layers/a.json", `{"a": 1}`, 0o644)
	if err := os.Symlink("a.json", filepath.Join(dir, "data/layers/current")); err != nil {
		t.Fatal(err)
	}
	kconfig := write("config", "CONFIG_SCHED_CLASS_EXT=y\n", 0o644)
	s := Scheduler{Path: sh, Files: map[string]string{
		"/etc/mysched.toml": "mysched.toml", // relative to the working directory
		"/opt/mysched":      "data",
	}}
	t.Chdir(dir)
	b, err := initramfsBuilder(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.AddFile(layout.Archive(layout.KernelConfig), kconfig, 0o644); err != nil {
		t.Fatal(err)
	}
	archiveHas(t, b, "etc/mysched.toml\x00", "slice_us = 5000", "opt/mysched/layers/a.json\x00", `{"a": 1}`,
		"opt/mysched/layers/current\x00", "ktstr/kernel.config\x00", "CONFIG_SCHED_CLASS_EXT=y")
}

// TestSchedulerFilesErrors checks that a file the host cannot pack is
// refused before any VM boots, naming the scheduler, the entry and why.
// (Guest paths are checked earlier, by package ktstr's Spec validation.)
func TestSchedulerFilesErrors(t *testing.T) {
	sh := hostShell(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		guest, host string
		want        []string
	}{
		{"/etc/a.toml", filepath.Join(dir, "missing.toml"), []string{`scheduler mysched: Files["/etc/a.toml"] = "` + dir + `/missing.toml"`, "no such file"}},
		{"/etc/fifo", fifo, []string{`Files["/etc/fifo"]`, "not a regular file, directory or symbolic link"}},
	} {
		_, err := initramfsBuilder(Scheduler{Name: "mysched", Path: sh, Files: map[string]string{c.guest: c.host}})
		if err == nil {
			t.Errorf("%s: no error", c.guest)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", c.guest, err, w)
			}
		}
	}
}

// BenchmarkInitramfs measures building the guest's initramfs (the test
// binary and its libraries): cold writes a new archive every time, cached is
// what every further variant of a run pays (a digest over file metadata).
func BenchmarkInitramfs(b *testing.B) {
	b.Run("cold", func(b *testing.B) {
		dir := b.TempDir()
		for range b.N {
			ib, err := initramfsBuilder(Scheduler{})
			if err != nil {
				b.Fatal(err)
			}
			r, err := writeInitramfs(ib, filepath.Join(dir, "a.cpio"))
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(r.size)
		}
	})
	b.Run("cached", func(b *testing.B) {
		if _, err := buildInitramfs(Scheduler{}, "", nil); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for range b.N {
			if _, err := buildInitramfs(Scheduler{}, "", nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
