package initramfs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
)

// A Writer writes a newc cpio archive to an underlying io.Writer.
//
// Entries are written in the order the methods are called. Before an entry
// is written, any of its parent directories that the archive does not yet
// hold are written with mode 0755. Every entry has uid 0, gid 0, mtime 0 and
// a unique inode number, so the same calls always produce the same bytes.
//
// Adding a path a second time is an error, except that repeating an entry
// identically is a no-op: the same directory mode, the same symlink target,
// the same device, or the same host file (by device and inode) with the same
// mode for [Writer.FileFrom].
//
// The first error from the underlying writer sticks: every later call
// returns it. A Writer is not safe for concurrent use.
type Writer struct {
	cw      *countingWriter
	bw      *bufio.Writer
	ino     uint32
	entries map[string]*written
	closed  bool
	err     error
}

// written records what the archive holds at a path, to detect conflicts.
type written struct {
	kind     kind
	mode     uint32
	implicit string      // for a directory created as a parent: the path that needed it
	host     os.FileInfo // for FileFrom: the host file
	hostPath string      // for FileFrom: the path it was read from
	stripped bool        // for ExecutableFrom: written without debug sections
	target   string      // for a symlink
	major    uint32      // for a device
	minor    uint32
}

// NewWriter returns a Writer that writes an archive to w. Call
// [Writer.Close] to finish the archive; Close does not close w.
func NewWriter(w io.Writer) *Writer {
	cw := &countingWriter{w: w}
	return &Writer{
		cw:      cw,
		bw:      bufio.NewWriterSize(cw, 64<<10),
		ino:     1,
		entries: make(map[string]*written),
	}
}

// Written returns the number of archive bytes written so far, including
// bytes still buffered inside the Writer.
func (w *Writer) Written() int64 {
	return w.cw.n + int64(w.bw.Buffered())
}

// Dir adds the directory name with permission bits mode.
func (w *Writer) Dir(name string, mode os.FileMode) error {
	name, m, err := w.begin(name, kindDir, mode)
	if err != nil {
		return err
	}
	if prev := w.entries[name]; prev != nil {
		if prev.kind == kindDir && prev.mode == m {
			return nil
		}
		if prev.kind == kindDir && prev.implicit != "" {
			return fmt.Errorf("initramfs: directory %q was already written with mode %#o as the parent of %q; add it with Dir(%q, %v) before anything inside it", name, prev.mode&0o7777, prev.implicit, name, mode)
		}
		return w.duplicate(name, prev, fmt.Sprintf("a directory with mode %#o", m&0o7777))
	}
	return w.add(name, &written{kind: kindDir, mode: m}, 0)
}

// File adds the regular file name with permission bits mode and contents
// data.
func (w *Writer) File(name string, mode os.FileMode, data []byte) error {
	name, m, err := w.begin(name, kindFile, mode)
	if err != nil {
		return err
	}
	if prev := w.entries[name]; prev != nil {
		return w.duplicate(name, prev, "a file from memory")
	}
	if int64(len(data)) > maxEntrySize {
		return fmt.Errorf("initramfs: file %q is %d bytes, more than the 4 GiB that a newc archive can hold", name, len(data))
	}
	if err := w.add(name, &written{kind: kindFile, mode: m}, uint32(len(data))); err != nil {
		return err
	}
	if _, err := w.bw.Write(data); err != nil {
		return w.fail(err)
	}
	return w.pad()
}

// FileFrom adds the regular file name with permission bits mode, streaming
// its contents from the host file hostPath (symlinks are followed). The size
// is taken from the host file when the entry is written; if the file shrinks
// while it is copied, FileFrom fails.
func (w *Writer) FileFrom(name string, mode os.FileMode, hostPath string) error {
	return w.fileFrom(name, mode, hostPath, false)
}

// ExecutableFrom is [Writer.FileFrom] for an executable: a 64-bit
// little-endian ELF file is written without its debug sections (.debug_*,
// .zdebug_*) and static symbol table (.symtab and its string table), which
// nothing in the guest reads; other files are written as they are.
func (w *Writer) ExecutableFrom(name string, mode os.FileMode, hostPath string) error {
	return w.fileFrom(name, mode, hostPath, true)
}

