package ktstr

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/cachedir"
	"github.com/ktstr-go/ktstr/internal/guest"
	"github.com/ktstr-go/ktstr/internal/host"
	"github.com/ktstr-go/ktstr/internal/kernel"
)

// TestVMDamagedKernel boots copies of the cached kernel that were damaged
// on disk, as a full disk, a crash or a stray write leaves them:
//
//   - Truncated: vmlinux cut short. The quick check on use sees it; the
//     test fails before anything boots, saying what is wrong and how to
//     repair it (the copy is marked as stored locally, whose repair is to
//     remove it and store it again).
//   - ChangedInPlace: the ELF header of vmlinux overwritten, its size and
//     time kept, so only the hash tells. QEMU refuses the image, the boot
//     is not retried as a stall, and the hash check finds the damage: the
//     run fails as a boot failure saying what is wrong and, since the
//     entry came from the Debian archive, the command that fetches it
//     again (a test binary does not fetch).
func TestVMDamagedKernel(t *testing.T) {
	if !guest.Active() && testing.Short() {
		t.Skip("boots VMs")
	}
	t.Run("Truncated", func(t *testing.T) {
		if guest.Active() {
			return
		}
		entry := copyCachedKernel(t, "local:test")
		vmlinux := filepath.Join(entry, kernel.VmlinuxFile)
		fi, _ := os.Stat(vmlinux)
		if err := os.Truncate(vmlinux, fi.Size()/2); err != nil {
			t.Fatal(err)
		}
		// Refused before any VM boots: the boot's error is the verdict.
		spec := Spec{}
		v := firstVariant(t, spec)
		v.kernel = entry
		_, err := host.Boot(spec.job(v, t.Name(), t.Name()))
		if err == nil {
			t.Fatal("a truncated kernel was booted")
		}
		for _, want := range []string{"is damaged, not booted", "vmlinux: ", "bytes, ", "when stored", "remove " + entry} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
		t.Logf("got, as wanted: %v", err)
	})
	t.Run("ChangedInPlace", func(t *testing.T) {
		entry := ""
		if !guest.Active() {
			entry = copyCachedKernel(t, "")
			vmlinux := filepath.Join(entry, kernel.VmlinuxFile)
			fi, _ := os.Stat(vmlinux)
			f, err := os.OpenFile(vmlinux, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt([]byte("\x00\x00\x00\x00"), 0); err != nil { // no ELF magic any more
				t.Fatal(err)
			}
			f.Close()
			os.Chtimes(vmlinux, fi.ModTime(), fi.ModTime())
		}
		vmTestOn(t, Spec{}, entry, func(*Ctx) error { return nil }, func(t *testing.T, r *host.Outcome) {
			fs := r.Failures()
			if len(fs) == 0 {
				t.Fatal("a kernel damaged in place booted")
			}
			if fs[0].Kind != check.Boot {
				t.Errorf("failure kind %s, want %s", fs[0].Kind, check.Boot)
			}
			for _, want := range []string{"is damaged, not booted", "vmlinux: content changed", "ktstr kernel verify --repair " + filepath.Base(entry)} {
				if !strings.Contains(fs[0].Message, want) {
					t.Errorf("failure %q lacks %q", fs[0].Message, want)
				}
			}
			if r.Retried {
				t.Error("QEMU's refusal of the image was retried as a boot stall")
			}
			t.Logf("got, as wanted: %s", fs[0].Message)
		})
	})
}

// copyCachedKernel copies the kernel tests use into a cache of the test's
// own, keeping file times (the quick check compares them), and returns the
// copy's directory. A non-empty source replaces the entry's.
func copyCachedKernel(t *testing.T, source string) string {
	t.Helper()
	k, err := host.ResolveKernel("")
	if err != nil {
		t.Fatal(err)
	}
	e, ok := k.Entry()
	if !ok || len(e.Files) == 0 {
		t.Skipf("the kernel under test (%s) is not a cache entry with checksums; `ktstr kernel fetch --force` stores one", k.Image)
	}
	dst := filepath.Join(t.TempDir(), e.Key)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for name := range e.Files {
		copyKeepTime(t, filepath.Join(e.Dir, name), filepath.Join(dst, name))
	}
	meta := e.Metadata
	if source != "" {
		meta.Source, meta.Mirror = source, ""
	}
	if err := cachedir.WriteMetadata(dst, &meta); err != nil {
		t.Fatal(err)
	}
	return dst
}

func copyKeepTime(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	fi, _ := in.Stat()
	os.Chtimes(dst, fi.ModTime(), fi.ModTime())
}
