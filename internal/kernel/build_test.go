package kernel

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testLog is a writer that passes what it gets to t.Log, a line each.
type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(strings.ReplaceAll(string(p), "\r", "\n"), "\n"), "\n") {
		if l = strings.TrimSpace(strings.ReplaceAll(l, "\x1b[K", "")); l != "" {
			w.t.Log(l)
		}
	}
	return len(p), nil
}

func TestBuildRefusesBadInput(t *testing.T) {
	notTree := t.TempDir()
	os.WriteFile(filepath.Join(notTree, "Makefile"), []byte("all:\n"), 0o644)
	// A tree of 6.6: a kernel, but one without sched_ext.
	old := t.TempDir()
	os.WriteFile(filepath.Join(old, "Makefile"), []byte("VERSION = 6\nPATCHLEVEL = 6\nSUBLEVEL = 63\n"), 0o644)
	os.WriteFile(filepath.Join(old, "Kconfig"), []byte("\n"), 0o644)
	os.MkdirAll(filepath.Join(old, "arch", "x86"), 0o755)
	for _, tc := range []struct {
		name string
		opts BuildOptions
		want []string
	}{
		{"no source", BuildOptions{}, []string{"pass --source DIR"}},
		{"not a tree", BuildOptions{Source: notTree}, []string{"is not a kernel source tree", "a Makefile without VERSION and PATCHLEVEL", "no Kconfig", "no arch/x86", "pass the top directory"}},
		{"missing", BuildOptions{Source: filepath.Join(notTree, "nope")}, []string{"nope"}},
		{"before sched_ext", BuildOptions{Source: old}, []string{"kernel 6.6.63 in ", "has no sched_ext", "came in 6.12", "build a 6.12 or later tree"}},
		{"config and base", BuildOptions{Source: notTree, Config: "x", Base: "defconfig"}, []string{"pass one"}},
		{"a base that is no config target", BuildOptions{Source: notTree, Base: "clean"}, []string{"not a config target"}},
	} {
		cache := t.TempDir()
		tc.opts.CacheDir = cache
		_, err := Build(context.Background(), tc.opts)
		if err == nil {
			t.Errorf("%s: Build succeeded", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", tc.name, err, w)
			}
		}
		if names := dirNames(t, cache); len(names) != 0 {
			t.Errorf("%s: left %q in the cache", tc.name, names)
		}
	}
}

func TestClassify(t *testing.T) {
	for line, want := range map[string][2]string{
		"  CC      kernel/sched/ext.o":                    {stageCompile, "kernel/sched/ext.o"},
		"  AS      arch/x86/entry/entry_64.o":             {stageCompile, "arch/x86/entry/entry_64.o"},
		"  HOSTCC  scripts/kallsyms":                      {"", ""},
		"  CC      /b/tools/objtool/libsubcmd/exec-cmd.o": {stageCompile, "/b/tools/objtool/libsubcmd/exec-cmd.o"},
		"  AR      kernel/built-in.a":                     {"", ""},
		"  LD      vmlinux.o":                             {stageLink, ""},
		"  CC      .vmlinux.export.o":                     {"", ""},
		"  KSYMS   .tmp_vmlinux1.kallsyms.S":              {stageLink, ""},
		"  BTF     .tmp_vmlinux1.btf.o":                   {stageBTF, ""},
		"  BTFIDS  vmlinux":                               {stageBTF, ""},
		"  BUILD   arch/x86/boot/bzImage":                 {stageImage, ""},
		"Kernel: arch/x86/boot/bzImage is ready  (#1)":    {stageImage, ""},
		"make[1]: Leaving directory '/b/out'":             {"", ""},
	} {
		stage, obj := classify(line)
		if stage != want[0] || obj != want[1] {
			t.Errorf("classify(%q) = %q, %q; want %q, %q", line, stage, obj, want[0], want[1])
		}
	}
}

