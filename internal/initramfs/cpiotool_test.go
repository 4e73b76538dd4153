package initramfs

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemCpio checks archives with the system's cpio tool, an
// implementation independent of this package. It skips when cpio is not
// installed.
func TestSystemCpio(t *testing.T) {
	cpio, err := exec.LookPath("cpio")
	if err != nil {
		t.Skip("cpio is not installed; install it (apt-get install cpio) to check archives with an independent reader")
	}
	dir := t.TempDir()
	host := filepath.Join(dir, "host.bin")
	payload := bytes.Repeat([]byte{0, 1, 2, 3, 4, 5, 6}, 10001)
	if err := os.WriteFile(host, payload, 0o644); err != nil {
		t.Fatal(err)
	}
	// write builds the archive; the device node is left out of archives
	// that get extracted, since creating one needs privileges.
	write := func(withDev bool) string {
		var buf bytes.Buffer
		w := NewWriter(&buf)
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(w.Dir("etc", 0o750))
		must(w.File("etc/motd", 0o640, []byte("hello\n")))
		must(w.FileFrom("usr/lib/host.bin", 0o755, host))
		must(w.Symlink("lib", "usr/lib"))
		if withDev {
			must(w.CharDev("dev/null", 0o666, 1, 3))
		}
		must(w.Close())
		name := filepath.Join(dir, "archive.cpio")
		must(os.WriteFile(name, buf.Bytes(), 0o644))
		return name
	}

	list := exec.Command(cpio, "-itv")
	list.Stdin = openFile(t, write(true))
	out, err := list.CombinedOutput()
	if err != nil {
		t.Fatalf("cpio -itv: %v\n%s", err, out)
	}
	listing := string(out)
	for _, want := range []string{
		"drwxr-x---", " etc\n",
		"-rw-r-----", " etc/motd\n",
		"-rwxr-xr-x", " usr/lib/host.bin\n",
		"lrwxrwxrwx", " lib -> usr/lib\n",
		"crw-rw-rw-", "1,", "3", " dev/null\n",
		"drwxr-xr-x", " usr\n", " usr/lib\n", " dev\n",
		"blocks",
	} {
		if !strings.Contains(listing, want) {
			t.Errorf("cpio -itv output lacks %q:\n%s", want, listing)
		}
	}

	dest := filepath.Join(dir, "out")
	if err := os.Mkdir(dest, 0o755); err != nil {
		t.Fatal(err)
	}
	extract := exec.Command(cpio, "-id", "--no-absolute-filenames")
	extract.Dir = dest
	extract.Stdin = openFile(t, write(false))
	if out, err := extract.CombinedOutput(); err != nil {
		t.Fatalf("cpio -id: %v\n%s", err, out)
	}
	if got, err := os.ReadFile(filepath.Join(dest, "usr/lib/host.bin")); err != nil || !bytes.Equal(got, payload) {
		t.Errorf("extracted host.bin: %d bytes, err %v; want the %d-byte payload", len(got), err, len(payload))
	}
	if got, _ := os.ReadFile(filepath.Join(dest, "etc/motd")); string(got) != "hello\n" {
		t.Errorf("extracted etc/motd = %q", got)
	}
	if target, err := os.Readlink(filepath.Join(dest, "lib")); err != nil || target != "usr/lib" {
		t.Errorf("extracted lib -> %q, %v; want usr/lib", target, err)
	}
	if got, _ := os.ReadFile(filepath.Join(dest, "lib/host.bin")); !bytes.Equal(got, payload) {
		t.Error("lib/host.bin does not resolve through the symlink to the payload")
	}
	for name, want := range map[string]os.FileMode{
		"usr/lib/host.bin": 0o755,
		"etc/motd":         0o640,
	} {
		fi, err := os.Stat(filepath.Join(dest, name))
		if err != nil {
			t.Error(err)
			continue
		}
		if fi.Mode().Perm() != want {
			t.Errorf("extracted %s has mode %v, want %v", name, fi.Mode().Perm(), want)
		}
	}
}

// openFile opens name for reading and closes it when the test ends.
func openFile(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
