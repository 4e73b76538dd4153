package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ktstr-go/ktstr/internal/env"
	"github.com/ktstr-go/ktstr/internal/gauntlet"
	"github.com/ktstr-go/ktstr/internal/gotest"
	"github.com/ktstr-go/ktstr/internal/kernel"
	"github.com/ktstr-go/ktstr/internal/kernel/debian"
	"github.com/ktstr-go/ktstr/internal/kernel/fetch"
	"github.com/ktstr-go/ktstr/internal/report"
	"github.com/ktstr-go/ktstr/sidecar"
)

// testOptions is a `ktstr test` command line.
type testOptions struct {
	kernels  []string
	gauntlet bool
	budget   string
	shard    string
	list     bool
	junit    string
	report   string
	maxVCPUs string
	// replay, when set, is the run whose failed variants to run again
	// ("" for the latest); plan is its plan once read.
	replay *string
	plan   *replayPlan
	// goArgs is what follows "--" (and any package patterns before it).
	goArgs gotest.Args
}

func testCmd() *cobra.Command { return newTestCmd(runTestCommand) }

// newTestCmd builds the command around run, which does the work (tests
// pass a stub).
func newTestCmd(run func(ctx context.Context, o *testOptions) (int, error)) *cobra.Command {
	var o testOptions
	c := &cobra.Command{
		Use:   "test [--kernel K]... [--gauntlet] [--budget SECS] [--shard K/N] [--list] [--junit FILE] [--report FILE] [--max-vcpus N] [-- go test flags and packages]",
		Short: "Run go test against one or more kernels, with live progress, a summary and JUnit XML",
		Long: `test resolves every --kernel first (fetching the newest sched_ext kernel
when none is given and none is cached; failing before any test runs when
one does not resolve), then runs

  go test -json [go test flags] [packages, default ./...]

with the kernels and options exported to the test binaries
(` + env.Kernels + `, ` + env.Kernel + `, ` + env.Gauntlet + `, ` + env.BudgetSecs + `,
` + env.Shard + `, ` + env.MaxVCPUs + `, ` + env.RunID + `). Everything after "--"
goes to go test untouched: -run, -v, -count, -timeout, -json, package
patterns. With several kernels each variant runs once per kernel, as a
subtest named by the kernel.

On a terminal (stderr is one and $CI is unset) a status line shows the
variants done, running and failed; the total comes from a quick listing
pass first. Elsewhere each variant prints one line as it finishes
(PASS/FAIL/SKIP name (time)). -v prints the tests' output as go test -v
does; -json echoes go's JSON events on stdout (the report then goes to
stderr). At the end come the output of every failed test, a summary table
(failures first, with their one-line reason) and the line
"N passed, N failed, N skipped". The exit status is go test's. With
--report FILE the run's HTML page (as ktstr report makes it) is written
too, and the summary's last line names it.

--list runs the test binaries in list mode (` + env.List + `=1: no VM boots) and
prints every variant that would run, by package.`,
		Example: `  ktstr test -- ./examples/demo/
  ktstr test --kernel 7.3 --kernel ~/src/linux -- -run TestTwoCgroups ./...
  ktstr test --gauntlet --budget 600 --shard 2/4 --junit report.xml`,
		Args:                  cobra.ArbitraryArgs,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.goArgs = gotest.ParseArgs(testGoArgs(args, cmd.ArgsLenAtDash()))
			if err := o.validate(); err != nil {
				return err
			}
			code, err := run(cmd.Context(), &o)
			if err != nil {
				return err
			}
			if code != 0 {
				os.Exit(code)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringArrayVar(&o.kernels, "kernel", nil, "kernel to test on: a cache key, version prefix, image or source tree (repeat for several; default $"+env.Kernel+", else the newest cached, else fetched)")
	f.BoolVar(&o.gauntlet, "gauntlet", false, "run the gauntlet variants too (topology presets × scheduler flag profiles)")
	f.StringVar(&o.budget, "budget", "", "run the variants that cover most within SECS seconds")
	f.StringVar(&o.shard, "shard", "", "run the K-th of N deterministic slices of the variants, e.g. 2/4")
	f.BoolVar(&o.list, "list", false, "print the variants that would run, boot nothing")
	f.StringVar(&o.junit, "junit", "", "write a JUnit XML report to FILE")
	f.StringVar(&o.report, "report", "", "write the run's HTML report to FILE (see ktstr report)")
	f.Func("replay", "run again exactly the variants that failed in run RUN (default: the latest), with the same kernels; the summary says which pass now", func(v string) error {
		if v == "latest" {
			v = ""
		}
		o.replay = &v
		return nil
	})
	f.Lookup("replay").NoOptDefVal = "latest"
	f.StringVar(&o.maxVCPUs, "max-vcpus", "", `largest vCPU count a gauntlet preset may have on this host (N or "unlimited")`)
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return fmt.Errorf("%w; go test flags go after \"--\", as in ktstr test --kernel 7.3 -- -run TestX -v ./pkg", err)
	})
	return c
}

