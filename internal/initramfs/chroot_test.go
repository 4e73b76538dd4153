package initramfs

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// extractNewc unpacks the entries parsed by readNewc into dir, the way the
// kernel unpacks an initramfs; device nodes are skipped.
func extractNewc(t *testing.T, archive []byte, dir string) {
	t.Helper()
	for _, e := range readNewc(t, archive) {
		p := filepath.Join(dir, e.name)
		perm := os.FileMode(e.mode & 0o777)
		var err error
		switch e.mode & modeTypeMask {
		case modeDir:
			err = os.Mkdir(p, perm)
		case modeRegular:
			err = os.WriteFile(p, e.data, perm)
		case modeSymlink:
			err = os.Symlink(string(e.data), p)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestBuilderRunsInChroot is the end-to-end check: binaries packed with
// their closures run in a chroot holding nothing but the unpacked archive,
// where, as in the guest, the loader has no ld.so.cache. It needs root
// and the chroot command.
func TestBuilderRunsInChroot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chroot needs root")
	}
	chroot, err := exec.LookPath("chroot")
	if err != nil {
		t.Skip("the chroot command is not installed")
	}
	dir := t.TempDir()
	writeFile(t, dir, "prog.c", mathProgram)
	gcc(t, dir, "-o", "math", "prog.c", "-Wl,--no-as-needed", "-lm")
	_, originProg := buildOriginTree(t, "--enable-new-dtags")

	b := NewBuilder()
	for archivePath, host := range map[string]string{
		"bin/sh":              systemBinary(t),
		"usr/bin/math":        filepath.Join(dir, "math"),
		"opt/sched/bin/prog":  originProg,
		"opt/other/bin/prog2": originProg,
	} {
		if err := b.AddBinary(archivePath, host); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := b.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	extractNewc(t, buf.Bytes(), root)

	probe := exec.Command(chroot, root, "/bin/sh", "-c", "exit 0")
	if out, err := probe.CombinedOutput(); err != nil && bytes.Contains(out, []byte("Operation not permitted")) {
		t.Skipf("chroot is not permitted here: %s", out)
	}

	// The chroot has no /proc, so the loader cannot read /proc/self/exe to
	// expand $ORIGIN and falls back to LD_ORIGIN_PATH. (In the guest,
	// mount /proc before running binaries that use $ORIGIN.)
	for _, run := range []struct{ bin, origin string }{
		{"/usr/bin/math", ""},
		{"/opt/sched/bin/prog", "/opt/sched/bin"},
		{"/opt/other/bin/prog2", "/opt/other/bin"},
	} {
		cmd := exec.Command(chroot, root, run.bin)
		cmd.Env = []string{} // no LD_LIBRARY_PATH from the host
		if run.origin != "" {
			cmd.Env = []string{"LD_ORIGIN_PATH=" + run.origin}
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%s in the chroot: %v\n%s", run.bin, err, out)
		}
	}
	// /bin/sh may be a symlink to dash or bash on the host; here it is
	// the real file, and it runs a command.
	cmd := exec.Command(chroot, root, "/bin/sh", "-c", "exit 7")
	cmd.Env = []string{}
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 7 {
		t.Errorf("/bin/sh -c 'exit 7' in the chroot: %v, want exit status 7", err)
	}
}
