package initramfs

import (
	"errors"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// gcc compiles with the system C compiler in dir, skipping the test when
// there is none.
func gcc(t *testing.T, dir string, args ...string) {
	t.Helper()
	cc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("gcc is not installed; install it (apt-get install gcc) to run the ELF closure tests")
	}
	cmd := exec.Command(cc, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcc %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// writeFile writes content to dir/name.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const mathProgram = `
#include <math.h>
#include <stdio.h>
int main(int argc, char **argv) {
	volatile double x = argc + 1.0;
	printf("%f\n", sqrt(x) + cos(x));
	return 0;
}
`

// libsByBase indexes a closure by the base name of the archive path and
// checks the invariants every closure has.
func libsByBase(t *testing.T, libs []Lib) map[string]Lib {
	t.Helper()
	m := make(map[string]Lib)
	seen := make(map[string]bool)
	for _, l := range libs {
		if strings.HasPrefix(l.ArchivePath, "/") || path.Clean(l.ArchivePath) != l.ArchivePath {
			t.Errorf("archive path %q is not clean and relative", l.ArchivePath)
		}
		if seen[l.ArchivePath] {
			t.Errorf("archive path %q appears twice", l.ArchivePath)
		}
		seen[l.ArchivePath] = true
		fi, err := os.Lstat(l.HostPath)
		if err != nil || !fi.Mode().IsRegular() {
			t.Errorf("host path %s of %s is not a regular file (symlinks must be resolved): %v", l.HostPath, l.ArchivePath, err)
		}
		m[path.Base(l.ArchivePath)] = l
	}
	return m
}

func TestClosureDynamic(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "prog.c", mathProgram)
	gcc(t, dir, "-o", "prog", "prog.c", "-Wl,--no-as-needed", "-lm")
	prog := filepath.Join(dir, "prog")
	if err := IsELFExecutable(prog); err != nil {
		t.Fatal(err)
	}
	info, err := readELFInfo(prog)
	if err != nil {
		t.Fatal(err)
	}
	libs, err := Closure(prog)
	if err != nil {
		t.Fatal(err)
	}
	byBase := libsByBase(t, libs)
	for _, name := range []string{"libc.so.6", "libm.so.6"} {
		l, ok := byBase[name]
		if !ok {
			t.Errorf("closure %v lacks %s", libs, name)
			continue
		}
		if l.Source != FromDefault && l.Source != FromLdSoConf {
			t.Errorf("%s found via %v, want a system directory", name, l.Source)
		}
	}
	if libs[0].Source != FromInterp || "/"+libs[0].ArchivePath != info.interp {
		t.Errorf("first closure entry %+v, want the interpreter %s", libs[0], info.interp)
	}
	// The interpreter is also libc's DT_NEEDED ld-linux-x86-64.so.2; it is
	// already loaded under that soname, so it must not be packed twice.
	n := 0
	for _, l := range libs {
		if l.HostPath == libs[0].HostPath {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the interpreter's file appears %d times in %v", n, libs)
	}
}

func TestClosureStatic(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "prog.c", "int main(void) { return 0; }\n")
	cc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("gcc is not installed")
	}
	cmd := exec.Command(cc, "-static", "-o", "prog", "prog.c")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("cannot link statically (is libc.a installed? apt-get install libc6-dev): %v\n%s", err, out)
	}
	prog := filepath.Join(dir, "prog")
	if err := IsELFExecutable(prog); err != nil {
		t.Fatal(err)
	}
	libs, err := Closure(prog)
	if err != nil {
		t.Fatal(err)
	}
	if len(libs) != 0 {
		t.Errorf("static binary has closure %v, want none", libs)
	}
}

// buildOriginTree builds, in a fresh directory:
//
//	lib/libfoo.so.1 -> libfoo.so.1.0   (needs libbar.so, RUNPATH $ORIGIN/sub)
//	lib/sub/libbar.so
//	bin/prog                           (needs libfoo.so.1, DT_RUNPATH or DT_RPATH $ORIGIN/../lib)
//
// and returns the directory and the program.
func buildOriginTree(t *testing.T, dtags string) (string, string) {
	dir := t.TempDir()
	writeFile(t, dir, "bar.c", "int bar(void) { return 42; }\n")
	writeFile(t, dir, "foo.c", "int bar(void);\nint foo(void) { return bar() + 1; }\n")
	writeFile(t, dir, "prog.c", "int foo(void);\nint main(void) { return foo() == 43 ? 0 : 1; }\n")
	for _, d := range []string{"lib/sub", "bin"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	gcc(t, dir, "-shared", "-fPIC", "-o", "lib/sub/libbar.so", "bar.c", "-Wl,-soname,libbar.so")
	gcc(t, dir, "-shared", "-fPIC", "-o", "lib/libfoo.so.1.0", "foo.c", "-Wl,-soname,libfoo.so.1",
		"-Llib/sub", "-lbar", "-Wl,--enable-new-dtags,-rpath,$ORIGIN/sub")
	if err := os.Symlink("libfoo.so.1.0", filepath.Join(dir, "lib/libfoo.so.1")); err != nil {
		t.Fatal(err)
	}
	gcc(t, dir, "-o", "bin/prog", "prog.c", "lib/libfoo.so.1", "-Wl,-rpath-link,lib/sub",
		"-Wl,"+dtags+",-rpath,$ORIGIN/../lib")
	prog := filepath.Join(dir, "bin/prog")
	// Run it: the host loader must agree that the tree is complete.
	if out, err := exec.Command(prog).CombinedOutput(); err != nil {
		t.Fatalf("the test program does not run: %v\n%s", err, out)
	}
	return dir, prog
}

func TestClosureOrigin(t *testing.T) {
	for _, tc := range []struct {
		dtags  string
		source Source
	}{
		{"--enable-new-dtags", FromRUNPATH},
		{"--disable-new-dtags", FromRPATH},
	} {
		t.Run(tc.source.String(), func(t *testing.T) {
			dir, prog := buildOriginTree(t, tc.dtags)
			realDir, err := filepath.EvalSymlinks(dir)
			if err != nil {
				t.Fatal(err)
			}
			rel := strings.TrimPrefix(realDir, "/")

			libs, err := Closure(prog)
			if err != nil {
				t.Fatal(err)
			}
			byBase := libsByBase(t, libs)
			foo, bar := byBase["libfoo.so.1"], byBase["libbar.so"]
			if foo.ArchivePath != rel+"/lib/libfoo.so.1" || foo.HostPath != filepath.Join(realDir, "lib/libfoo.so.1.0") || foo.Source != tc.source {
				t.Errorf("libfoo = %+v, want %s/lib/libfoo.so.1 from the real file libfoo.so.1.0 via %v", foo, rel, tc.source)
			}
			if bar.ArchivePath != rel+"/lib/sub/libbar.so" || bar.Source != FromRUNPATH {
				t.Errorf("libbar = %+v, want %s/lib/sub/libbar.so via RUNPATH", bar, rel)
			}
			if _, ok := byBase["libc.so.6"]; !ok {
				t.Errorf("closure %v lacks libc.so.6", libs)
			}

			// Packed elsewhere, $ORIGIN follows the binary into the archive.
			libs, err = ClosureAt(prog, "/opt/sched/bin/prog")
			if err != nil {
				t.Fatal(err)
			}
			byBase = libsByBase(t, libs)
			if got := byBase["libfoo.so.1"].ArchivePath; got != "opt/sched/lib/libfoo.so.1" {
				t.Errorf("libfoo packed at %q, want opt/sched/lib/libfoo.so.1", got)
			}
			if got := byBase["libbar.so"].ArchivePath; got != "opt/sched/lib/sub/libbar.so" {
				t.Errorf("libbar packed at %q, want opt/sched/lib/sub/libbar.so", got)
			}
		})
	}
}

func TestClosureMissingLibrary(t *testing.T) {
	dir, prog := buildOriginTree(t, "--enable-new-dtags")
	if err := os.Remove(filepath.Join(dir, "lib/sub/libbar.so")); err != nil {
		t.Fatal(err)
	}
	// A libbar.so for another machine next to it must be rejected, not used.
	patchedCopy(t, filepath.Join(dir, "lib/libfoo.so.1.0"), filepath.Join(dir, "lib/sub/libbar.so"), 18, uint16(otherMachine()), 0o644)

	_, err := Closure(prog)
	var missing *MissingLibraryError
	if !errors.As(err, &missing) {
		t.Fatalf("Closure = %v, want a *MissingLibraryError", err)
	}
	if missing.Library != "libbar.so" {
		t.Errorf("Library = %q, want libbar.so", missing.Library)
	}
	realDir, _ := filepath.EvalSymlinks(dir)
	for _, want := range []string{
		"libbar.so",
		"needed by libfoo.so.1 (needed by " + prog + ")",
		filepath.Join(dir, "lib/sub") + " (RUNPATH)",
		"/usr/lib (default)",
		otherMachine().String(),
		"install the package that provides libbar.so",
	} {
		if !strings.Contains(err.Error(), want) && !strings.Contains(err.Error(), strings.ReplaceAll(want, dir, realDir)) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

func TestClosureLibraryPath(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "foo.c", "int foo(void) { return 1; }\n")
	writeFile(t, dir, "prog.c", "int foo(void);\nint main(void) { return foo() - 1; }\n")
	gcc(t, dir, "-shared", "-fPIC", "-o", "libfoo.so", "foo.c")
	gcc(t, dir, "-o", "prog", "prog.c", "-L.", "-lfoo")
	prog := filepath.Join(dir, "prog")

	// A libm for another machine earlier in the search path is skipped.
	other := t.TempDir()
	libm := ""
	for _, d := range defaultLibDirs(hostMachine()) {
		if _, err := os.Stat(filepath.Join(d, "libm.so.6")); err == nil {
			libm = filepath.Join(d, "libm.so.6")
			break
		}
	}
	if libm != "" {
		patchedCopy(t, libm, filepath.Join(other, "libfoo.so"), 18, uint16(otherMachine()), 0o644)
	}

	t.Setenv("LD_LIBRARY_PATH", other+":"+dir)
	libs, err := Closure(prog)
	if err != nil {
		t.Fatal(err)
	}
	foo := libsByBase(t, libs)["libfoo.so"]
	if foo.HostPath != filepath.Join(dir, "libfoo.so") || foo.Source != FromLibraryPath || !foo.NeedsLibraryPath() {
		t.Errorf("libfoo = %+v, want %s/libfoo.so via LD_LIBRARY_PATH", foo, dir)
	}

	b := NewBuilder()
	if err := b.AddBinary("bin/prog", prog); err != nil {
		t.Fatal(err)
	}
	if got := b.LibraryPath(); len(got) != 1 || got[0] != dir {
		t.Errorf("LibraryPath() = %q, want [%s]", got, dir)
	}

	t.Setenv("LD_LIBRARY_PATH", "")
	if _, err := Closure(prog); err == nil {
		t.Error("without LD_LIBRARY_PATH, libfoo.so was found anyway")
	}
}

func TestClosureSystemBinaries(t *testing.T) {
	found := false
	for _, p := range []string{"/bin/sh", "/usr/bin/env"} {
		info, err := readELFInfo(p)
		if err != nil {
			continue
		}
		found = true
		libs, err := Closure(p)
		if err != nil {
			t.Errorf("Closure(%s): %v", p, err)
			continue
		}
		if info.interp == "" && len(info.needed) == 0 {
			if len(libs) != 0 {
				t.Errorf("static %s has closure %v", p, libs)
			}
			continue
		}
		byBase := libsByBase(t, libs)
		if _, ok := byBase["libc.so.6"]; !ok {
			t.Errorf("closure of %s lacks libc.so.6: %v", p, libs)
		}
		if libs[0].Source != FromInterp {
			t.Errorf("closure of %s does not start with its interpreter: %v", p, libs)
		}
	}
	if !found {
		t.Skip("neither /bin/sh nor /usr/bin/env is an ELF file here")
	}
}

func TestClosureNotELF(t *testing.T) {
	script := writeFile(t, t.TempDir(), "run.sh", "#!/bin/sh\n")
	if _, err := Closure(script); err == nil || !strings.Contains(err.Error(), "shell script") {
		t.Errorf("Closure(script) = %v, want an error saying it is a shell script", err)
	}
	if _, err := Closure(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Closure(missing) = %v, want a does-not-exist error", err)
	}
}

func TestExpandOrigin(t *testing.T) {
	o := &object{hostOrigin: "/home/u/build/bin", archiveOrigin: "/bin"}
	for _, tc := range []struct {
		entry, host, archive string
		ok                   bool
	}{
		{"$ORIGIN/../lib", "/home/u/build/lib", "/lib", true},
		{"${ORIGIN}/x", "/home/u/build/bin/x", "/bin/x", true},
		{"$ORIGIN/../../../../..", "/", "/", true},
		{"/opt/lib", "/opt/lib", "/opt/lib", true},
		{"$LIB/x", "", "", false},
		{"relative/lib", "", "", false},
	} {
		host, archive, ok := expandOrigin(tc.entry, o)
		if host != tc.host || archive != tc.archive || ok != tc.ok {
			t.Errorf("expandOrigin(%q) = %q, %q, %v; want %q, %q, %v", tc.entry, host, archive, ok, tc.host, tc.archive, tc.ok)
		}
	}
}
