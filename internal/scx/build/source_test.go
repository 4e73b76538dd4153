package build

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulikunitz/xz"

	"github.com/ktstr-go/ktstr/internal/kernel/debian"
)

func TestSourcePackage(t *testing.T) {
	for _, tc := range []struct{ rel, name, upstream string }{
		{"7.3.4+deb13-amd64", "linux-source-7.3", "7.3.4"},
		{"7.3.0-rc5+deb13-amd64", "linux-source-7.3", "7.3.0"},
		{"6.12", "linux-source-6.12", "6.12"},
		{"10.1.22-cloud-amd64", "linux-source-10.1", "10.1.22"},
	} {
		name, up, err := sourcePackage(tc.rel)
		if err != nil || name != tc.name || up != tc.upstream {
			t.Errorf("sourcePackage(%q) = %q, %q, %v; want %q, %q", tc.rel, name, up, err, tc.name, tc.upstream)
		}
	}
	for _, bad := range []string{"", "seven", "7", "v7.3.4"} {
		if _, _, err := sourcePackage(bad); err == nil || !strings.Contains(err.Error(), "major") {
			t.Errorf("sourcePackage(%q): err = %v", bad, err)
		}
	}
}

func TestUpstreamOf(t *testing.T) {
	for in, want := range map[string]string{
		"7.3.4-1~bpo13+1": "7.3.4",
		"1:7.3.4-2":       "7.3.4",
		"7.3.4":           "7.3.4",
		"7.3~rc5-1~exp1":  "7.3~rc5",
	} {
		if got := upstreamOf(in); got != want {
			t.Errorf("upstreamOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPickSource(t *testing.T) {
	vs := []debian.Package{ // newest first, as Index.Versions gives them
		{Name: "linux-source-7.3", Version: "7.3.6-1~bpo13+1"},
		{Name: "linux-source-7.3", Version: "7.3.4-2~bpo13+1"},
		{Name: "linux-source-7.3", Version: "7.3.4-1~bpo13+1"},
	}
	const rel = "7.3.4+deb13-amd64"
	for _, tc := range []struct {
		name, rel, pkgVersion, want, note string
	}{
		{"exact package version", rel, "7.3.4-1~bpo13+1", "7.3.4-1~bpo13+1", ""},
		{"same upstream, unknown package version", rel, "", "7.3.4-2~bpo13+1", ""},
		{"same upstream, package version gone", rel, "7.3.4-3", "7.3.4-2~bpo13+1", "no linux-source-7.3 7.3.4-3"},
		{"no upstream match", "7.3.9+deb13-amd64", "7.3.9-1", "7.3.6-1~bpo13+1", "no linux-source-7.3 of upstream version 7.3.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, note, err := pickSource(vs, tc.rel, tc.pkgVersion)
			if err != nil {
				t.Fatal(err)
			}
			if p.Version != tc.want {
				t.Errorf("picked %s, want %s", p.Version, tc.want)
			}
			if (tc.note == "") != (note == "") || !strings.Contains(note, tc.note) {
				t.Errorf("note = %q, want one containing %q", note, tc.note)
			}
		})
	}
	_, _, err := pickSource(nil, rel, "")
	if err == nil || !strings.Contains(err.Error(), "no linux-source-7.3") {
		t.Errorf("no versions: err = %v", err)
	}
	if _, _, err := pickSource(vs, "garbage", ""); err == nil {
		t.Error("bad release accepted")
	}
}

func TestWanted(t *testing.T) {
	for rel, want := range map[string]bool{
		"Makefile":                              true,
		"tools/sched_ext/scx_simple.bpf.c":      true,
		"tools/sched_ext/":                      true,
		"tools/lib/bpf/libbpf.c":                true,
		"kernel/bpf/disasm.c":                   true,
		"scripts/bpf_doc.py":                    true,
		"include/uapi/linux/bpf.h":              true,
		"scripts/Makefile.build":                false,
		"drivers/gpu/drm/x.c":                   false,
		"tools/perf/perf.c":                     false,
		"tools/testing/selftests/sched_ext/x.c": false,
		"kernel/sched/ext.c":                    false,
		"Makefile.old":                          false,
		"tools/sched_ext_other/x":               false,
	} {
		if got := wanted(rel, false); got != want {
			t.Errorf("wanted(%q) = %v, want %v", rel, got, want)
		}
	}
	if !wanted("drivers/gpu/drm/x.c", true) {
		t.Error("full tree skips a file")
	}
}

// tarEntry is one member of a test tarball.
type tarEntry struct {
	name, link string
	typ        byte
	mode       int64
	data       string
}

func makeTarXz(t testing.TB, entries []tarEntry) []byte {
	t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode, Size: int64(len(e.data))}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			tw.Write([]byte(e.data))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	var xb bytes.Buffer
	xw, err := xz.NewWriter(&xb)
	if err != nil {
		t.Fatal(err)
	}
	xw.Write(tb.Bytes())
	if err := xw.Close(); err != nil {
		t.Fatal(err)
	}
	return xb.Bytes()
}

func TestExtractTreeSubset(t *testing.T) {
	const top = "linux-source-7.3/"
	data := makeTarXz(t, []tarEntry{
		{name: top, typ: tar.TypeDir, mode: 0o755},
		{name: top + "Makefile", typ: tar.TypeReg, data: "top"},
		{name: top + "drivers/", typ: tar.TypeDir, mode: 0o755},
		{name: top + "drivers/big.c", typ: tar.TypeReg, data: strings.Repeat("x", 1000)},
		{name: top + "scripts/bpf_doc.py", typ: tar.TypeReg, mode: 0o755, data: "#!/usr/bin/env python3\n"},
		{name: top + "scripts/other.sh", typ: tar.TypeReg, data: "no"},
		{name: top + "tools/sched_ext/", typ: tar.TypeDir, mode: 0o755},
		{name: top + "tools/sched_ext/Makefile", typ: tar.TypeReg, data: "c-sched-targets = scx_simple\n"},
		{name: top + "tools/include/linux/pci_ids.h", typ: tar.TypeSymlink, link: "../../../include/linux/pci_ids.h"},
		{name: top + "tools/lib/bpf/copy.h", typ: tar.TypeLink, link: top + "tools/sched_ext/Makefile"},
	})
	dest := t.TempDir()
	st, err := extractTree(bytes.NewReader(data), dest, false)
	if err != nil {
		t.Fatal(err)
	}
	if st.Entries != 10 || st.Files != 3 || st.Links != 2 {
		t.Errorf("stats = %+v", st)
	}
	for _, p := range []string{"Makefile", "scripts/bpf_doc.py", "tools/sched_ext/Makefile", "tools/lib/bpf/copy.h"} {
		if _, err := os.Stat(filepath.Join(dest, p)); err != nil {
			t.Errorf("%s not extracted: %v", p, err)
		}
	}
	for _, p := range []string{"drivers", "scripts/other.sh", top} {
		if _, err := os.Lstat(filepath.Join(dest, p)); err == nil {
			t.Errorf("%s extracted, but is outside the subset", p)
		}
	}
	if fi, err := os.Stat(filepath.Join(dest, "scripts/bpf_doc.py")); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("bpf_doc.py lost its executable bit: %v %v", fi, err)
	}
	if l, err := os.Readlink(filepath.Join(dest, "tools/include/linux/pci_ids.h")); err != nil || l != "../../../include/linux/pci_ids.h" {
		t.Errorf("symlink = %q, %v", l, err)
	}

	full := t.TempDir()
	if _, err := extractTree(bytes.NewReader(data), full, true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(full, "drivers/big.c")); err != nil {
		t.Errorf("full tree: %v", err)
	}
}

