// Package extract unpacks the vmlinux ELF from an x86 bzImage: it
// decompresses the payload package image locates (zstd, gzip or xz) and trims
// what the build appends after the ELF. It lives apart from package image so
// that what only inspects images (every test binary) does not link the
// decompressors, whose package initialisation is slow in an emulated guest.
package extract

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"github.com/ktstr-go/ktstr/internal/kernel/image"
)

// Compression magics of the bzImage payload.
var (
	magicZstd = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicGzip = []byte{0x1f, 0x8b}
	magicXz   = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	magicLz4  = []byte{0x02, 0x21, 0x4c, 0x18}
	magicLzma = []byte{0x5d, 0x00, 0x00}
	magicBzip = []byte{'B', 'Z', 'h'}
	magicLzo  = []byte{0x89, 'L', 'Z', 'O'}
	magicELF  = []byte{0x7f, 'E', 'L', 'F'}
)

// maxZstdWindow bounds the zstd window we accept. The kernel compresses its
// payload with a window up to 128 MiB (zstd -22 --ultra); allow more so a
// future kernel still extracts, while keeping a hostile image from asking for
// unbounded memory.
const maxZstdWindow = 1 << 30

// maxVmlinux bounds the decompressed size for the same reason; real x86
// vmlinux images with BTF are well under 200 MiB.
const maxVmlinux = 1 << 30

// Vmlinux decompresses the vmlinux ELF embedded in an x86 bzImage.
// It supports zstd, gzip and xz payloads (what distributions use); other
// compressions are named in the error. Bytes the build appends after the ELF
// (the relocation table) are trimmed, so the result is exactly the ELF file.
func Vmlinux(bzImage io.ReaderAt) ([]byte, error) {
	payload, err := image.Payload(bzImage)
	if err != nil {
		return nil, err
	}
	out, err := decompress(payload)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(out, magicELF) {
		return nil, errors.New("bzImage payload decompressed, but the result is not an ELF file; the image is corrupt or uses an unknown layout")
	}
	return trimELF(out), nil
}

// decompress inflates a bzImage payload after detecting its format.
func decompress(p []byte) ([]byte, error) {
	// Every format ends with the decompressed size (the build appends it;
	// gzip has it as ISIZE): reserve that much up front instead of growing
	// a buffer by doubling, which would need twice the memory.
	var hint int
	if len(p) >= 4 {
		// Capped: the hint is only a hint, and a corrupt one must not
		// reserve a gigabyte.
		hint = min(int(binary.LittleEndian.Uint32(p[len(p)-4:])), 256<<20)
	}
	var r io.Reader
	switch {
	case bytes.HasPrefix(p, magicZstd):
		// The build appends the size after every format but gzip; zstd
		// would read it as the start of a second frame and fail, so cut it
		// off. DecodeAll into a buffer of the final size uses that buffer
		// as the 128 MiB window, where a streaming reader would allocate
		// the window again.
		d, err := zstd.NewReader(nil,
			zstd.WithDecoderMaxWindow(maxZstdWindow),
			zstd.WithDecoderMaxMemory(maxVmlinux),
			zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("start zstd decoder: %w", err)
		}
		defer d.Close()
		out, err := d.DecodeAll(trimSize(p), make([]byte, 0, hint))
		if err != nil {
			return nil, fmt.Errorf("decompress bzImage payload (zstd): %w; the image is corrupt", err)
		}
		return out, nil
	case bytes.HasPrefix(p, magicGzip):
		g, err := gzip.NewReader(bytes.NewReader(p))
		if err != nil {
			return nil, fmt.Errorf("bzImage gzip payload: %w", err)
		}
		// The kernel's gzip stream is a single member; do not read the
		// trailing bytes as another one.
		g.Multistream(false)
		r = g
	case bytes.HasPrefix(p, magicXz):
		x, err := xz.NewReader(bytes.NewReader(trimSize(p)))
		if err != nil {
			return nil, fmt.Errorf("bzImage xz payload: %w", err)
		}
		r = x
	default:
		return nil, fmt.Errorf("bzImage payload compression %s is not supported (zstd, gzip and xz are); rebuild with CONFIG_KERNEL_ZSTD=y or pass the vmlinux ELF", compressionName(p))
	}
	var out bytes.Buffer
	out.Grow(hint)
	n, err := io.Copy(&out, io.LimitReader(r, maxVmlinux+1))
	if err != nil {
		return nil, fmt.Errorf("decompress bzImage payload (%s): %w; the image is corrupt", compressionName(p), err)
	}
	if n > maxVmlinux {
		return nil, fmt.Errorf("bzImage payload decompresses to more than %d bytes; refusing (corrupt or hostile image)", maxVmlinux)
	}
	return out.Bytes(), nil
}

// trimSize drops the 4-byte little-endian size the kernel build appends to
// non-gzip payloads.
func trimSize(p []byte) []byte {
	if len(p) < 4 {
		return p
	}
	return p[:len(p)-4]
}

// compressionName names a payload format from its magic, for messages.
func compressionName(p []byte) string {
	for _, m := range []struct {
		magic []byte
		name  string
	}{
		{magicZstd, "zstd"}, {magicGzip, "gzip"}, {magicXz, "xz"}, {magicLz4, "lz4"},
		{magicLzma, "lzma"}, {magicBzip, "bzip2"}, {magicLzo, "lzo"}, {magicELF, "none (ELF)"},
	} {
		if bytes.HasPrefix(p, m.magic) {
			return m.name
		}
	}
	return fmt.Sprintf("unknown (magic % x)", p[:min(len(p), 6)])
}

// trimELF cuts what follows the ELF file proper: x86 builds with relocatable
// kernels append vmlinux.relocs to vmlinux.bin before compressing, and
// tools reading the ELF do not expect it.
func trimELF(b []byte) []byte {
	if len(b) < 64 || b[4] != 2 || b[5] != 1 { // 64-bit little-endian only
		return b
	}
	le := binary.LittleEndian
	end := uint64(64)
	phoff, phentsize, phnum := le.Uint64(b[0x20:]), uint64(le.Uint16(b[0x36:])), uint64(le.Uint16(b[0x38:]))
	shoff, shentsize, shnum := le.Uint64(b[0x28:]), uint64(le.Uint16(b[0x3a:])), uint64(le.Uint16(b[0x3c:]))
	end = max(end, phoff+phentsize*phnum, shoff+shentsize*shnum)
	for i := uint64(0); i < phnum; i++ {
		o := phoff + i*phentsize
		if o+56 > uint64(len(b)) {
			return b
		}
		end = max(end, le.Uint64(b[o+8:])+le.Uint64(b[o+32:])) // p_offset + p_filesz
	}
	for i := uint64(0); i < shnum; i++ {
		o := shoff + i*shentsize
		if o+64 > uint64(len(b)) {
			return b
		}
		if le.Uint32(b[o+4:]) != 8 { // SHT_NOBITS occupies no file space
			end = max(end, le.Uint64(b[o+24:])+le.Uint64(b[o+32:])) // sh_offset + sh_size
		}
	}
	if end < uint64(len(b)) {
		return b[:end]
	}
	return b
}
