package cachedir

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// names lists a directory, hidden entries included.
func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// fill makes a temporary directory for entry name in dir holding one file,
// "data", with content.
func fill(t *testing.T, dir, name, content string) string {
	t.Helper()
	tmp, err := NewTemp(dir, name)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "data"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return tmp
}

func readData(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name, "data"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestValidName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"debian-7.3.4+deb13-amd64", true},
		{"7.3.4+deb13-amd64", true},
		{"a", true},
		{"a..b", true},
		{"", false},
		{".", false},
		{"..", false},
		{".hidden", false},
		{TempPrefix + "x", false},
		{".old-x", false},
		{"a/b", false},
		{"../x", false},
		{"/abs", false},
		{`a\b`, false},
		{"a\x00b", false},
	} {
		if got := ValidName(tc.name); got != tc.ok {
			t.Errorf("ValidName(%q) = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

func TestInstallEmpty(t *testing.T) {
	dir := t.TempDir()
	tmp := fill(t, dir, "k", "new")
	if fi, _ := os.Stat(tmp); fi.Mode().Perm() != 0o700 {
		t.Fatalf("NewTemp made mode %v; the test expects a private directory", fi.Mode().Perm())
	}
	called := false
	if err := Install(dir, tmp, "k", func() bool { called = true; return true }); err != nil {
		t.Fatal(err)
	}
	if called {
		t.Error("keepExisting was asked with no existing entry")
	}
	if got := readData(t, dir, "k"); got != "new" {
		t.Errorf("entry holds %q", got)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "k")); fi.Mode().Perm() != 0o755 {
		t.Errorf("entry mode %v, want 0755", fi.Mode().Perm())
	}
	if got := names(t, dir); !slices.Equal(got, []string{"k"}) {
		t.Errorf("dir holds %v, want the entry alone", got)
	}
}

func TestInstallReplaces(t *testing.T) {
	dir := t.TempDir()
	for _, keep := range []func() bool{nil, func() bool { return false }} {
		if err := Install(dir, fill(t, dir, "k", "old"), "k", nil); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "k", "stale"), nil, 0o644)
		if err := Install(dir, fill(t, dir, "k", "new"), "k", keep); err != nil {
			t.Fatal(err)
		}
		if got := readData(t, dir, "k"); got != "new" {
			t.Errorf("entry holds %q after replacing, want %q", got, "new")
		}
		if got := names(t, filepath.Join(dir, "k")); !slices.Equal(got, []string{"data"}) {
			t.Errorf("entry holds %v; the old entry's files leaked in", got)
		}
		if got := names(t, dir); !slices.Equal(got, []string{"k"}) {
			t.Errorf("dir holds %v, want the entry alone (no .old- dir)", got)
		}
		os.RemoveAll(filepath.Join(dir, "k"))
	}
}

func TestInstallKeepExisting(t *testing.T) {
	dir := t.TempDir()
	if err := Install(dir, fill(t, dir, "k", "first"), "k", nil); err != nil {
		t.Fatal(err)
	}
	tmp := fill(t, dir, "k", "second")
	called := false
	if err := Install(dir, tmp, "k", func() bool { called = true; return true }); err != nil {
		t.Fatal(err)
	}
	if !called {
		t.Error("keepExisting was not asked")
	}
	if got := readData(t, dir, "k"); got != "first" {
		t.Errorf("entry holds %q, want the existing one kept", got)
	}
	// The caller owns tmp: Install leaves it for the caller's RemoveAll.
	if _, err := os.Stat(tmp); err != nil {
		t.Errorf("temporary directory: %v", err)
	}
}

func TestInstallErrors(t *testing.T) {
	dir := t.TempDir()
	err := Install(dir, filepath.Join(dir, TempPrefix+"gone"), "k", nil)
	var ce *Error
	if !errors.As(err, &ce) || ce.Op != OpChmod || ce.Path != filepath.Join(dir, "k") || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Install of a missing tmp = %#v", err)
	}
	// A file where the entry's parent should be: the rename fails and
	// nothing stands at the final path.
	tmp := fill(t, dir, "k", "x")
	err = Install(filepath.Join(dir, "missing"), tmp, "k", nil)
	if !errors.As(err, &ce) || ce.Op != OpMove || !strings.Contains(err.Error(), "move into place") {
		t.Errorf("Install into a missing dir = %v", err)
	}
}

// TestInstallRace has writers install the same name at once, the way
// concurrent fetches of one kernel do (keepExisting says the entry is the
// same): every one succeeds and one entry remains, with nothing else left
// once each caller removes its tmp.
func TestInstallRace(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		tmp := fill(t, dir, "k", "same")
		wg.Go(func() {
			defer os.RemoveAll(tmp)
			<-start
			errs[i] = Install(dir, tmp, "k", func() bool { return true })
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Install #%d: %v", i, err)
		}
	}
	if got := names(t, dir); !slices.Equal(got, []string{"k"}) {
		t.Errorf("dir holds %v, want the entry alone", got)
	}
	if got := readData(t, dir, "k"); got != "same" {
		t.Errorf("entry holds %q", got)
	}
}

func TestSweep(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-2 * time.Hour)
	young := time.Now().Add(-time.Minute)
	for _, d := range []struct {
		name string
		at   time.Time
	}{
		{TempPrefix + "k-1", old},
		{TempPrefix + "k-2", young},
		{oldPrefix + "k-3", old},
		{oldPrefix + "k-4", young},
		{"entry", old},
		{".other", old},
	} {
		p := filepath.Join(dir, d.name)
		if err := os.MkdirAll(filepath.Join(p, "sub"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, d.at, d.at); err != nil {
			t.Fatal(err)
		}
	}
	Sweep(dir)
	want := []string{".old-k-4", ".other", ".tmp-k-2", "entry"}
	if got := names(t, dir); !slices.Equal(got, want) {
		t.Errorf("after Sweep: %v, want %v (stale temp dirs gone, young ones and others kept)", got, want)
	}
	Sweep(filepath.Join(dir, "missing")) // must not panic
}