func (w *Writer) fileFrom(name string, mode os.FileMode, hostPath string, strip bool) error {
	name, m, err := w.begin(name, kindFile, mode)
	if err != nil {
		return err
	}
	f, err := os.Open(hostPath)
	if err != nil {
		return fmt.Errorf("initramfs: cannot read host file for %q: %w", name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("initramfs: cannot stat host file for %q: %w", name, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("initramfs: host file %s for %q is %s, not a regular file; pass a regular file (use Dir or Symlink for other kinds)", hostPath, name, describeMode(fi.Mode()))
	}
	if prev := w.entries[name]; prev != nil {
		if prev.kind == kindFile && prev.host != nil && os.SameFile(prev.host, fi) && prev.mode == m && prev.stripped == strip {
			return nil
		}
		return w.duplicate(name, prev, "host file "+hostPath)
	}
	size := fi.Size()
	var src io.Reader = f
	if strip {
		if p := planStrip(f, size); p != nil {
			size, src = p.size, p.reader(f)
		}
	}
	if size > maxEntrySize {
		return fmt.Errorf("initramfs: host file %s for %q is %d bytes, more than the 4 GiB that a newc archive can hold", hostPath, name, size)
	}
	if err := w.add(name, &written{kind: kindFile, mode: m, host: fi, hostPath: hostPath, stripped: strip}, uint32(size)); err != nil {
		return err
	}
	// Flush the headers so the data can go straight to the underlying
	// writer, which lets an *os.File use copy_file_range or sendfile.
	if err := w.bw.Flush(); err != nil {
		return w.fail(err)
	}
	n, err := io.CopyN(w.cw, src, size)
	if errors.Is(err, io.EOF) {
		return w.fail(fmt.Errorf("initramfs: host file %s for %q shrank from %d to %d bytes while being archived; do not modify inputs while the archive is written", hostPath, name, size, n))
	}
	if err != nil {
		return w.fail(fmt.Errorf("initramfs: copying host file %s into %q: %w", hostPath, name, err))
	}
	return w.pad()
}

// Symlink adds name as a symbolic link to target. The target is stored as
// given; it is not checked and may be relative.
func (w *Writer) Symlink(name, target string) error {
	name, m, err := w.begin(name, kindSymlink, 0o777)
	if err != nil {
		return err
	}
	if target == "" {
		return fmt.Errorf("initramfs: symlink %q has an empty target", name)
	}
	if prev := w.entries[name]; prev != nil {
		if prev.kind == kindSymlink && prev.target == target {
			return nil
		}
		return w.duplicate(name, prev, "a symlink to "+target)
	}
	if err := w.add(name, &written{kind: kindSymlink, mode: m, target: target}, uint32(len(target))); err != nil {
		return err
	}
	if _, err := w.bw.WriteString(target); err != nil {
		return w.fail(err)
	}
	return w.pad()
}

// CharDev adds name as a character device node with permission bits mode
// and device number major:minor, for example CharDev("dev/console", 0o600,
// 5, 1).
func (w *Writer) CharDev(name string, mode os.FileMode, major, minor uint32) error {
	name, m, err := w.begin(name, kindCharDev, mode)
	if err != nil {
		return err
	}
	if prev := w.entries[name]; prev != nil {
		if prev.kind == kindCharDev && prev.mode == m && prev.major == major && prev.minor == minor {
			return nil
		}
		return w.duplicate(name, prev, fmt.Sprintf("a character device %d:%d", major, minor))
	}
	return w.add(name, &written{kind: kindCharDev, mode: m, major: major, minor: minor}, 0)
}

// Close writes the trailer that ends the archive and flushes buffered data
// to the underlying writer. It does not close the underlying writer. After
// Close, every method returns an error.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("initramfs: archive writer closed twice")
	}
	h := newcHeader{nlink: 1, name: newcTrailer}
	if err := w.writeHeader(&h); err != nil {
		return err
	}
	w.closed = true
	if err := w.bw.Flush(); err != nil {
		return w.fail(err)
	}
	return nil
}

// begin checks the state of the Writer, cleans name and converts mode for
// an entry of kind k.
func (w *Writer) begin(name string, k kind, mode os.FileMode) (string, uint32, error) {
	if w.err != nil {
		return "", 0, w.err
	}
	if w.closed {
		return "", 0, fmt.Errorf("initramfs: cannot add %q: the archive writer is already closed", name)
	}
	clean, err := cleanPath(name)
	if err != nil {
		return "", 0, fmt.Errorf("initramfs: %w", err)
	}
	m, err := unixMode(k, mode)
	if err != nil {
		return "", 0, fmt.Errorf("initramfs: %s %q: %w", k, clean, err)
	}
	return clean, m, nil
}

