package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ktstr-go/ktstr/internal/kernel"
)

func kernelBuildCmd() *cobra.Command {
	var opts kernel.BuildOptions
	var verbose bool
	c := &cobra.Command{
		Use:   "build --source DIR",
		Short: "Build a kernel from a source tree with the sched_ext config fragment into the cache",
		Long: `build configures and builds the kernel of a source tree for ktstr and stores
vmlinux, the bzImage, the config and System.map in the kernel cache, where
` + "`ktstr kernel list`" + ` shows it, ` + "`ktstr kernel verify`" + ` checks it and --kernel KEY or
KTSTR_KERNEL=KEY boot it (as does --kernel DIR for the tree, once built).

The config starts from --config FILE, or the config a make target writes
(--base alldefconfig, ...), or the tree's .config, or else
` + "`make defconfig`" + `. ktstr's sched_ext fragment (sched_ext, BPF, BTF, PVH boot,
cgroups, schedstats, virtio console, what the harness reads in the guest) is
written over it and ` + "`make olddefconfig`" + ` resolves it; an option of the fragment
that Kconfig dropped fails the build before it starts, naming what the option
depends on.

The tree is never written to: make reads it through a copy made of
symbolic links and builds out of tree in a temporary directory of the cache,
removed at the end, so a tree configured or built in place is fine. The
cache key is the Makefile's version, the tree's state (the git commit, plus
-dirty-<hash> of its changes; for a tree without git, a hash of its file
listing) and a hash of the final config; a build already in the cache is
not done again unless --force.

Build tools: ` + kernel.BuildInstallHint + `.`,
		Example: `  # A small guest kernel (Kconfig defaults plus the fragment) from an unpacked tree:
  ktstr kernel build --source ~/src/linux-source-7.3 --base alldefconfig
  # A git checkout with its own .config, then a test on it:
  ktstr kernel build --source ~/src/linux
  KTSTR_KERNEL=~/src/linux go test ./...`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Log = os.Stderr
			opts.Terminal = term.IsTerminal(int(os.Stderr.Fd()))
			if verbose {
				opts.BuildLog, opts.Terminal = os.Stderr, false
			}
			t0 := time.Now()
			res, err := kernel.Build(cmd.Context(), opts)
			if err != nil {
				return err
			}
			k := res.Kernel
			state := "already built"
			if !res.Cached {
				state = fmt.Sprintf("built: %d objects, config %s, make %s, build directory %.1f GB (removed)",
					res.Objects, res.Config.Round(time.Second/10), res.Make.Round(time.Second), float64(res.BuildBytes)/(1<<30))
			}
			fmt.Printf("%s\t%s\t(%s; %s)\n", k.Key, k.Version, state, time.Since(t0).Round(time.Second/10))
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&opts.Source, "source", "", "the kernel source tree to build (required)")
	f.StringVar(&opts.Config, "config", "", "config file to start from (default: the tree's .config, else make defconfig)")
	f.StringVar(&opts.Base, "base", "", "make target that writes the config to start from, e.g. defconfig, or alldefconfig for a small kernel")
	f.IntVarP(&opts.Jobs, "jobs", "j", 0, "parallel make jobs (default: the number of CPUs)")
	f.BoolVar(&opts.Force, "force", false, "build again even if the cache has this build, replacing it")
	f.StringVar(&opts.CacheDir, "cache-dir", "", "kernel cache (default as for fetch)")
	f.BoolVarP(&verbose, "verbose", "v", false, "show make's whole output")
	_ = c.MarkFlagRequired("source")
	c.MarkFlagsMutuallyExclusive("config", "base")
	return c
}

func kernelCleanCmd() *cobra.Command {
	var opts kernel.CleanOptions
	var cacheDir string
	c := &cobra.Command{
		Use:   "clean [KEY...] [--all] [--keep N]",
		Short: "Remove kernels from the cache: by key, all, or all but the newest N",
		Long: `clean removes kernel cache entries, fetched or built: those named by their
keys (as ` + "`ktstr kernel list`" + ` shows them), or every one (--all), or all but the
newest N (--keep N). Without any of these it removes nothing and says so. A
test that is booting a kernel while it is removed keeps reading its files.`,
		Example: `  ktstr kernel clean build-7.3.4-tree-a176722a4746-config-5e0c4a1b2d3f
  ktstr kernel clean --keep 2
  ktstr kernel clean --all`,
		RunE: func(cmd *cobra.Command, keys []string) error {
			if cacheDir == "" {
				d, err := kernel.CacheDir()
				if err != nil {
					return err
				}
				cacheDir = d
			}
			opts.Keys, opts.KeepSet = keys, cmd.Flags().Changed("keep")
			removed, err := kernel.Clean(cacheDir, opts)
			var total int64
			for _, r := range removed {
				total += r.Bytes
				fmt.Printf("removed %s\t%s\t%s\t%.0f MB\n", r.Key, orDash(r.Version), orDash(r.Source), float64(r.Bytes)/(1<<20))
			}
			if errors.Is(err, kernel.ErrNothingSelected) {
				return fmt.Errorf("%w (cache: %s)", err, cacheDir)
			}
			if err != nil {
				return err
			}
			if len(removed) == 0 {
				fmt.Fprintf(os.Stderr, "nothing to remove in %s\n", cacheDir)
				return nil
			}
			fmt.Fprintf(os.Stderr, "removed %d kernels (%.0f MB) from %s\n", len(removed), float64(total)/(1<<20), cacheDir)
			return nil
		},
	}
	f := c.Flags()
	f.BoolVar(&opts.All, "all", false, "remove every cached kernel")
	f.IntVar(&opts.Keep, "keep", 0, "remove all but the newest N")
	f.StringVar(&cacheDir, "cache-dir", "", "kernel cache (default as for fetch)")
	return c
}
