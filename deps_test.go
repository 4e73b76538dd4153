package ktstr

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/internal/guest"
)

// hostOnly are the packages a test binary must not link. Every ktstr test
// binary boots as the init of a VM, under emulation where package
// initialisation and page-faulting a big binary are slow: these are only
// needed to fetch kernels and build schedulers, which the ktstr command
// does, and they cost every boot about a fifth of a second (OpenPGP, HTTP,
// TLS, zstd and xz) and a dynamic loader (runtime/cgo, which package net
// brings in). A name ending in "/..." stands for a package and those under
// it, as in a go command pattern.
var hostOnly = []string{
	thisModule + "/internal/kernel/debian",
	thisModule + "/internal/kernel/fetch",
	thisModule + "/internal/kernel/image/extract",
	thisModule + "/internal/scx/build",
	"net",
	"net/http",
	"crypto/tls",
	"crypto/x509",
	"runtime/cgo",
	"github.com/ProtonMail/go-crypto/...",
	"github.com/cloudflare/circl/...",
	"github.com/klauspost/compress/...",
	"github.com/ulikunitz/xz/...",
}

// thisModule is the path of this module.
const thisModule = "github.com/ktstr-go/ktstr"

// TestDeps checks that the public API, and the host and guest runtimes
// under it, link none of the hostOnly packages, and names who imports one
// that crept in.
func TestDeps(t *testing.T) {
	if guest.Active() {
		return
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on $PATH")
	}
	roots := []string{thisModule, thisModule + "/internal/host", thisModule + "/internal/guest"}
	cmd := exec.Command("go", append([]string{"list", "-deps", "-f", `{{.ImportPath}} {{join .Imports " "}}`}, roots...)...)
	// The guest is Linux, whatever the host.
	cmd.Env = append(os.Environ(), "GOOS=linux")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		for i, imp := range f[1:] {
			// Cgo's import "C" is what links runtime/cgo.
			if imp == "C" {
				f[1+i] = "runtime/cgo"
			}
		}
		imports[f[0]] = f[1:]
	}
	if _, ok := imports[thisModule]; !ok {
		t.Fatalf("go list did not list %s:\n%s", thisModule, out)
	}
	var bad []string
	for p := range imports {
		if forbidden(p) {
			bad = append(bad, p)
		}
	}
	slices.Sort(bad)
	for _, p := range bad {
		c := chain(imports, roots, p)
		// Reported once, at the first forbidden package on the way:
		// what it brings in goes with it.
		if slices.ContainsFunc(c[:len(c)-1], forbidden) {
			continue
		}
		t.Errorf("%s links %s, which a test binary must not (see hostOnly): %s", c[0], p, strings.Join(c, " → "))
	}
}

// forbidden reports whether p is one of hostOnly.
func forbidden(p string) bool {
	return slices.ContainsFunc(hostOnly, func(h string) bool {
		if tree, ok := strings.CutSuffix(h, "/..."); ok {
			return p == tree || strings.HasPrefix(p, tree+"/")
		}
		return p == h
	})
}

// chain returns a shortest import chain from one of roots to p.
func chain(imports map[string][]string, roots []string, p string) []string {
	from := map[string]string{}
	queue := slices.Clone(roots)
	for _, r := range roots {
		from[r] = ""
	}
	for len(queue) > 0 {
		q := queue[0]
		queue = queue[1:]
		if q == p {
			var c []string
			for ; q != ""; q = from[q] {
				c = append(c, q)
			}
			slices.Reverse(c)
			return c
		}
		for _, i := range imports[q] {
			if _, seen := from[i]; !seen {
				from[i] = q
				queue = append(queue, i)
			}
		}
	}
	return []string{p}
}
