package initramfs

import (
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkWriteArchive writes an archive holding one ~20 MB host file
// plus a few small entries, to io.Discard and to a file on disk.
func BenchmarkWriteArchive(b *testing.B) {
	dir := b.TempDir()
	const size = 20 << 20
	data := make([]byte, size)
	rng := rand.NewChaCha8([32]byte{})
	rng.Read(data)
	host := filepath.Join(dir, "big.bin")
	if err := os.WriteFile(host, data, 0o755); err != nil {
		b.Fatal(err)
	}
	write := func(b *testing.B, w io.Writer) {
		aw := NewWriter(w)
		if err := aw.Dir("bin", 0o755); err != nil {
			b.Fatal(err)
		}
		if err := aw.FileFrom("bin/big", 0o755, host); err != nil {
			b.Fatal(err)
		}
		if err := aw.File("etc/motd", 0o644, []byte("hello\n")); err != nil {
			b.Fatal(err)
		}
		if err := aw.CharDev("dev/console", 0o600, 5, 1); err != nil {
			b.Fatal(err)
		}
		if err := aw.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("discard", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			write(b, io.Discard)
		}
	})
	b.Run("file", func(b *testing.B) {
		out, err := os.Create(filepath.Join(dir, "out.cpio"))
		if err != nil {
			b.Fatal(err)
		}
		defer out.Close()
		b.SetBytes(size)
		for b.Loop() {
			if err := out.Truncate(0); err != nil {
				b.Fatal(err)
			}
			if _, err := out.Seek(0, io.SeekStart); err != nil {
				b.Fatal(err)
			}
			write(b, out)
		}
	})
}
