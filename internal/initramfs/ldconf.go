package initramfs

import (
	"bufio"
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ldSoConf is the file that lists the library directories of ldconfig.
const ldSoConf = "/etc/ld.so.conf"

// readLdSoConf returns the library directories listed in the ld.so.conf
// file at path, following "include" lines (globs, relative ones taken
// relative to the directory of the file that has them) in the order
// ldconfig reads them. "hwcap" lines are ignored. A missing file yields no
// directories and no error: ldconfig treats it the same way.
func readLdSoConf(path string) ([]string, error) {
	var dirs []string
	seen := make(map[string]bool)
	err := readLdSoConfFile(path, &dirs, seen, 0)
	return dirs, err
}

// readLdSoConfFile appends the directories of one conf file to dirs.
func readLdSoConfFile(path string, dirs *[]string, seen map[string]bool, depth int) error {
	if depth > 16 {
		return fmt.Errorf("initramfs: %s: includes nest more than 16 deep (an include loop?); fix the ld.so.conf files", path)
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("initramfs: reading library search path: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		fields := strings.Fields(line)
		switch fields[0] {
		case "include":
			for _, pattern := range fields[1:] {
				if !filepath.IsAbs(pattern) {
					pattern = filepath.Join(filepath.Dir(path), pattern)
				}
				matches, err := filepath.Glob(pattern)
				if err != nil {
					return fmt.Errorf("initramfs: %s: bad include pattern %q: %w", path, pattern, err)
				}
				sort.Strings(matches)
				for _, m := range matches {
					if err := readLdSoConfFile(m, dirs, seen, depth+1); err != nil {
						return err
					}
				}
			}
		case "hwcap":
		default:
			// Old ldconfig syntax allowed "dir=type"; only the directory matters.
			dir, _, _ := strings.Cut(line, "=")
			dir = filepath.Clean(strings.TrimSpace(dir))
			if filepath.IsAbs(dir) && !seen[dir] {
				seen[dir] = true
				*dirs = append(*dirs, dir)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("initramfs: reading %s: %w", path, err)
	}
	return nil
}

// defaultLibDirs returns the directories the loader searches last for
// objects of machine m: the multiarch directories of Debian-like systems,
// then the lib64 directories of Red Hat-like systems, then /lib and
// /usr/lib.
func defaultLibDirs(m machine) []string {
	var triplet, lib64 string
	switch m.mach {
	case elf.EM_X86_64:
		triplet, lib64 = "x86_64-linux-gnu", "64"
	case elf.EM_AARCH64:
		triplet, lib64 = "aarch64-linux-gnu", "64"
	case elf.EM_386:
		triplet, lib64 = "i386-linux-gnu", "32"
	case elf.EM_RISCV:
		triplet, lib64 = "riscv64-linux-gnu", "64"
	}
	var dirs []string
	if triplet != "" {
		dirs = append(dirs, "/lib/"+triplet, "/usr/lib/"+triplet)
	}
	if lib64 != "" {
		dirs = append(dirs, "/lib"+lib64, "/usr/lib"+lib64)
	}
	return append(dirs, "/lib", "/usr/lib")
}