// testGoArgs returns the go test part of the command line: the package
// patterns given before "--" (cobra leaves only positional words there),
// then everything after it. dash is cobra's ArgsLenAtDash (-1 without
// "--").
func testGoArgs(args []string, dash int) []string {
	if dash < 0 || dash > len(args) {
		return slices.Clone(args)
	}
	return append(slices.Clone(args[:dash]), args[dash:]...)
}

func (o *testOptions) validate() error {
	if o.budget != "" {
		if _, err := gauntlet.ParseBudget(o.budget); err != nil {
			return fmt.Errorf("--budget: %w", err)
		}
	}
	if o.shard != "" {
		if _, _, err := gauntlet.ParseShard(o.shard); err != nil {
			return fmt.Errorf("--shard: %w", err)
		}
	}
	if o.maxVCPUs != "" {
		if _, err := gauntlet.ResolveHostLimit(false, 1, o.maxVCPUs); err != nil {
			return fmt.Errorf("--max-vcpus: %w", err)
		}
	}
	if o.report != "" {
		if err := checkOutputDir(o.report); err != nil {
			return fmt.Errorf("--report: %w", err)
		}
	}
	if o.junit != "" {
		dir := filepath.Dir(o.junit)
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return fmt.Errorf("--junit %s: no directory %s to write it in", o.junit, dir)
		}
	}
	for _, k := range o.kernels {
		if k == "" {
			return errors.New("--kernel: empty")
		}
	}
	if o.replay != nil {
		return o.planReplay()
	}
	return nil
}

// planReplay reads the run to replay and sets the options to run exactly
// its failed variants: their packages, their top-level tests (-run), their
// names (KTSTR_ONLY) and the run's kernels.
func (o *testOptions) planReplay() error {
	if o.budget != "" || o.shard != "" || o.gauntlet || o.list || len(o.goArgs.Packages) > 0 || slices.ContainsFunc(o.goArgs.Flags, isRunFlag) {
		return errors.New("--replay picks the variants itself: drop --budget, --shard, --gauntlet, --list, -run and the packages")
	}
	p, err := planReplay(sidecar.RunsRoot(), *o.replay)
	if err != nil {
		return fmt.Errorf("--replay: %w", err)
	}
	o.plan = p
	if len(p.Failed) == 0 {
		return nil
	}
	if now := sidecar.ProjectCommit("."); now != p.Commit {
		fmt.Fprintf(os.Stderr, "ktstr: warning: run %s ran at project commit %s and this is %s; replaying its failed variants on this code\n", p.Run, p.Commit, now)
	}
	if len(o.kernels) == 0 {
		o.kernels = p.Kernels
	}
	o.gauntlet = p.Gauntlet
	o.goArgs.Flags = append([]string{"-run", p.RunPattern}, o.goArgs.Flags...)
	// The packages are relative to the module root; go test runs here.
	here := sidecar.PackageDir()
	for _, pkg := range p.Packages {
		rel, err := filepath.Rel(filepath.FromSlash(here), filepath.FromSlash(pkg))
		if err != nil {
			return fmt.Errorf("--replay: package %s: %w", pkg, err)
		}
		if rel != "." {
			rel = "./" + filepath.ToSlash(rel)
		}
		o.goArgs.Packages = append(o.goArgs.Packages, rel)
	}
	return nil
}

// isRunFlag reports whether a go test flag selects tests by name.
func isRunFlag(f string) bool {
	name, _, _ := strings.Cut(strings.TrimLeft(f, "-"), "=")
	return name == "run" || name == "test.run"
}

