package host

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ktstr-go/ktstr/internal/cachedir"
	"github.com/ktstr-go/ktstr/internal/kernel"
	"github.com/ktstr-go/ktstr/internal/wire"
)

// The guest's kernel symbol addresses (wire.KernelSymbols), kept per
// kernel between boots. The guest boots with nokaslr, so a kernel image
// puts them at the same addresses every time, and reading them from
// /proc/kallsyms took about a second of each boot under TCG. They are a
// cache: a kernel file that changes changes the key, and symbols through
// which the host did not find the guest's runqueues are dropped.

// symbolsFile returns where the symbols of kernel k are kept, "" when
// there is no place for them.
func symbolsFile(k *kernel.Kernel) string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	h := sha256.New()
	for _, p := range []string{k.BootImage(), k.Vmlinux} {
		fi, err := os.Stat(p)
		if err != nil {
			return ""
		}
		abs, _ := filepath.Abs(p)
		fmt.Fprintf(h, "%s %d %d\n", abs, fi.Size(), fi.ModTime().UnixNano())
	}
	// A ktstr that reads more symbols must not take a set kept by one
	// that read fewer: the list is part of the key.
	fmt.Fprintln(h, wire.KernelSymbols)
	return filepath.Join(dir, "ktstr", "symbols", hex.EncodeToString(h.Sum(nil)[:12])+".json")
}

// cachedSymbols returns the kept symbols of k, or nil.
func cachedSymbols(k *kernel.Kernel) map[string]uint64 {
	p := symbolsFile(k)
	if p == "" {
		return nil
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil
	}
	var syms map[string]uint64
	if json.Unmarshal(b, &syms) != nil {
		return nil
	}
	return syms
}

// keepSymbols records what a boot of k taught about its symbols: the
// addresses the guest read from its /proc/kallsyms, or that the kept ones
// were wrong (bad: the host did not find the guest's runqueues through
// them).
func keepSymbols(k *kernel.Kernel, sent, got map[string]uint64, bad bool) {
	p := symbolsFile(k)
	switch {
	case p == "":
	case bad && sent != nil:
		_ = os.Remove(p)
	case !bad && sent == nil && wire.HasRequiredSymbols(got):
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return
		}
		_ = cachedir.WriteFile(p, 0o644, func(w io.Writer) error { return json.NewEncoder(w).Encode(got) })
	}
}