func TestExtractTreeRefuses(t *testing.T) {
	const top = "linux-source-7.3/"
	for name, entries := range map[string][]tarEntry{
		"escape":          {{name: top + "tools/../../evil", typ: tar.TypeReg, data: "x"}},
		"second top":      {{name: top + "Makefile", typ: tar.TypeReg}, {name: "other/tools/lib/x", typ: tar.TypeReg}},
		"absolute link":   {{name: top + "tools/lib/x", typ: tar.TypeSymlink, link: "/etc/passwd"}},
		"escaping link":   {{name: top + "tools/lib/x", typ: tar.TypeSymlink, link: "../../../../etc/passwd"}},
		"escaping hard":   {{name: top + "tools/lib/x", typ: tar.TypeLink, link: "../etc/passwd"}},
		"empty":           {},
		"not xz (below)":  nil,
		"top-level only ": {{name: top, typ: tar.TypeDir}},
	} {
		t.Run(name, func(t *testing.T) {
			data := []byte("this is not xz")
			if entries != nil {
				data = makeTarXz(t, entries)
			}
			dest := t.TempDir()
			_, err := extractTree(bytes.NewReader(data), dest, false)
			if name == "top-level only " {
				if err != nil {
					t.Errorf("a tree with nothing wanted: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			if _, err := os.Lstat(filepath.Join(filepath.Dir(dest), "evil")); err == nil {
				t.Error("wrote outside the destination")
			}
		})
	}
}

func TestParseSchedulers(t *testing.T) {
	mk := []byte("x := 1\nc-sched-targets = scx_simple scx_cpu0 scx_new\n\nall: $(c-sched-targets)\n")
	if got := strings.Join(parseSchedulers(mk), " "); got != "scx_simple scx_cpu0 scx_new" {
		t.Errorf("parseSchedulers = %q", got)
	}
	if got := parseSchedulers([]byte("nothing here\n")); len(got) != 8 {
		t.Errorf("fallback = %v", got)
	}
	if got := makefileSchedulers(filepath.Join(t.TempDir(), "none")); len(got) != 8 {
		t.Errorf("missing Makefile: %v", got)
	}
}

func TestExcerptAndTail(t *testing.T) {
	out := []byte("CLNG-BPF scx_simple.bpf.o\nscx_qmap.bpf.c:10:2: error: use of undeclared identifier 'x'\nmake: *** [Makefile:170: /o/build/obj/sched_ext/scx_qmap.bpf.o] Error 1\nother line\n")
	got := excerpt(out, "scx_qmap")
	if !strings.Contains(got, "undeclared identifier") || !strings.Contains(got, "Error 1") || strings.Contains(got, "other line") {
		t.Errorf("excerpt = %q", got)
	}
	if got := excerpt(out, "scx_pair"); !strings.Contains(got, "other line") {
		t.Errorf("excerpt without matches should be the tail: %q", got)
	}
}
