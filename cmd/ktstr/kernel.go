package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/ktstr-go/ktstr/internal/env"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ktstr-go/ktstr/internal/cachedir"
	"github.com/ktstr-go/ktstr/internal/kernel"
	"github.com/ktstr-go/ktstr/internal/kernel/debian"
	"github.com/ktstr-go/ktstr/internal/kernel/fetch"
)

func kernelCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "kernel",
		Short: "Fetch, build, list, resolve and remove test kernels",
		Long: `kernel manages the cache of kernels VMs boot (default ~/.cache/ktstr/kernels):
Debian's sched_ext kernels fetched from the archive, and kernels built from
a source tree with the sched_ext configuration fragment. Tests, ktstr run,
shell and verifier take a kernel by cache key, version prefix, image or
source tree (--kernel, $` + env.Kernel + `), else the newest cached.`,
		Example: `  ktstr kernel fetch
  ktstr kernel build --source ~/src/linux
  ktstr kernel list
  ktstr kernel resolve 7.3`,
	}
	c.AddCommand(kernelFetchCmd(), kernelBuildCmd(), kernelListCmd(), kernelResolveCmd(), kernelVerifyCmd(), kernelCleanCmd())
	return c
}

func kernelFetchCmd() *cobra.Command {
	var opts fetch.Options
	c := &cobra.Command{
		Use:   "fetch",
		Short: "Download the newest sched_ext kernel from the Debian archive into the cache",
		Long: `fetch downloads the newest Debian kernel of the suite whose config has
CONFIG_SCHED_CLASS_EXT=y, checking the archive's signature (when the Debian
keyring is installed) and every checksum, and stores its bzImage, the vmlinux
extracted from it and its config in the cache. The archive is the one the
apt configuration names, or --mirror, or $` + fetch.MirrorEnv + `.
When the newest kernel is cached already nothing is downloaded but the
archive's indexes, unless --force: that downloads it again and replaces the
entry. (` + "`ktstr kernel verify --repair`" + ` fetches any damaged entry again,
the newest or not.)`,
		Example: `  ktstr kernel fetch
  ktstr kernel fetch --suite trixie-backports --force`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Log = os.Stderr
			if term.IsTerminal(int(os.Stderr.Fd())) {
				opts.Progress = debian.TerminalProgress(os.Stderr)
			}
			t0 := time.Now()
			k, err := fetch.Kernel(cmd.Context(), opts)
			if err != nil {
				return err
			}
			fmt.Printf("%s\t%s\t(%s, %.1fs)\n", k.Key, k.Version, k.Source, time.Since(t0).Seconds())
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&opts.Mirror, "mirror", "", "Debian archive URI (default: $"+fetch.MirrorEnv+", then the apt configuration)")
	f.StringVar(&opts.Suite, "suite", debian.DefaultSuite, "Debian suite to take the kernel from")
	f.StringVar(&opts.CacheDir, "cache-dir", "", "kernel cache (default: $KTSTR_CACHE_DIR, $XDG_CACHE_HOME/ktstr/kernels or ~/.cache/ktstr/kernels)")
	f.StringVar(&opts.AptDir, "apt-dir", "/etc/apt", "apt configuration to read the archive URI from")
	f.BoolVar(&opts.Force, "force", false, "download the kernel again even if it is cached, replacing the entry")
	return c
}

func kernelListCmd() *cobra.Command {
	var cacheDir string
	c := &cobra.Command{
		Use:   "list",
		Short: "List cached kernels, newest first",
		Long: `list shows each cache entry: its key, kernel version, where it came from
(the Debian archive, or a source tree it was built from), when, whether it
has sched_ext and BTF, and its state (DAMAGED when its files no longer match
their records; ktstr kernel verify says what).`,
		Example: `  ktstr kernel list`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cacheDir == "" {
				d, err := kernel.CacheDir()
				if err != nil {
					return err
				}
				cacheDir = d
			}
			entries, err := kernel.List(cacheDir)
			if err != nil {
				return err
			}
			if len(entries) == 0 {
				fmt.Fprintf(os.Stderr, "no kernels in %s; run `ktstr kernel fetch`\n", cacheDir)
				return nil
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "KEY\tVERSION\tSOURCE\tADDED\tSCHED_EXT\tBTF\tSTATUS")
			var damaged []kernel.Entry
			for _, e := range entries {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Key, orDash(e.Version), orDash(e.Source),
					e.FetchedAt.Local().Format("2006-01-02 15:04"), yesNo(e.SchedExt), yesNo(e.BTF), entryStatus(&e))
				if e.Damage != nil {
					damaged = append(damaged, e)
				}
			}
			if err := w.Flush(); err != nil {
				return err
			}
			for _, e := range damaged {
				fmt.Fprintf(os.Stderr, "%v\n  %s\n", e.Damage, e.RepairHint())
			}
			return nil
		},
	}
	c.Flags().StringVar(&cacheDir, "cache-dir", "", "kernel cache (default as for fetch)")
	return c
}

func kernelResolveCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "resolve [KERNEL]",
		Short: "Show which kernel tests would boot for KERNEL (default: $KTSTR_KERNEL, else the newest cached)",
		Long: `resolve prints the files a VM would boot for KERNEL: a cache key, a
version prefix, an image or a built source tree, as --kernel and $` + env.Kernel + `
take them.`,
		Example: `  ktstr kernel resolve
  ktstr kernel resolve 7.3
  ktstr kernel resolve ~/src/linux`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec := os.Getenv(env.Kernel)
			if len(args) == 1 {
				spec = args[0]
			}
			k, err := kernel.Resolve(spec, "")
			if err != nil {
				return err
			}
			for _, n := range k.Notes {
				fmt.Fprintln(os.Stderr, n)
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintf(w, "version\t%s\nboot image\t%s\nbzImage\t%s\nvmlinux\t%s\nconfig\t%s\nsched_ext\t%s\nBTF\t%s\nPVH\t%s\nsource\t%s\n",
				k.Version, k.BootImage(), k.Image, k.Vmlinux, k.Config, k.SchedExt, yesNo(k.HasBTF), yesNo(k.HasPVH), k.Source)
			return w.Flush()
		},
	}
	return c
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// entryStatus is the STATUS column of kernel list: what the quick check on
// use found.
func entryStatus(e *kernel.Entry) string {
	switch {
	case e.Damage != nil:
		return "DAMAGED"
	case e.Unchecked():
		return "unchecked (no checksums)"
	}
	return "ok"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func kernelVerifyCmd() *cobra.Command {
	var cacheDir string
	var repair bool
	c := &cobra.Command{
		Use:   "verify [KEY...]",
		Short: "Check cached kernels against their recorded SHA-256 sums (default: every entry)",
		Long: `verify reads every file of each cache entry and compares its size and
SHA-256 with what was recorded when the entry was stored. (Every use checks
sizes and times only.) It exits 1 when an entry is damaged, saying what is
wrong and how to repair it.

With --repair, a damaged entry that came from the Debian archive is fetched
again: the same release, from the archive and suite it came from. So is one
stored by an older ktstr without checksums, which then gets them. A damaged
kernel built from source is reported with how to build it again. (ktstr
test fetches a damaged entry again before the tests start when the check on
use sees the damage; a test binary run by go test only reports it.)`,
		Example: `  ktstr kernel verify
  ktstr kernel verify debian-7.3.4+deb13-amd64
  ktstr kernel verify --repair`,
		RunE: func(cmd *cobra.Command, keys []string) error {
			if cacheDir == "" {
				d, err := kernel.CacheDir()
				if err != nil {
					return err
				}
				cacheDir = d
			}
			var opts *fetch.Options
			if repair {
				opts = &fetch.Options{CacheDir: cacheDir, Log: os.Stderr}
				if term.IsTerminal(int(os.Stderr.Fd())) {
					opts.Progress = debian.TerminalProgress(os.Stderr)
				}
			}
			return verifyKernels(cmd.Context(), cmd.OutOrStdout(), cacheDir, keys, opts)
		},
	}
	c.Flags().StringVar(&cacheDir, "cache-dir", "", "kernel cache (default as for fetch)")
	c.Flags().BoolVar(&repair, "repair", false, "fetch damaged or unchecked entries that came from the Debian archive again")
	return c
}

// verifyKernels verifies the cache entries keys (all when none) and writes
// a line about each to w. With repair set, a damaged entry from the Debian
// archive, or one without checksums, is fetched again with those options
// (fetch.Repair) and counts as repaired, not damaged. It fails when any entry stays damaged or
// unverifiable.
func verifyKernels(ctx context.Context, w io.Writer, cacheDir string, keys []string, repair *fetch.Options) error {
	entries, err := kernel.List(cacheDir)
	if err != nil && len(keys) == 0 {
		return err
	}
	if len(keys) == 0 {
		if len(entries) == 0 {
			return fmt.Errorf("no kernels in %s", cacheDir)
		}
		for _, e := range entries {
			keys = append(keys, e.Key)
		}
	}
	// What the metadata still tells (release, archive, suite) is what a
	// repair fetches again.
	listed := map[string]kernel.Entry{}
	for _, e := range entries {
		listed[e.Key] = e
	}
	bad := 0
	for _, key := range keys {
		t0 := time.Now()
		err := kernel.Verify(cacheDir, key)
		switch {
		case err == nil:
			fmt.Fprintf(w, "%s\tok\t(%.1fs)\n", key, time.Since(t0).Seconds())
		case cachedir.IsDamaged(err), errors.Is(err, kernel.ErrUnchecked):
			e, ok := listed[key]
			if !ok {
				e = kernel.Entry{Dir: filepath.Join(cacheDir, key)}
				e.Key = key
			}
			// An entry without checksums says how to add them in its
			// error already; a damaged one gets the repair below.
			state, hint := "UNCHECKED", ""
			if cachedir.IsDamaged(err) {
				state, hint = "DAMAGED", "\n  "+e.RepairHint()
			}
			if repair == nil || !e.FromArchive() {
				bad++
				fmt.Fprintf(w, "%s\t%s\t%v%s\n", key, state, err, hint)
				continue
			}
			fmt.Fprintf(w, "%s\t%s\t%v\n", key, state, err)
			t0 = time.Now()
			if _, rerr := fetch.Repair(ctx, e, *repair); rerr != nil {
				bad++
				fmt.Fprintf(w, "  fetching it again failed: %v\n", rerr)
				continue
			}
			fmt.Fprintf(w, "%s\trepaired\t(fetched again, %.1fs)\n", key, time.Since(t0).Seconds())
		default:
			bad++
			fmt.Fprintf(w, "%s\tnot verified\t%v\n", key, err)
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d kernel cache entries damaged or unverifiable", bad, len(keys))
	}
	return nil
}