// testKernel is a resolved kernel and how the test binaries are told of it.
type testKernel struct {
	k *kernel.Kernel
	// arg names it for KTSTR_KERNELS: the cache entry's directory, or the
	// absolute path of the image or source tree.
	arg string
}

// resolveTestKernels resolves every kernel of the command line, or, with
// none, $KTSTR_KERNEL, else the newest cached one, else the newest fetched
// from the Debian archive.
func resolveTestKernels(ctx context.Context, specs []string, stderr io.Writer, terminal bool) ([]testKernel, error) {
	var out []testKernel
	add := func(spec string, k *kernel.Kernel) error {
		arg, err := testKernelArg(spec, k)
		if err != nil {
			return err
		}
		if strings.Contains(arg, ",") {
			return fmt.Errorf("kernel %s: a path with a comma cannot go into %s; move or link it elsewhere", arg, env.Kernels)
		}
		for _, o := range out {
			if o.arg == arg {
				return nil
			}
		}
		for _, n := range k.Notes {
			fmt.Fprintf(stderr, "ktstr: %s\n", n)
		}
		out = append(out, testKernel{k: k, arg: arg})
		return nil
	}
	// A damaged kernel from the archive is fetched again, saying so.
	repair := fetch.Options{Log: prefixWriter(stderr, "ktstr: ")}
	if terminal {
		repair.Progress = debian.TerminalProgress(stderr)
	}
	if len(specs) == 0 {
		if named := os.Getenv(env.Kernel); named != "" {
			k, err := fetch.ResolveOrRepair(ctx, named, "", repair)
			if err != nil {
				return nil, fmt.Errorf("%s=%q: %w", env.Kernel, named, err)
			}
			return out, add(named, k)
		}
		dir, err := kernel.CacheDir()
		if err != nil {
			return nil, err
		}
		entries, err := kernel.List(dir)
		if err != nil {
			return nil, err
		}
		if len(entries) > 0 {
			k, err := fetch.ResolveOrRepair(ctx, "", dir, repair)
			if err != nil {
				return nil, err
			}
			return out, add("", k)
		}
		fmt.Fprintf(stderr, "ktstr: no kernel in the cache (%s); fetching the newest sched_ext kernel\n", dir)
		opts := fetch.Options{Log: stderr}
		if terminal {
			opts.Progress = debian.TerminalProgress(stderr)
		}
		k, err := fetch.Kernel(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("fetching a kernel: %w", err)
		}
		return out, add("", k)
	}
	for _, spec := range specs {
		k, err := fetch.ResolveOrRepair(ctx, spec, "", repair)
		if err != nil {
			return nil, fmt.Errorf("--kernel %q: %w", spec, err)
		}
		if err := add(spec, k); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// testKernelArg is what names k in KTSTR_KERNELS: its cache entry's
// directory, or the absolute path spec named (an image or a source tree),
// so that test binaries, which run in their packages' directories, find
// the same kernel.
func testKernelArg(spec string, k *kernel.Kernel) (string, error) {
	if k.Meta != nil {
		return filepath.Abs(filepath.Dir(k.Image))
	}
	if spec != "" {
		if _, err := os.Stat(spec); err == nil {
			return filepath.Abs(spec)
		}
	}
	return filepath.Abs(k.Image)
}

// kernelNames are the kernels' labels in variant names.
func kernelNames(kernels []testKernel) []string {
	var out []string
	for _, k := range kernels {
		out = append(out, gauntlet.KernelName(k.arg))
	}
	return out
}

// testEnviron returns the environment of the test binaries.
func testEnviron(base []string, o *testOptions, kernels []testKernel, runID string, list bool) []string {
	environ := slices.Clone(base)
	set := func(k, v string) {
		environ = slices.DeleteFunc(environ, func(e string) bool { return strings.HasPrefix(e, k+"=") })
		if v != "" {
			environ = append(environ, k+"="+v)
		}
	}
	var args []string
	for _, k := range kernels {
		args = append(args, k.arg)
	}
	set(env.Kernels, strings.Join(args, ","))
	if len(args) == 1 {
		set(env.Kernel, args[0])
	} else {
		set(env.Kernel, "")
	}
	if o.gauntlet {
		set(env.Gauntlet, "1")
	}
	if o.budget != "" {
		set(env.BudgetSecs, strings.TrimSpace(o.budget))
	}
	if o.shard != "" {
		set(env.Shard, strings.TrimSpace(o.shard))
	}
	if o.maxVCPUs != "" {
		set(env.MaxVCPUs, strings.TrimSpace(o.maxVCPUs))
	}
	if o.plan != nil {
		set(env.Only, strings.Join(o.plan.Failed, "\n"))
		// A directory of its own: a run's directory holds its newest
		// run, and the replay must not wipe the run it replays.
		set(env.SidecarDir, filepath.Join(sidecar.RunsRoot(), "replay-of-"+o.plan.Run))
	}
	set(env.RunID, runID)
	if list {
		set(env.List, "1")
	} else {
		set(env.List, "")
	}
	return environ
}

// testOnTerminal reports whether to draw live progress: stderr is a
// terminal and CI is not set.
func testOnTerminal() bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv("CI"))) {
	case "", "0", "false":
	default:
		return false
	}
	return term.IsTerminal(int(os.Stderr.Fd()))
}

