package main

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ktstr-go/ktstr/internal/cachedir"
	"github.com/ktstr-go/ktstr/internal/kernel/debian"
	"github.com/ktstr-go/ktstr/internal/kernel/fetch"
	"github.com/ktstr-go/ktstr/internal/scx"
	"github.com/ktstr-go/ktstr/internal/scx/build"
)

func schedCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "sched",
		Short: "Build and list the kernel's example sched_ext schedulers",
		Long: `sched builds the example sched_ext schedulers of the kernel's own tree
(tools/sched_ext: scx_simple, scx_qmap, ...) for a cached kernel, lists the
builds and verifies them. Tests, ktstr run, ktstr shell and ktstr verifier
find a built scheduler by its name.`,
		Example: `  ktstr sched build
  ktstr sched list
  ktstr shell --scheduler scx_qmap`,
	}
	c.AddCommand(schedBuildCmd(), schedListCmd(), schedVerifyCmd())
	return c
}

func schedBuildCmd() *cobra.Command {
	var opts build.Options
	var verbose bool
	c := &cobra.Command{
		Use:   "build",
		Short: "Build the kernel's tools/sched_ext schedulers (scx_simple, scx_qmap, ...) for a cached kernel",
		Long: `build builds the schedulers of tools/sched_ext against the kernel's BTF
with clang-22, relinks them statically and stores them in the schedulers cache
($` + scx.SchedDirEnv + `, default ~/.cache/ktstr/schedulers) under the kernel
release, or, for a kernel built from source, its cache key. Nothing is done
when that kernel's schedulers are built already, unless --force.

The sources are, in order: --source DIR; the tree the kernel was built from
(ktstr kernel build --source); else Debian's linux-source-<major.minor>
package matching the kernel, from the archive the kernel came from (or
--mirror, $` + fetch.MirrorEnv + `, or the apt configuration; signature and
checksums verified), of which the part of tools/ the build needs is unpacked.
A source tree is only read: make runs with O= in a temporary directory.

Build tools: ` + build.InstallHint + `.`,
		Example: `  ktstr sched build
  ktstr sched build --force -v
  ktstr sched build --kernel build-6.12.118-tree-6f652496b01c-config-8ae070d22965
  ktstr sched build --kernel 7.3 --source ~/src/linux`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Log = os.Stderr
			if verbose {
				opts.BuildLog = os.Stderr
			}
			if term.IsTerminal(int(os.Stderr.Fd())) {
				opts.Progress = debian.TerminalProgress(os.Stderr)
			}
			t0 := time.Now()
			res, err := build.Schedulers(cmd.Context(), opts)
			if err != nil {
				return err
			}
			for _, f := range res.Failures {
				fmt.Fprintf(os.Stderr, "%s did not build:\n  %s\n", f.Name, strings.ReplaceAll(f.Output, "\n", "\n  "))
			}
			if !res.Cached {
				var phases []string
				for _, p := range res.Phases {
					phases = append(phases, fmt.Sprintf("%s %.1fs", p.Name, p.Duration.Seconds()))
				}
				disk := ""
				if res.SourceTree == "" {
					disk = fmt.Sprintf("source package %d MB, tree %d MB, ", res.Disk.Deb>>20, res.Disk.Source>>20)
				}
				fmt.Fprintf(os.Stderr, "phases: %s; disk: %sbuild %d MB, installed %d MB\n",
					strings.Join(phases, ", "), disk, res.Disk.Build>>20, res.Disk.Installed>>20)
			}
			state := "built"
			if res.Cached {
				state = "cached"
			}
			fmt.Printf("%s\t%s\t%s\t(%s, %.1fs)\n", res.KernelRelease, res.Dir, buildSource(&res.Metadata), state, time.Since(t0).Seconds())
			fmt.Printf("  %s\n", strings.Join(res.Binaries, " "))
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&opts.KernelVersion, "kernel", "", "kernel to build for: a release (7.3.4+deb13-amd64), version prefix, cache key or path (default: the newest cached)")
	f.BoolVar(&opts.Force, "force", false, "rebuild even if the schedulers for the kernel are built already")
	f.StringVar(&opts.Source, "source", "", "kernel source tree to build tools/sched_ext from (default: the tree the kernel was built from, else Debian's source package)")
	f.StringVar(&opts.Mirror, "mirror", "", "Debian archive URI (default: $"+fetch.MirrorEnv+", the kernel's archive, then the apt configuration)")
	f.StringVar(&opts.Suite, "suite", "", "Debian suite of the source package (default: the kernel's, else "+debian.DefaultSuite+")")
	f.StringVar(&opts.KernelCacheDir, "cache-dir", "", "kernel cache (default: $KTSTR_CACHE_DIR, $XDG_CACHE_HOME/ktstr/kernels or ~/.cache/ktstr/kernels)")
	f.StringVar(&opts.SchedDir, "sched-dir", "", "schedulers cache (default: $"+scx.SchedDirEnv+", else schedulers/ beside the kernel cache)")
	f.StringVar(&opts.WorkDir, "work-dir", "", "where the temporary build tree goes (default: $TMPDIR or /tmp)")
	f.StringVar(&opts.Clang, "clang", build.DefaultClang, "clang to compile the BPF programs with")
	f.StringVar(&opts.LLVMStrip, "llvm-strip", build.DefaultLLVMStrip, "llvm-strip matching --clang")
	f.IntVarP(&opts.Jobs, "jobs", "j", 0, "parallel make jobs (default: the number of CPUs)")
	f.BoolVar(&opts.FullTree, "full-tree", false, "unpack the whole kernel tree (1.7 GB) instead of what the build needs")
	f.BoolVarP(&verbose, "verbose", "v", false, "show make's output")
	return c
}

