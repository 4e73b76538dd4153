package kernel

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// BuildInstallHint says how to get what a kernel build needs on Debian or
// Ubuntu.
const BuildInstallHint = "apt-get install gcc make flex bison bc libelf-dev libssl-dev dwarves (or run `scripts/install-build-deps.sh kernel` as root)"

// buildTools are the programs a kernel build runs, with the Debian
// package of each. pahole (dwarves) turns the DWARF into the BTF that
// sched_ext needs; Kconfig asks for its version while configuring, so
// without it DEBUG_INFO_BTF would be dropped before the build even starts.
var buildTools = []struct{ name, pkg string }{
	{"make", "make"},
	{"gcc", "gcc"},
	{"ld", "binutils"},
	{"flex", "flex"},
	{"bison", "bison"},
	{"bc", "bc"},
	{"awk", "mawk"},
	{"perl", "perl"},
	{"pahole", "dwarves"},
}

// buildHeaders are the C headers of libraries the kernel's host tools
// link: objtool reads ELF with libelf; certificate tools use OpenSSL.
var buildHeaders = []struct{ header, pkg string }{
	{"gelf.h", "libelf-dev"},
	{"openssl/opensslv.h", "libssl-dev"},
}

// checkBuildTools says which programs and headers a kernel build needs
// that this host lacks, and how to install them, before anything starts.
func checkBuildTools(ctx context.Context) error {
	var missing, pkgs []string
	for _, t := range buildTools {
		if _, err := exec.LookPath(t.name); err != nil {
			missing = append(missing, t.name)
			pkgs = append(pkgs, t.pkg)
		}
	}
	if _, err := exec.LookPath("gcc"); err == nil {
		for _, h := range buildHeaders {
			// The compiler's own search path is the one the build uses.
			cmd := exec.CommandContext(ctx, "gcc", "-E", "-x", "c", "-o", "/dev/null", "-")
			cmd.Stdin = strings.NewReader("#include <" + h.header + ">\n")
			if cmd.Run() != nil {
				missing = append(missing, "<"+h.header+">")
				pkgs = append(pkgs, h.pkg)
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("the kernel build needs what this host lacks: %s; install with: apt-get install %s (or run `scripts/install-build-deps.sh kernel` as root)",
		strings.Join(missing, ", "), strings.Join(pkgs, " "))
}
