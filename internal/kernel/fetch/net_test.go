package fetch

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/internal/kernel"
	"github.com/ktstr-go/ktstr/internal/kernel/image"
)

// TestFetchNetwork fetches a real kernel through the host's apt sources
// (or KTSTR_DEBIAN_MIRROR). It downloads about 15 MB, so it runs only with
// KTSTR_NET_TESTS=1.
func TestFetchNetwork(t *testing.T) {
	if os.Getenv("KTSTR_NET_TESTS") != "1" {
		t.Skip("set KTSTR_NET_TESTS=1 to fetch a kernel from the Debian archive")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	k, err := Kernel(ctx, Options{CacheDir: t.TempDir(), Log: tlog{t}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fetched %s (%s) in %v, archive verified: %v", k.Version, k.Meta.PackageVersion, time.Since(start), k.Meta.ArchiveVerified)
	if k.SchedExt != kernel.SupportYes || !k.HasBTF || !k.HasPVH {
		t.Errorf("kernel %+v lacks sched_ext, BTF or PVH", k)
	}
	info, err := image.Inspect(k.Vmlinux)
	if err != nil || info.Kind != image.KindELF || !info.HasBTF || !info.HasPVH || info.Version != k.Version {
		t.Errorf("vmlinux: %+v, %v", info, err)
	}
}

// tlog sends Kernel's notes to the test log.
type tlog struct{ t *testing.T }

func (l tlog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