func schedListCmd() *cobra.Command {
	var schedDir string
	c := &cobra.Command{
		Use:   "list",
		Short: "List built schedulers, newest build first",
		Long: `list shows each build in the schedulers cache: the kernel release it is
for, when it was built, its schedulers and whether their files still match
what was recorded (DAMAGED when not; ktstr sched verify says what).`,
		Example: `  ktstr sched list`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if schedDir == "" {
				d, err := scx.SchedDir()
				if err != nil {
					return err
				}
				schedDir = d
			}
			builds, err := scx.List(schedDir)
			if err != nil {
				return err
			}
			if len(builds) == 0 {
				fmt.Fprintf(os.Stderr, "no schedulers built in %s; run `ktstr sched build`\n", schedDir)
				return nil
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "KERNEL\tSOURCE\tBUILT\tSTATIC\tSCHEDULERS\tFAILED\tSTATUS\tDIR")
			var damaged []error
			for _, b := range builds {
				failed := strings.Join(b.Failed, ",")
				if failed == "" {
					failed = "-"
				}
				status := "ok"
				switch {
				case b.Damage != nil:
					status = "DAMAGED"
					damaged = append(damaged, b.Damage)
				case len(b.Files) == 0:
					status = "unchecked (no checksums)"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", b.KernelRelease, orDash(buildSource(&b.Metadata)),
					b.BuiltAt.Local().Format("2006-01-02 15:04"), yesNo(b.Static), orDash(strings.Join(b.Binaries, ",")), failed, status, b.Dir)
			}
			if err := w.Flush(); err != nil {
				return err
			}
			for _, d := range damaged {
				fmt.Fprintln(os.Stderr, d)
			}
			return nil
		},
	}
	c.Flags().StringVar(&schedDir, "sched-dir", "", "schedulers cache (default as for build)")
	return c
}

func schedVerifyCmd() *cobra.Command {
	var schedDir string
	c := &cobra.Command{
		Use:   "verify [KERNEL_RELEASE...]",
		Short: "Check built schedulers against their recorded SHA-256 sums (default: every build)",
		Long: `verify reads every binary of each build and compares its size and SHA-256
with what was recorded when it was built. (Every use checks sizes and times
only.) It exits 1 when a build is damaged, saying how to rebuild it.`,
		Example: `  ktstr sched verify
  ktstr sched verify 7.3.4+deb13-amd64`,
		RunE: func(cmd *cobra.Command, rels []string) error {
			if schedDir == "" {
				d, err := scx.SchedDir()
				if err != nil {
					return err
				}
				schedDir = d
			}
			if len(rels) == 0 {
				builds, err := scx.List(schedDir)
				if err != nil {
					return err
				}
				if len(builds) == 0 {
					return fmt.Errorf("no schedulers built in %s", schedDir)
				}
				for _, b := range builds {
					rels = append(rels, b.KernelRelease)
				}
			}
			bad := 0
			for _, rel := range rels {
				if err := scx.Verify(schedDir, rel); err != nil {
					bad++
					state := "not verified"
					if cachedir.IsDamaged(err) {
						state = "DAMAGED"
					}
					fmt.Printf("%s\t%s\t%v\n", rel, state, err)
					continue
				}
				fmt.Printf("%s\tok\n", rel)
			}
			if bad > 0 {
				return fmt.Errorf("%d of %d scheduler builds damaged or unverifiable", bad, len(rels))
			}
			return nil
		},
	}
	c.Flags().StringVar(&schedDir, "sched-dir", "", "schedulers cache (default as for build)")
	return c
}

// buildSource says what a scheduler build was made from: the Debian
// package and version, or the source tree.
func buildSource(m *scx.Metadata) string {
	if m.SourceTree != "" {
		return m.SourceTree
	}
	return strings.TrimSpace(m.SourcePackage + " " + m.SourceVersion)
}
