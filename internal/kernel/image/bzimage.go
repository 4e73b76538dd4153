package image

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Offsets of the x86 boot protocol setup header fields we read
// (Documentation/arch/x86/boot.rst).
const (
	offSetupSects    = 0x1f1
	offBootFlag      = 0x1fe
	offHeaderMagic   = 0x202
	offKernelVersion = 0x20e
	offPayloadOffset = 0x248
	offPayloadLength = 0x24c
	setupHeaderEnd   = 0x250
)

// magicELF starts an ELF file: a vmlinux rather than a bzImage.
var magicELF = []byte{0x7f, 'E', 'L', 'F'}

// header holds the setup header fields of a bzImage.
type header struct {
	setupSects    int
	kernelVersion uint16
	payloadOffset uint32
	payloadLength uint32
}

// readHeader reads and checks the bzImage setup header.
func readHeader(r io.ReaderAt) (header, error) {
	buf := make([]byte, setupHeaderEnd)
	n, err := r.ReadAt(buf, 0)
	if bytes.HasPrefix(buf[:n], magicELF) {
		return header{}, errors.New("not a bzImage but an ELF file (a vmlinux); use it as it is")
	}
	if err != nil {
		return header{}, fmt.Errorf("read bzImage setup header: %w (%d bytes: too short to be a bzImage)", err, n)
	}
	if !bytes.Equal(buf[offHeaderMagic:offHeaderMagic+4], []byte("HdrS")) ||
		binary.LittleEndian.Uint16(buf[offBootFlag:]) != 0xaa55 {
		return header{}, errors.New("not a bzImage: no \"HdrS\" setup header magic at 0x202 / boot flag 0xaa55 at 0x1fe; pass a bzImage (arch/x86/boot/bzImage) or a vmlinux ELF")
	}
	h := header{
		setupSects:    int(buf[offSetupSects]),
		kernelVersion: binary.LittleEndian.Uint16(buf[offKernelVersion:]),
		payloadOffset: binary.LittleEndian.Uint32(buf[offPayloadOffset:]),
		payloadLength: binary.LittleEndian.Uint32(buf[offPayloadLength:]),
	}
	// The boot protocol says a zero setup_sects means 4, for compatibility
	// with ancient images.
	if h.setupSects == 0 {
		h.setupSects = 4
	}
	return h, nil
}

// Payload returns the compressed kernel a bzImage carries (the setup
// header's payload_offset and payload_length locate it), as the boot
// decompressor would unpack it. Package extract decompresses it; it is kept
// apart so that Inspect does not link the decompressors.
func Payload(bzImage io.ReaderAt) ([]byte, error) {
	h, err := readHeader(bzImage)
	if err != nil {
		return nil, err
	}
	if h.payloadLength == 0 {
		return nil, errors.New("bzImage has payload_length 0 at 0x24c: boot protocol older than 2.08, cannot locate the compressed kernel; use the build's vmlinux instead")
	}
	start := int64(h.setupSects+1)*512 + int64(h.payloadOffset)
	payload := make([]byte, h.payloadLength)
	if _, err := bzImage.ReadAt(payload, start); err != nil {
		return nil, fmt.Errorf("read bzImage payload (%d bytes at offset %d): %w; the file is truncated or the header is corrupt", h.payloadLength, start, err)
	}
	return payload, nil
}

// bzImageVersion returns the kernel version string the setup header points
// to, as printed by `file`: "7.3.4+deb13-amd64 (builder@host) #1 SMP ...".
func bzImageVersion(r io.ReaderAt, h header) string {
	if h.kernelVersion == 0 {
		return ""
	}
	buf := make([]byte, 256)
	n, _ := r.ReadAt(buf, int64(h.kernelVersion)+0x200)
	s, _, _ := bytes.Cut(buf[:n], []byte{0})
	return string(s)
}
