package initramfs

import (
	"debug/elf"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadLdSoConf(t *testing.T) {
	dir := t.TempDir()
	conf := writeFile(t, dir, "ld.so.conf", "include conf.d/*.conf\n/opt/a # trailing comment\n# comment\n\nhwcap 0 nosegneg\n/opt/old=libc6\n")
	writeFile(t, dir, "conf.d/b.conf", "/opt/b/\n")
	writeFile(t, dir, "conf.d/a.conf", "\t/opt/c\n/opt/a\ninclude /nonexistent/*.conf\n")
	writeFile(t, dir, "conf.d/ignored.txt", "/opt/never\n")
	got, err := readLdSoConf(conf)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/opt/c", "/opt/a", "/opt/b", "/opt/old"}
	if !slices.Equal(got, want) {
		t.Errorf("readLdSoConf = %q, want %q", got, want)
	}

	if got, err := readLdSoConf(filepath.Join(dir, "missing.conf")); err != nil || got != nil {
		t.Errorf("missing conf: %q, %v; want nothing and no error", got, err)
	}

	loop := writeFile(t, dir, "loop/ld.so.conf", "include ld.so.conf\n")
	if _, err := readLdSoConf(loop); err == nil || !strings.Contains(err.Error(), "loop") {
		t.Errorf("include loop: %v, want an error about a loop", err)
	}

	// The host's own configuration must parse.
	if _, err := readLdSoConf(ldSoConf); err != nil {
		t.Errorf("reading this host's %s: %v", ldSoConf, err)
	}
}

func TestDefaultLibDirs(t *testing.T) {
	got := defaultLibDirs(machine{elf.ELFCLASS64, elf.EM_X86_64})
	want := []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"}
	if !slices.Equal(got, want) {
		t.Errorf("defaultLibDirs(x86_64) = %q, want %q", got, want)
	}
}
