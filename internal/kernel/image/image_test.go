package image_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/internal/kernel/image"
	"github.com/ktstr-go/ktstr/internal/kernel/image/imagetest"
)

const banner = "7.3.4+deb13-amd64 (builder@example) #1 SMP PREEMPT_DYNAMIC Debian 7.3.4-1~bpo13+1"

func TestInspect(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	full := imagetest.ELF(imagetest.ELFOptions{PVH: true, BTF: true, Release: "7.3.4+deb13-amd64"})
	bare := imagetest.ELF(imagetest.ELFOptions{})
	for _, tc := range []struct {
		path string
		want image.Info
	}{
		{write("vmlinux", full), image.Info{Kind: image.KindELF, HasPVH: true, HasBTF: true,
			Version: "7.3.4+deb13-amd64", Banner: "7.3.4+deb13-amd64 (test@example) #1 SMP"}},
		{write("vmlinux.bare", bare), image.Info{Kind: image.KindELF}},
		{write("bzImage", imagetest.BzImage(imagetest.Zstd(full), banner)),
			image.Info{Kind: image.KindBzImage, Version: "7.3.4+deb13-amd64", Banner: banner}},
	} {
		got, err := image.Inspect(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("Inspect(%s) = %+v, want %+v", filepath.Base(tc.path), got, tc.want)
		}
	}
	if _, err := image.Inspect(write("junk", make([]byte, 1024))); err == nil ||
		!strings.Contains(err.Error(), "neither an ELF vmlinux nor a bzImage") {
		t.Errorf("Inspect(junk) error = %v, want it to say what the file is not", err)
	}
	if _, err := image.Inspect(filepath.Join(dir, "missing")); err == nil {
		t.Error("Inspect(missing file) succeeded")
	}
}

func TestInspectPVHNoteInSectionOnly(t *testing.T) {
	// Drop the program header (e_phnum = 0): the note must still be found
	// through its SHT_NOTE section.
	elf := imagetest.ELF(imagetest.ELFOptions{PVH: true})
	binary.LittleEndian.PutUint16(elf[0x38:], 0)
	p := filepath.Join(t.TempDir(), "vmlinux")
	if err := os.WriteFile(p, elf, 0o644); err != nil {
		t.Fatal(err)
	}
	info, err := image.Inspect(p)
	if err != nil || !info.HasPVH {
		t.Fatalf("Inspect = %+v, %v; want HasPVH", info, err)
	}
}