// add writes the missing parents of name, then the header of name. The
// caller writes the data that follows the header.
func (w *Writer) add(name string, e *written, size uint32) error {
	for _, p := range parents(name) {
		prev := w.entries[p]
		if prev == nil {
			d := &written{kind: kindDir, mode: modeDir | 0o755, implicit: name}
			if err := w.add(p, d, 0); err != nil {
				return err
			}
			continue
		}
		if prev.kind != kindDir {
			return fmt.Errorf("initramfs: cannot add %q: its parent %q is already a %s in the archive; the parent must be a directory", name, p, prev.kind)
		}
	}
	nlink := uint32(1)
	if e.kind == kindDir {
		nlink = 2
	}
	h := newcHeader{
		ino:       w.ino,
		mode:      e.mode,
		nlink:     nlink,
		size:      size,
		rdevMajor: e.major,
		rdevMinor: e.minor,
		name:      name,
	}
	if err := w.writeHeader(&h); err != nil {
		return err
	}
	w.ino++
	w.entries[name] = e
	return nil
}

// writeHeader writes h, the name and the padding after the name.
func (w *Writer) writeHeader(h *newcHeader) error {
	var buf [newcHeaderSize]byte
	h.encode(&buf)
	if _, err := w.bw.Write(buf[:]); err != nil {
		return w.fail(err)
	}
	if _, err := w.bw.WriteString(h.name); err != nil {
		return w.fail(err)
	}
	if err := w.bw.WriteByte(0); err != nil {
		return w.fail(err)
	}
	return w.pad()
}

// pad writes zero bytes up to the next multiple of 4.
func (w *Writer) pad() error {
	var zero [3]byte
	if _, err := w.bw.Write(zero[:padding(w.Written())]); err != nil {
		return w.fail(err)
	}
	return nil
}

// duplicate returns the error for adding name again as something other than
// what prev describes.
func (w *Writer) duplicate(name string, prev *written, now string) error {
	was := prev.kind.String()
	switch {
	case prev.host != nil:
		was = fmt.Sprintf("a file from host file %s (mode %#o)", prev.hostPath, prev.mode&0o7777)
	case prev.kind == kindSymlink:
		was = "a symlink to " + prev.target
	case prev.kind == kindCharDev:
		was = fmt.Sprintf("a character device %d:%d", prev.major, prev.minor)
	case prev.kind == kindDir:
		was = fmt.Sprintf("a directory with mode %#o", prev.mode&0o7777)
	}
	return fmt.Errorf("initramfs: %q is already in the archive as %s; cannot add it again as %s: every archive path must be added once", name, was, now)
}

// fail records err as the sticky error of the Writer and returns it.
func (w *Writer) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	return w.err
}

// countingWriter counts the bytes written through it. It implements
// io.ReaderFrom by delegating to the underlying writer when that can, so
// that copies from files keep the kernel's fast paths.
type countingWriter struct {
	w io.Writer
	n int64
}

// Write writes p to the underlying writer and counts it.
func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ReadFrom copies r to the underlying writer and counts the bytes.
func (c *countingWriter) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.w.(io.ReaderFrom); ok {
		n, err := rf.ReadFrom(r)
		c.n += n
		return n, err
	}
	return io.Copy(writerOnly{c}, r)
}

// writerOnly hides every method but Write, so io.Copy does not call back
// into countingWriter.ReadFrom.
type writerOnly struct{ io.Writer }

// describeMode names the file type in mode for error messages.
func describeMode(mode os.FileMode) string {
	switch {
	case mode.IsDir():
		return "a directory"
	case mode&os.ModeSymlink != 0:
		return "a symlink"
	case mode&os.ModeNamedPipe != 0:
		return "a named pipe"
	case mode&os.ModeSocket != 0:
		return "a socket"
	case mode&os.ModeCharDevice != 0:
		return "a character device"
	case mode&os.ModeDevice != 0:
		return "a block device"
	case mode.IsRegular():
		return "a regular file"
	}
	return "an irregular file"
}