type meta struct {
	Name string    `json:"name"`
	At   time.Time `json:"at"`
}

func TestMetadata(t *testing.T) {
	dir := t.TempDir()
	want := meta{Name: "k", At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	if err := WriteMetadata(dir, &want); err != nil {
		t.Fatal(err)
	}
	js, _ := os.ReadFile(filepath.Join(dir, MetadataFile))
	if !strings.HasPrefix(string(js), "{\n  \"name\"") || !strings.HasSuffix(string(js), "}\n") {
		t.Errorf("metadata.json is not indented with a final newline: %q", js)
	}
	var got meta
	if err := ReadMetadata(dir, &got); err != nil || got != want {
		t.Errorf("ReadMetadata = %+v, %v; want %+v", got, err, want)
	}

	if err := ReadMetadata(filepath.Join(dir, "missing"), &got); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadMetadata of a missing dir = %v, want ErrNotExist", err)
	}
	os.WriteFile(filepath.Join(dir, MetadataFile), []byte("{"), 0o644)
	if err := ReadMetadata(dir, &got); err == nil || !strings.HasPrefix(err.Error(), filepath.Join(dir, MetadataFile)+": ") {
		t.Errorf("ReadMetadata of bad JSON = %v, want it to name the file", err)
	}

	var ce *Error
	if err := WriteMetadata(filepath.Join(dir, "missing"), &want); !errors.As(err, &ce) || ce.Op != OpWrite {
		t.Errorf("WriteMetadata into a missing dir = %v, want an OpWrite *Error", err)
	}
	if err := WriteMetadata(dir, meta{At: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}); err == nil || !strings.HasPrefix(err.Error(), "encode metadata: ") {
		t.Errorf("WriteMetadata of an unencodable value = %v", err)
	}
}

func TestList(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for name, m := range map[string]meta{
		"a": {Name: "a", At: at},
		"b": {Name: "b", At: at.Add(time.Hour)},
		"c": {Name: "c", At: at},
	} {
		os.Mkdir(filepath.Join(dir, name), 0o755)
		if err := WriteMetadata(filepath.Join(dir, name), &m); err != nil {
			t.Fatal(err)
		}
	}
	// Listed as broken: an entry without metadata. Skipped: a temporary
	// dir with good metadata, a file.
	os.Mkdir(filepath.Join(dir, "broken"), 0o755)
	tmp, _ := NewTemp(dir, "d")
	WriteMetadata(tmp, &meta{Name: "d", At: at.Add(2 * time.Hour)})
	os.WriteFile(filepath.Join(dir, "file"), nil, 0o644)

	var readDir string
	read := func(d, name string) (*meta, error) {
		readDir = d
		var m meta
		if err := ReadMetadata(filepath.Join(d, name), &m); err != nil {
			return nil, err
		}
		return &m, nil
	}
	newest := func(a, b meta) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	}
	var brokenErr error
	broken := func(d, name string, err error) meta {
		brokenErr = err
		return meta{Name: name + " (broken)"}
	}
	got, err := List(dir, read, broken, newest)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, m := range got {
		order = append(order, m.Name)
	}
	if want := []string{"b", "a", "c", "broken (broken)"}; !slices.Equal(order, want) {
		t.Errorf("List = %v, want %v", order, want)
	}
	if readDir != dir {
		t.Errorf("read was given dir %q, want %q", readDir, dir)
	}
	if !errors.Is(brokenErr, fs.ErrNotExist) {
		t.Errorf("broken was given %v, want read's not-exist error", brokenErr)
	}
	if got, err := List(filepath.Join(dir, "missing"), read, broken, newest); got != nil || err != nil {
		t.Errorf("List of a missing dir = %v, %v; want an empty cache", got, err)
	}
	if _, err := List(filepath.Join(dir, "file"), read, broken, newest); err == nil {
		t.Error("List of a file succeeded")
	}
}

func TestRemove(t *testing.T) {
	dir := t.TempDir()
	tmp := fill(t, dir, "k1", "one")
	if err := Install(dir, tmp, "k1", nil); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "k1", "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := Remove(dir, "k1"); err != nil {
		t.Fatal(err)
	}
	if got := names(t, dir); len(got) != 0 {
		t.Errorf("left in the cache after Remove: %q", got)
	}
	if b, err := io.ReadAll(f); err != nil || string(b) != "one" {
		t.Errorf("a file open before Remove reads %q, %v", b, err)
	}
	var ce *Error
	if err := Remove(dir, "k1"); !errors.As(err, &ce) || ce.Op != OpReplace || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Remove of a missing entry = %v; want an OpReplace error wrapping ErrNotExist", err)
	}
	if got := names(t, dir); len(got) != 0 {
		t.Errorf("a failed Remove left %q", got)
	}
}

func TestDirSize(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a"), make([]byte, 100), 0o644)
	os.Mkdir(filepath.Join(dir, "d"), 0o755)
	os.WriteFile(filepath.Join(dir, "d", "b"), make([]byte, 23), 0o644)
	os.Symlink("a", filepath.Join(dir, "link"))
	if n := DirSize(dir); n != 123 {
		t.Errorf("DirSize = %d, want 123 (links not counted)", n)
	}
	if n := DirSize(filepath.Join(dir, "missing")); n != 0 {
		t.Errorf("DirSize of a missing directory = %d", n)
	}
}
