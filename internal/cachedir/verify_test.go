package cachedir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// entryWithFiles makes an entry directory with two files and the metadata
// file, and returns it with its record.
func entryWithFiles(t *testing.T) (string, Files) {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	for name, content := range map[string]string{
		"vmlinux":    strings.Repeat("kernel image ", 1000),
		"sub/config": "CONFIG_SCHED_CLASS_EXT=y\n",
		MetadataFile: "{}\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files, err := Record(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, files
}

func TestRecord(t *testing.T) {
	_, files := entryWithFiles(t)
	if len(files) != 2 {
		t.Fatalf("Record = %v, want vmlinux and sub/config (not the metadata)", files)
	}
	f := files["vmlinux"]
	if f.Size != 13000 || len(f.SHA256) != 64 || f.ModTime.IsZero() {
		t.Errorf("vmlinux recorded as %+v", f)
	}
	if _, ok := files["sub/config"]; !ok {
		t.Error("sub/config not recorded under its slash path")
	}
}

func TestVerifyIntact(t *testing.T) {
	dir, files := entryWithFiles(t)
	for _, full := range []bool{false, true} {
		if err := files.Verify(dir, full); err != nil {
			t.Errorf("Verify(full=%v) of an intact entry: %v", full, err)
		}
	}
}

// TestVerifyTruncated: a cut-short file is caught by the quick check.
func TestVerifyTruncated(t *testing.T) {
	dir, files := entryWithFiles(t)
	if err := os.Truncate(filepath.Join(dir, "vmlinux"), 100); err != nil {
		t.Fatal(err)
	}
	err := files.Verify(dir, false)
	if !IsDamaged(err) || !strings.Contains(err.Error(), "vmlinux: 100 bytes, 13000 when stored") {
		t.Fatalf("Verify = %v", err)
	}
}

// TestVerifyChangedContent: a file changed in place, its size and time
// kept, passes the quick check (which trusts size and time) and fails the
// full one; with its time changed too, the quick check hashes it and
// fails.
func TestVerifyChangedContent(t *testing.T) {
	dir, files := entryWithFiles(t)
	p := filepath.Join(dir, "vmlinux")
	b, _ := os.ReadFile(p)
	b[10] ^= 0xff
	os.WriteFile(p, b, 0o644)
	stored := files["vmlinux"].ModTime
	os.Chtimes(p, stored, stored)
	if err := files.Verify(dir, false); err != nil {
		t.Errorf("quick Verify with size and time kept: %v, want it to trust them", err)
	}
	err := files.Verify(dir, true)
	if !IsDamaged(err) || !strings.Contains(err.Error(), "vmlinux: content changed (SHA-256") {
		t.Errorf("full Verify = %v", err)
	}
	os.Chtimes(p, stored, stored.Add(time.Hour))
	if err := files.Verify(dir, false); !IsDamaged(err) {
		t.Errorf("quick Verify with the time changed = %v, want damage", err)
	}
}

// TestVerifyTouched: a file whose time changed but content did not (a copy
// without -p, a touch) is intact.
func TestVerifyTouched(t *testing.T) {
	dir, files := entryWithFiles(t)
	later := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(dir, "vmlinux"), later, later)
	if err := files.Verify(dir, false); err != nil {
		t.Errorf("Verify of a touched file: %v", err)
	}
}

func TestVerifyMissing(t *testing.T) {
	dir, files := entryWithFiles(t)
	os.Remove(filepath.Join(dir, "sub/config"))
	os.Truncate(filepath.Join(dir, "vmlinux"), 0)
	err := files.Verify(dir, false)
	d, ok := err.(*DamageError)
	if !ok || len(d.Problems) != 2 || d.Problems[0] != "sub/config: missing" || !strings.HasPrefix(d.Problems[1], "vmlinux: 0 bytes") {
		t.Fatalf("Verify = %#v", err)
	}
	if !strings.HasPrefix(err.Error(), dir+" is damaged: sub/config: missing; vmlinux: 0 bytes") {
		t.Errorf("message %q", err)
	}
}
