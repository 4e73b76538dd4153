package cachedir

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.json")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, 0o644, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	fi, _ := os.Stat(path)
	if string(b) != "new" || fi.Mode().Perm() != 0o644 {
		t.Errorf("file %q mode %v, want \"new\" 0644", b, fi.Mode().Perm())
	}

	// A writer that fails leaves the old file and no temporary.
	boom := errors.New("boom")
	err := WriteFile(path, 0o644, func(w io.Writer) error { io.WriteString(w, "part"); return boom })
	if !errors.Is(err, boom) {
		t.Errorf("error %v, want the writer's", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Errorf("a failed write changed the file to %q", b)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("files left: %v", ents)
	}

	if err := WriteFile(filepath.Join(dir, "missing", "r"), 0o644, func(io.Writer) error { return nil }); err == nil {
		t.Error("no error for a missing directory")
	}
}

func TestIsTempFile(t *testing.T) {
	for name, want := range map[string]bool{".r.json.tmp-123": true, "r.json": false, ".hidden": false, "a.tmp-1": false} {
		if IsTempFile(name) != want {
			t.Errorf("IsTempFile(%q) = %v", name, !want)
		}
	}
}
