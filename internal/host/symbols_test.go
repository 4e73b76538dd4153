package host

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/internal/kernel"
	"github.com/ktstr-go/ktstr/internal/wire"
)

func TestSymbolsCache(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir := t.TempDir()
	img := filepath.Join(dir, "vmlinux")
	if err := os.WriteFile(img, []byte("kernel"), 0o644); err != nil {
		t.Fatal(err)
	}
	k := &kernel.Kernel{Image: img, Vmlinux: img}
	syms := map[string]uint64{}
	for i, s := range wire.KernelSymbols {
		syms[s] = 0xffffffff81000000 + uint64(i)*8
	}
	if cachedSymbols(k) != nil {
		t.Fatal("symbols cached before any boot")
	}
	keepSymbols(k, nil, map[string]uint64{"phys_base": 1}, false)
	if cachedSymbols(k) != nil {
		t.Error("kept symbols without the required ones")
	}
	keepSymbols(k, nil, syms, false)
	if got := cachedSymbols(k); len(got) != len(syms) || got["runqueues"] != syms["runqueues"] {
		t.Fatalf("cached %v, want %v", got, syms)
	}
	// The kernel file changing changes the key.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(img, later, later); err != nil {
		t.Fatal(err)
	}
	if cachedSymbols(k) != nil {
		t.Error("symbols of a changed kernel file were found")
	}
	keepSymbols(k, nil, syms, false)
	// Kept symbols through which the host did not find the runqueues go.
	keepSymbols(k, syms, syms, true)
	if cachedSymbols(k) != nil {
		t.Error("bad symbols were kept")
	}
}
