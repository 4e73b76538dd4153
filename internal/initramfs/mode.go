package initramfs

import (
	"fmt"
	"os"
)

// Unix file type and permission bits as stored in the newc mode field.
const (
	modeTypeMask = 0o170000
	modeDir      = 0o040000
	modeRegular  = 0o100000
	modeSymlink  = 0o120000
	modeCharDev  = 0o020000
	modeSetuid   = 0o4000
	modeSetgid   = 0o2000
	modeSticky   = 0o1000
)

// kind is the type of an archive entry.
type kind int

const (
	kindDir kind = iota + 1
	kindFile
	kindSymlink
	kindCharDev
)

// String names the kind for error messages.
func (k kind) String() string {
	switch k {
	case kindDir:
		return "directory"
	case kindFile:
		return "regular file"
	case kindSymlink:
		return "symlink"
	case kindCharDev:
		return "character device"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// fileModeType is the os.FileMode type bit that matches the kind.
func (k kind) fileModeType() os.FileMode {
	switch k {
	case kindDir:
		return os.ModeDir
	case kindSymlink:
		return os.ModeSymlink
	case kindCharDev:
		return os.ModeDevice | os.ModeCharDevice
	}
	return 0
}

// unixType is the S_IF* bits of the kind.
func (k kind) unixType() uint32 {
	switch k {
	case kindDir:
		return modeDir
	case kindSymlink:
		return modeSymlink
	case kindCharDev:
		return modeCharDev
	}
	return modeRegular
}

// unixMode converts mode, the permission (and optionally setuid, setgid and
// sticky) bits of an entry of kind k, to the value of the newc mode field.
// The special bits may be given as os.ModeSetuid, os.ModeSetgid and
// os.ModeSticky or as the Unix bits 0o4000, 0o2000 and 0o1000, so both
// os.ModeSticky|0o777 and 0o1777 work. mode may carry the os.FileMode type
// bits of k (os.ModeDir for a directory), but no others.
func unixMode(k kind, mode os.FileMode) (uint32, error) {
	const unixSpecial = modeSetuid | modeSetgid | modeSticky
	const allowed = os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky | unixSpecial
	if t := mode.Type(); t != 0 && t != k.fileModeType() {
		return 0, fmt.Errorf("mode %v has file type bits that do not fit a %v; pass only permission bits such as 0o755", mode, k)
	}
	if extra := mode &^ os.ModeType &^ allowed; extra != 0 {
		return 0, fmt.Errorf("mode %v (%#o) has bits besides permissions, setuid, setgid and sticky; pass permission bits such as 0o755, not a raw st_mode with file type bits", mode, uint32(mode))
	}
	m := k.unixType() | uint32(mode.Perm()) | uint32(mode)&unixSpecial
	if mode&os.ModeSetuid != 0 {
		m |= modeSetuid
	}
	if mode&os.ModeSetgid != 0 {
		m |= modeSetgid
	}
	if mode&os.ModeSticky != 0 {
		m |= modeSticky
	}
	return m, nil
}