func TestBuildProgressPlain(t *testing.T) {
	var out bytes.Buffer
	p := newBuildProgress(&out, false)
	p.line("  HOSTCC  scripts/kallsyms")
	for i := 0; i < reportEvery+1; i++ {
		p.line("  CC      kernel/x.o")
	}
	// The order of a real build's last lines: stages only move forward.
	for _, l := range []string{"  LD      vmlinux.o", "  KSYMS   .tmp_vmlinux0.kallsyms.S", "  LD      .tmp_vmlinux1",
		"  BTF     .tmp_vmlinux1", "  NM      .tmp_vmlinux1.syms", "  BTFIDS  vmlinux.unstripped", "  SORTTAB vmlinux.unstripped",
		"  CC      arch/x86/boot/compressed/misc.o", "  LD      arch/x86/boot/compressed/vmlinux", "  BUILD   arch/x86/boot/bzImage",
		"Kernel: arch/x86/boot/bzImage is ready  (#1)"} {
		p.line(l)
	}
	got := out.String()
	for _, want := range []string{"compiling (at ", "  500 objects compiled (at ", "linking vmlinux (at ", "generating BTF (at ", "making bzImage (at "} {
		if !strings.Contains(got, want) {
			t.Errorf("progress without a terminal lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "\r") || strings.Count(got, "\n") != 5 {
		t.Errorf("progress without a terminal is not 5 plain lines:\n%q", got)
	}
	if p.objects != reportEvery+2 {
		t.Errorf("counted %d objects, want %d", p.objects, reportEvery+2)
	}
}

func TestBuildProgressTerminal(t *testing.T) {
	var out bytes.Buffer
	p := newBuildProgress(&out, true)
	p.line("  CC      kernel/a.o")
	p.drawn = time.Time{} // as if 100 ms had passed
	p.line("  CC      kernel/b.o")
	p.line("  LD      vmlinux.o")
	got := out.String()
	if !strings.Contains(got, "\r\x1b[K  1 objects compiled") || !strings.Contains(got, "\r\x1b[K  2 objects compiled") ||
		!strings.Contains(got, "kernel/b.o\r\x1b[Klinking vmlinux") {
		t.Errorf("terminal progress:\n%q", got)
	}
}

// TestBuildFromSource builds a real kernel: too long for every run (about
// 40 minutes on a loaded 2-core machine, CI's whole limit), so it runs only
// when KTSTR_TEST_KERNEL_BUILD names a kernel source tree.
func TestBuildFromSource(t *testing.T) {
	src := os.Getenv("KTSTR_TEST_KERNEL_BUILD")
	if src == "" {
		t.Skip("a full kernel build takes tens of minutes on 2 cores, past CI's 40-minute limit; set KTSTR_TEST_KERNEL_BUILD to a kernel source tree (e.g. Debian's linux-source unpacked) to run it")
	}
	ctx := context.Background()
	cache := t.TempDir()
	opts := BuildOptions{Source: src, Base: "alldefconfig", CacheDir: cache, Log: testLog{t}}
	res, err := Build(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	k := res.Kernel
	t.Logf("built %s (%s): %d objects, config %s, make %s", k.Key, k.Version, res.Objects, res.Config, res.Make)
	if res.Cached || !strings.HasPrefix(k.Key, "build-") || k.SchedExt != SupportYes || !k.HasBTF || !k.HasPVH || k.BootImage() != k.Vmlinux {
		t.Errorf("built kernel: %+v", k)
	}
	if err := Verify(cache, k.Key); err != nil {
		t.Errorf("Verify: %v", err)
	}
	for _, name := range []string{ImageFile, VmlinuxFile, ConfigFile, SystemMapFile} {
		if _, ok := k.Meta.Files[name]; !ok {
			t.Errorf("the entry records no %s", name)
		}
	}
	if names := dirNames(t, cache); len(names) != 1 || names[0] != k.Key {
		t.Errorf("the cache holds %q, want only %s", names, k.Key)
	}
	if r, err := Resolve(k.Key, cache); err != nil || r.Image != k.Image {
		t.Errorf("Resolve(key) = %+v, %v", r, err)
	}
	if r, err := Resolve(src, cache); err == nil && r.Key != "" && r.Key != k.Key {
		t.Errorf("Resolve(the tree) = %s, want %s", r.Key, k.Key)
	}

	again, err := Build(ctx, opts)
	if err != nil || !again.Cached || again.Kernel.Key != k.Key {
		t.Errorf("a second build = %+v, %v; want the cached one", again, err)
	}
	if removed, err := Clean(cache, CleanOptions{All: true}); err != nil || len(removed) != 1 {
		t.Errorf("Clean --all = %+v, %v", removed, err)
	}
}