// runTestCommand is `ktstr test`.
func runTestCommand(ctx context.Context, o *testOptions) (int, error) {
	if p := o.plan; p != nil && len(p.Failed) == 0 {
		fmt.Fprintf(os.Stderr, "ktstr: run %s had no failed variants; nothing to replay\n", p.Run)
		return 0, nil
	}
	terminal := testOnTerminal()
	kernels, err := resolveTestKernels(ctx, o.kernels, os.Stderr, terminal)
	if err != nil {
		return 0, err
	}
	for _, k := range kernels {
		v := k.k.Version
		if v == "" {
			v = "version unknown"
		}
		fmt.Fprintf(os.Stderr, "ktstr: kernel %s (%s)\n", v, k.arg)
	}
	runID := os.Getenv(env.RunID)
	if runID == "" {
		runID = sidecar.NewRunID()
	}
	s := &gotest.Session{
		Args:           o.goArgs,
		Listing:        o.list,
		JUnit:          o.junit,
		Kernels:        kernelNames(kernels),
		Report:         runReport(o.report, runID),
		Stdout:         os.Stdout,
		Stderr:         os.Stderr,
		Terminal:       terminal,
		StdoutTerminal: term.IsTerminal(int(os.Stdout.Fd())),
		Now:            time.Now,
		Width: func() int {
			w, _, err := term.GetSize(int(os.Stderr.Fd()))
			if err != nil {
				return 0
			}
			return w
		},
	}
	if o.list {
		return s.List(ctx, testEnviron(os.Environ(), o, kernels, runID+"-list", true))
	}
	total := 0
	if terminal {
		total = s.Count(ctx, testEnviron(os.Environ(), o, kernels, runID+"-list", true))
	}
	code, err := s.Test(ctx, testEnviron(os.Environ(), o, kernels, runID, false), total)
	if err == nil && o.plan != nil {
		after, _ := sidecar.ReadDir(sidecar.RunsRoot())
		after = slices.DeleteFunc(after, func(r sidecar.Result) bool { return r.RunID != runID })
		replayOutcome(os.Stderr, o.plan, after)
	}
	return code, err
}

// prefixWriter writes each line to w with prefix.
func prefixWriter(w io.Writer, prefix string) io.Writer {
	return writerFunc(func(b []byte) (int, error) {
		_, err := io.WriteString(w, prefix+string(b))
		return len(b), err
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// runReport returns what writes the HTML report of run id to path after
// ktstr test, nil without a path.
func runReport(path, id string) func() (string, error) {
	if path == "" {
		return nil
	}
	return func() (string, error) {
		dir := sidecar.RunsRoot()
		if d := os.Getenv(sidecar.EnvSidecarDir); d != "" {
			dir = d
		}
		rep, err := collectRun(dir, id, "", false)
		if err != nil {
			return "", err
		}
		if err := report.WriteFile(path, func(w io.Writer) error { return report.WriteRun(w, rep) }); err != nil {
			return "", err
		}
		line := fmt.Sprintf("report: %s (%d variants)", path, len(rep.Results))
		if len(rep.Skipped) > 0 {
			line += fmt.Sprintf("; %d unreadable result files left out, named on the page", len(rep.Skipped))
		}
		return line, nil
	}
}
