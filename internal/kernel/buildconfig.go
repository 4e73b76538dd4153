package kernel

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ktstr-go/ktstr/internal/kernel/kconfig"
	"github.com/ktstr-go/ktstr/internal/logtail"
)

// configure writes the final config into b.out/.config and returns it,
// with where it started.
func (b *kbuild) configure(ctx context.Context, base []byte) (final []byte, from string, err error) {
	cfgPath := filepath.Join(b.out, ".config")
	switch {
	case base != nil:
		from = "--config " + b.opts.Config
	case b.opts.Base != "":
		from = "make " + b.opts.Base
	default:
		if base, err = b.tree.Config(); err != nil {
			return nil, "", fmt.Errorf("read the tree's .config: %w", err)
		}
		from = "the tree's .config"
		if base == nil {
			from = "make " + DefaultBase
		}
	}
	fragment := kconfig.SchedExt()
	if base == nil {
		target := strings.TrimPrefix(from, "make ")
		args := []string{target}
		if allConfigRe().MatchString(target) {
			// Merged in afterwards, the fragment would leave the values
			// such a config computed without it: alldefconfig has no SMP
			// and NR_CPUS=1, which stays out of range (and becomes 2)
			// once SMP is on. These targets take the fragment as values
			// to start from instead, so everything else follows it.
			frag := filepath.Join(filepath.Dir(b.out), "sched_ext.config")
			if err := os.WriteFile(frag, fragment, 0o644); err != nil {
				return nil, "", err
			}
			args = append(args, "KCONFIG_ALLCONFIG="+frag)
		}
		if out, err := b.quietMake(ctx, args...); err != nil {
			return nil, "", fmt.Errorf("make %s failed: %v\n%s", target, err, logtail.LastLines(out, failTail))
		}
		if base, err = os.ReadFile(cfgPath); err != nil {
			return nil, "", fmt.Errorf("make %s wrote no config: %w", target, err)
		}
	}
	if err := os.WriteFile(cfgPath, kconfig.Merge(base, fragment), 0o644); err != nil {
		return nil, "", err
	}
	if out, err := b.quietMake(ctx, "olddefconfig"); err != nil {
		return nil, "", fmt.Errorf("make olddefconfig failed: %v\n%s", err, logtail.LastLines(out, failTail))
	}
	if final, err = os.ReadFile(cfgPath); err != nil {
		return nil, "", err
	}
	if bad := kconfig.Check(final, fragment); len(bad) > 0 {
		return nil, "", b.droppedError(bad, final, from)
	}
	return final, from, nil
}

// quietMake runs a short make target, returning its output.
func (b *kbuild) quietMake(ctx context.Context, args ...string) ([]byte, error) {
	var out logtail.Buffer
	var w io.Writer = &out
	if b.opts.BuildLog != nil {
		w = io.MultiWriter(&out, b.opts.BuildLog)
	}
	err := RunMake(ctx, w, b.makeArgs(args...)...)
	return out.Bytes(), err
}

// droppedError lists the fragment's options that did not hold, each with
// what its Kconfig entry depends on.
func (b *kbuild) droppedError(bad []kconfig.Mismatch, final []byte, from string) error {
	defs := b.definitions(bad)
	var lines []string
	for _, m := range bad {
		lines = append(lines, "  "+kconfig.Explain(m, defs[m.Name], final))
	}
	return fmt.Errorf("the sched_ext config fragment did not hold in %s after make olddefconfig (Kconfig drops an option whose dependencies fail):\n%s\nset what they depend on in the config you start from (now %s), or start from another (--config FILE or --base TARGET)",
		b.tree.Dir, strings.Join(lines, "\n"), from)
}

// definitions reads the Kconfig files of the tree for the options of bad:
// about 1,700 files, read only when a build fails this way. Other
// architectures' files are left out.
func (b *kbuild) definitions(bad []kconfig.Mismatch) map[string][]kconfig.Definition {
	defs := map[string][]kconfig.Definition{}
	_ = filepath.WalkDir(b.tree.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			rel, _ := filepath.Rel(b.tree.Dir, p)
			if strings.HasPrefix(d.Name(), ".") || (filepath.Dir(rel) == "arch" && d.Name() != "x86") || rel == "tools" || rel == "Documentation" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasPrefix(d.Name(), "Kconfig") {
			return nil
		}
		text, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		for _, m := range bad {
			defs[m.Name] = append(defs[m.Name], kconfig.Define(text, m.Name)...)
		}
		return nil
	})
	return defs
}
