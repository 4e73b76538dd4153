package initramfs

import (
	"io"
	"slices"
)

// WriteTo writes the archive to w and returns the number of bytes written.
// Entries are written in a fixed order that depends only on their archive
// paths, with every directory before its contents, so the same Builder
// always produces the same bytes (as long as the host files do not change).
// Host files are streamed, not read into memory.
func (b *Builder) WriteTo(w io.Writer) (int64, error) {
	aw := NewWriter(w)
	for _, name := range b.sortedNames() {
		if err := b.entries[name].write(aw, name); err != nil {
			return aw.cw.n, err
		}
	}
	err := aw.Close()
	return aw.cw.n, err
}

// sortedNames returns the archive paths of all entries in writing order.
func (b *Builder) sortedNames() []string {
	names := make([]string, 0, len(b.entries))
	for name := range b.entries {
		names = append(names, name)
	}
	slices.SortFunc(names, comparePaths)
	return names
}

// write adds e to aw at name.
func (e *entry) write(aw *Writer, name string) error {
	switch e.kind {
	case kindDir:
		return aw.Dir(name, e.mode)
	case kindSymlink:
		return aw.Symlink(name, e.target)
	case kindCharDev:
		return aw.CharDev(name, e.mode, e.major, e.minor)
	}
	if e.hostInfo != nil && e.strip {
		return aw.ExecutableFrom(name, e.mode, e.hostPath)
	}
	if e.hostInfo != nil {
		return aw.FileFrom(name, e.mode, e.hostPath)
	}
	return aw.File(name, e.mode, e.data)
}
