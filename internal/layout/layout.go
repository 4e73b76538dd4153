// Package layout is the guest's file layout that the host packs and the
// guest reads: where the scheduler, the payloads and the kernel's
// configuration live in the initramfs. Both sides import it, so the paths
// are spelled once.
package layout

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

const (
	// Root is ktstr's own directory in the guest; a scheduler's Files may
	// not be packed under it.
	Root = "/ktstr"
	// Bin holds the scheduler binary.
	Bin = Root + "/bin"
	// Payloads holds payload binaries, one directory per payload:
	// Payloads/<name>/<binary>.
	Payloads = Root + "/payload"
	// PayloadLibraryPath, when packed, holds the LD_LIBRARY_PATH payloads
	// need: guest directories of libraries that the loader finds only
	// through it (rare: the host found them through LD_LIBRARY_PATH or a
	// non-default ld.so.conf directory).
	PayloadLibraryPath = Payloads + "/.library-path"
	// KernelConfig is where the kernel's configuration is packed; the guest
	// links /boot/config-<release> to it.
	KernelConfig = Root + "/kernel.config"
)

// SchedulerPath is where the scheduler binary found at hostPath lives in
// the guest.
func SchedulerPath(hostPath string) string {
	return path.Join(Bin, filepath.Base(hostPath))
}

// PayloadPath is where the binary of the payload called name lives in the
// guest. It depends only on the declaration (the binary's name), so host
// and guest agree without the host's files.
func PayloadPath(name, binary string) string {
	return path.Join(Payloads, name, filepath.Base(binary))
}

// Archive turns a guest path into its name in the initramfs archive, which
// has no leading slash.
func Archive(guestPath string) string {
	return guestPath[1:]
}

// reserved are guest directories a user's file may not go in: the
// harness's own, and those a file system is mounted over at boot (a file
// packed there would be hidden).
var reserved = []string{Root, "/proc", "/sys", "/dev", "/tmp", "/run"}

// CheckUserPath reports what is wrong with p as the guest path of a file a
// user packs (a scheduler's Files, the shell's --include): it must be a
// clean absolute path, not /init (the test binary) and not in a reserved
// directory.
func CheckUserPath(p string) error {
	if !strings.HasPrefix(p, "/") || p == "/" || path.Clean(p) != p {
		return fmt.Errorf("guest path %q: want a clean absolute path such as /etc/mysched.toml", p)
	}
	if p == "/init" {
		return fmt.Errorf("guest path %q: that is the guest's init (the test binary, or the ktstr command); choose another path", p)
	}
	for _, d := range reserved {
		if p == d || strings.HasPrefix(p, d+"/") {
			return fmt.Errorf("guest path %q: %s is reserved (the harness's, or mounted over at boot); use a path under /etc, /opt, /usr or /var", p, d)
		}
	}
	return nil
}
