package extract_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/internal/kernel/image/extract"
	"github.com/ktstr-go/ktstr/internal/kernel/image/imagetest"
)

const banner = "7.3.4+deb13-amd64 (builder@example) #1 SMP PREEMPT_DYNAMIC Debian 7.3.4-1~bpo13+1"

func TestExtractVmlinux(t *testing.T) {
	elf := imagetest.ELF(imagetest.ELFOptions{PVH: true, BTF: true, Release: "7.3.4+deb13-amd64"})
	// Relocations appended after the ELF must be trimmed off.
	withRelocs := append(bytes.Clone(elf), 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0)
	for name, payload := range map[string][]byte{
		"zstd": imagetest.Zstd(withRelocs),
		"gzip": imagetest.Gzip(withRelocs),
		"xz":   imagetest.Xz(withRelocs),
	} {
		t.Run(name, func(t *testing.T) {
			bz := imagetest.BzImage(payload, banner)
			got, err := extract.Vmlinux(bytes.NewReader(bz))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, elf) {
				t.Fatalf("extracted %d bytes, want the %d-byte ELF exactly", len(got), len(elf))
			}
		})
	}
}

func TestExtractVmlinuxErrors(t *testing.T) {
	elf := imagetest.ELF(imagetest.ELFOptions{})
	lz4 := append([]byte{0x02, 0x21, 0x4c, 0x18}, make([]byte, 32)...)
	notELF := imagetest.Zstd([]byte("this is not an ELF file at all"))
	bz := imagetest.BzImage(imagetest.Zstd(elf), banner)
	for name, tc := range map[string]struct {
		img  []byte
		want string
	}{
		"not a bzImage": {elf, "not a bzImage"},
		"lz4":           {imagetest.BzImage(lz4, banner), "compression lz4 is not supported"},
		"not ELF":       {imagetest.BzImage(notELF, banner), "not an ELF"},
		"truncated":     {bz[:len(bz)-200], "truncated"},
		"tiny":          {[]byte("MZ"), "too short"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := extract.Vmlinux(bytes.NewReader(tc.img))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestExtractVmlinuxZeroSetupSects(t *testing.T) {
	// setup_sects 0 means 4; build an image with 4 and then zero the field.
	elf := imagetest.ELF(imagetest.ELFOptions{BTF: true})
	bz := imagetest.BzImage(imagetest.Zstd(elf), banner)
	if bz[0x1f1] != 4 {
		t.Fatalf("fixture has setup_sects %d, want 4", bz[0x1f1])
	}
	bz[0x1f1] = 0
	got, err := extract.Vmlinux(bytes.NewReader(bz))
	if err != nil || !bytes.Equal(got, elf) {
		t.Fatalf("Vmlinux = %d bytes, %v; want the ELF", len(got), err)
	}
}
