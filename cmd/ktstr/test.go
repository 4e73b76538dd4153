package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ktstr-go/ktstr/internal/cachedir"
	"github.com/ktstr-go/ktstr/internal/env"
	"github.com/ktstr-go/ktstr/internal/gauntlet"
	"github.com/ktstr-go/ktstr/internal/gotest"
	"github.com/ktstr-go/ktstr/internal/kernel"
	"github.com/ktstr-go/ktstr/internal/kernel/debian"
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
	maxVCPUs string
	// goArgs is what follows "--" (and any package patterns before it).
	goArgs gotest.Args
}

func testCmd() *cobra.Command { return newTestCmd(runTestCommand) }

// newTestCmd builds the command around run, which does the work (tests
// pass a stub).
func newTestCmd(run func(ctx context.Context, o *testOptions) (int, error)) *cobra.Command {
	var o testOptions
	c := &cobra.Command{
		Use:   "test [--kernel K]... [--gauntlet] [--budget SECS] [--shard K/N] [--list] [--junit FILE] [--max-vcpus N] [-- go test flags and packages]",
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
"N passed, N failed, N skipped". The exit status is go test's.

--list runs the test binaries in list mode (` + env.List + `=1: no VM boots) and
prints every variant that would run, by package.

Examples:

  ktstr test -- ./examples/demo/
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
	return nil
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
		out = append(out, testKernel{k: k, arg: arg})
		return nil
	}
	// A damaged kernel from the archive is fetched again, saying so.
	repair := kernel.FetchOptions{Log: prefixWriter(stderr, "ktstr: ")}
	if terminal {
		repair.Progress = debian.TerminalProgress(stderr)
	}
	if len(specs) == 0 {
		if named := os.Getenv(env.Kernel); named != "" {
			k, err := kernel.ResolveOrRepair(ctx, named, "", repair)
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
			k, err := kernel.ResolveOrRepair(ctx, "", dir, repair)
			if err != nil {
				return nil, err
			}
			return out, add("", k)
		}
		fmt.Fprintf(stderr, "ktstr: no kernel in the cache (%s); fetching the newest sched_ext kernel\n", dir)
		opts := kernel.FetchOptions{Log: stderr}
		if terminal {
			opts.Progress = debian.TerminalProgress(stderr)
		}
		k, err := kernel.Fetch(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("fetching a kernel: %w", err)
		}
		return out, add("", k)
	}
	for _, spec := range specs {
		k, err := kernel.ResolveOrRepair(ctx, spec, "", repair)
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
	s := &testSession{
		opts:           o,
		stdout:         os.Stdout,
		stderr:         os.Stderr,
		terminal:       terminal,
		stdoutTerminal: term.IsTerminal(int(os.Stdout.Fd())),
		now:            time.Now,
		width: func() int {
			w, _, err := term.GetSize(int(os.Stderr.Fd()))
			if err != nil {
				return 0
			}
			return w
		},
	}
	if o.list {
		return s.list(ctx, testEnviron(os.Environ(), o, kernels, runID+"-list", true))
	}
	total := 0
	if terminal {
		total = s.count(ctx, testEnviron(os.Environ(), o, kernels, runID+"-list", true))
	}
	return s.test(ctx, testEnviron(os.Environ(), o, kernels, runID, false), total)
}

// testSession runs go test and reports on it.
type testSession struct {
	opts           *testOptions
	stdout, stderr io.Writer
	// terminal: draw the status line on stderr; stdoutTerminal: stdout
	// shares the screen with it.
	terminal, stdoutTerminal bool
	now                      func() time.Time
	width                    func() int
	// goCmd runs go; nil means the go on $PATH.
	goCmd func(ctx context.Context, args, env []string) *exec.Cmd

	mu       sync.Mutex
	run      *gotest.Run
	progress *gotest.Progress // nil when not on a terminal
	pending  map[string][]byte
}

// report is where the human report goes: stdout, unless go's JSON does.
func (s *testSession) report() io.Writer {
	if s.opts.goArgs.JSON && !s.opts.list {
		return s.stderr
	}
	return s.stdout
}

// print writes text (whole lines) to w, above the status line when there
// is one. Callers hold s.mu.
func (s *testSession) print(w io.Writer, text string) {
	if text == "" {
		return
	}
	if s.progress != nil && (w != s.stdout || s.stdoutTerminal) {
		s.progress.Print(w, s.run, text)
		return
	}
	io.WriteString(w, text)
}

// goCommand runs go with args and env, calling onEvent for each event,
// onLine for each line of go's stdout that is not an event and of its
// stderr (with fromStderr set), and gives go's exit status (130 when ctx
// ended first). go runs in a process group of its own; when ctx ends, the
// group gets SIGINT (the test library then stops its VMs and cleans up)
// and, 15 s later, SIGKILL.
func (s *testSession) goCommand(ctx context.Context, args, environ []string, onEvent func(ev gotest.Event, raw []byte), onLine func(line []byte, fromStderr bool)) (int, error) {
	var cmd *exec.Cmd
	if s.goCmd != nil {
		cmd = s.goCmd(ctx, args, environ)
	} else {
		cmd = exec.Command("go", args...)
		cmd.Env = environ
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("running go: %w", err)
	}
	done := make(chan struct{})
	var stopped sync.WaitGroup
	stopped.Add(1)
	go func() {
		defer stopped.Done()
		select {
		case <-done:
			return
		case <-ctx.Done():
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}()
	var errDone sync.WaitGroup
	errDone.Add(1)
	go func() {
		defer errDone.Done()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			onLine(sc.Bytes(), true)
		}
		io.Copy(io.Discard, stderr)
	}()
	d := gotest.NewDecoder(stdout)
	for {
		ev, err := d.Next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, gotest.ErrNotEvent) {
			onLine(d.Raw(), false)
			continue
		}
		if err != nil {
			// A line too long to be an event: drain the rest so go can
			// finish.
			io.Copy(io.Discard, stdout)
			break
		}
		onEvent(ev, d.Raw())
	}
	errDone.Wait()
	werr := cmd.Wait()
	close(done)
	stopped.Wait()
	var exit *exec.ExitError
	switch {
	case werr == nil:
		return 0, nil
	case ctx.Err() != nil:
		return 130, nil // interrupted, as a shell reports SIGINT
	case errors.As(werr, &exit):
		return max(exit.ExitCode(), 1), nil
	}
	return 0, werr
}

// list is --list: run the test binaries in list mode and print the
// variants each would run, by package, in the order they came.
func (s *testSession) list(ctx context.Context, environ []string) (int, error) {
	s.run = gotest.NewRun()
	variants := map[string][]string{}
	partial := map[string][]byte{}
	code, err := s.goCommand(ctx, s.opts.goArgs.Command("./..."), environ, func(ev gotest.Event, _ []byte) {
		s.run.Apply(ev)
		if ev.Action != gotest.ActionOutput {
			return
		}
		key := ev.Package + "\x00" + ev.Test
		buf := append(partial[key], ev.Output...)
		for {
			i := bytes.IndexByte(buf, '\n')
			if i < 0 {
				break
			}
			line := strings.TrimRight(string(buf[:i]), "\r")
			buf = buf[i+1:]
			if name, ok := strings.CutPrefix(line, env.VariantPrefix); ok {
				variants[ev.Package] = append(variants[ev.Package], strings.TrimSpace(name))
			} else if strings.HasPrefix(line, "ktstr budget: ") {
				fmt.Fprintln(s.stderr, line)
			}
		}
		partial[key] = buf
	}, func(line []byte, _ bool) {
		fmt.Fprintf(s.stderr, "%s\n", line)
	})
	if err != nil {
		return 0, err
	}
	pkgs := make([]string, 0, len(variants))
	for p := range variants {
		pkgs = append(pkgs, p)
	}
	slices.Sort(pkgs)
	var b strings.Builder
	for _, p := range pkgs {
		for _, v := range variants[p] {
			b.WriteString(v + "\n")
		}
	}
	io.WriteString(s.stdout, b.String())
	if code != 0 {
		s.run.Finish()
		rows := s.run.Rows()
		var failed []gotest.Row
		for _, r := range rows {
			if r.Status == gotest.Failed {
				failed = append(failed, r)
			}
		}
		gotest.WriteFailures(s.stderr, failed)
		fmt.Fprintf(s.stderr, "ktstr: listing failed (go test exit status %d)\n", code)
		return code, nil
	}
	return 0, nil
}

// countStall is how long one test may run in the listing pass before the
// pass is given up: in list mode nothing boots, so a test that takes this
// long is doing real work (a test library without list mode, or a slow
// plain test), and the count is not worth the wait.
const countStall = 15 * time.Second

// count runs the listing pass to learn how many variants the run will
// have: the leaf tests of a run in list mode. It returns 0 when that
// fails or stalls (see countStall).
func (s *testSession) count(ctx context.Context, environ []string) int {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.run = gotest.NewRun()
	s.run.Now = s.now
	s.progress = gotest.NewProgress(s.stderr, s.now, s.width, 100*time.Millisecond)
	s.progress.Prefix = "ktstr: building and listing the variants…"
	var stalled string
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	ticking := make(chan struct{})
	var ticker sync.WaitGroup
	ticker.Add(1)
	go func() {
		defer ticker.Done()
		for {
			select {
			case <-ticking:
				return
			case <-tick.C:
			}
			s.mu.Lock()
			for _, t := range s.run.Running() {
				if s.now().Sub(t.Resumed) > countStall && stalled == "" {
					stalled = t.Name
					cancel()
				}
			}
			s.progress.Update(s.run, false)
			s.mu.Unlock()
		}
	}()
	code, err := s.goCommand(ctx, s.opts.goArgs.Command("./..."), environ, func(ev gotest.Event, _ []byte) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.run.Apply(ev)
		if ev.Action == gotest.ActionStart {
			s.progress.Prefix = "ktstr: listing the variants of " + ev.Package + "…"
			s.progress.Update(s.run, false)
		}
	}, func([]byte, bool) {})
	close(ticking)
	ticker.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.progress.Clear()
	s.progress = nil
	total := 0
	for _, p := range s.run.Packages {
		total += len(p.Variants())
	}
	s.run = nil
	switch {
	case stalled != "":
		fmt.Fprintf(s.stderr, "ktstr: not counting the variants first: %s ran over %v in list mode; the progress shows no total\n", stalled, countStall)
		return 0
	case err != nil || code != 0:
		return 0
	}
	return total
}

// test runs the tests and reports on them.
func (s *testSession) test(ctx context.Context, environ []string, total int) (int, error) {
	s.run = gotest.NewRun()
	s.run.Now = s.now
	s.pending = map[string][]byte{}
	verbose := s.opts.goArgs.Verbose
	out := s.report()
	if s.terminal {
		s.progress = gotest.NewProgress(s.stderr, s.now, s.width, 100*time.Millisecond)
		s.progress.Total = total
		s.mu.Lock()
		s.progress.Update(s.run, true)
		s.mu.Unlock()
		tick := time.NewTicker(time.Second)
		stop := make(chan struct{})
		var ticker sync.WaitGroup
		ticker.Add(1)
		defer func() {
			tick.Stop()
			close(stop)
			ticker.Wait()
		}()
		go func() {
			defer ticker.Done()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				s.mu.Lock()
				if s.progress != nil {
					s.progress.Update(s.run, false)
				}
				s.mu.Unlock()
			}
		}()
	}
	code, err := s.goCommand(ctx, s.opts.goArgs.Command("./..."), environ, func(ev gotest.Event, raw []byte) {
		if s.opts.goArgs.JSON {
			s.mu.Lock()
			s.print(s.stdout, string(raw)+"\n")
			s.mu.Unlock()
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		ch := s.run.Apply(ev)
		switch ev.Action {
		case gotest.ActionOutput:
			if verbose {
				s.verboseOutput(out, ev.Package, ev.Output)
			} else if l := strings.TrimSpace(ev.Output); strings.HasPrefix(l, "ktstr budget: ") {
				s.print(s.stderr, l+"\n")
			}
		case gotest.ActionBuildOutput:
			if verbose {
				s.verboseOutput(out, "\x00"+ev.ImportPath, ev.Output)
			}
		}
		for _, t := range ch.Finished {
			s.finished(out, t, verbose)
		}
		if ch.PackageDone && !verbose {
			s.packageDone(out, ch.Package)
		}
		if s.progress != nil {
			s.progress.Update(s.run, len(ch.Finished) > 0)
		}
	}, func(line []byte, fromStderr bool) {
		s.mu.Lock()
		defer s.mu.Unlock()
		// With -json, go's stdout is echoed as it is; its stderr stays
		// stderr.
		if s.opts.goArgs.JSON && !fromStderr {
			s.print(s.stdout, string(line)+"\n")
			return
		}
		s.print(s.stderr, string(line)+"\n")
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	for key, rest := range s.pending {
		if len(rest) > 0 {
			s.print(out, string(rest)+"\n")
		}
		delete(s.pending, key)
	}
	for _, t := range s.run.Finish() {
		s.finished(out, t, verbose)
	}
	if s.progress != nil {
		s.progress.Clear()
		s.progress = nil
	}
	if err != nil {
		return 0, err
	}
	rows := s.run.Rows()
	var b bytes.Buffer
	if gotest.Tally(rows).Failed > 0 {
		b.WriteString("\n")
		gotest.WriteFailures(&b, rows)
	}
	b.WriteString("\n")
	gotest.WriteSummary(&b, rows)
	out.Write(b.Bytes())
	if s.opts.junit != "" {
		data, err := gotest.MarshalJUnit(s.run.JUnit())
		if err == nil {
			err = cachedir.WriteFile(s.opts.junit, 0o644, func(w io.Writer) error { _, err := w.Write(data); return err })
		}
		if err != nil {
			fmt.Fprintf(s.stderr, "ktstr: writing the JUnit report: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code, nil
}

// verboseOutput prints a piece of output as go test -v would, whole lines
// at a time (so that the status line can stay below them). key separates
// the streams of packages. Callers hold s.mu.
func (s *testSession) verboseOutput(w io.Writer, key, text string) {
	buf := append(s.pending[key], text...)
	i := bytes.LastIndexByte(buf, '\n')
	if i < 0 {
		s.pending[key] = buf
		return
	}
	s.print(w, string(buf[:i+1]))
	s.pending[key] = append([]byte(nil), buf[i+1:]...)
}

// finished reports a test that reached its outcome: in plain mode (no
// terminal) a line per variant, on a terminal a line per failed variant
// (the status line counts the others); nothing with -v, whose output has
// go's own result lines. Callers hold s.mu.
func (s *testSession) finished(w io.Writer, t *gotest.Test, verbose bool) {
	if verbose || !t.Leaf() || s.terminal && t.Status != gotest.Failed {
		return
	}
	line := fmt.Sprintf("%s %s (%s)", t.Status, t.Name, gotest.FormatDuration(t.Elapsed))
	if t.Status != gotest.Passed {
		if r := t.Reason(s.run.Package(t.Package)); r != "" {
			line += "  " + r
		}
	}
	s.print(w, line+"\n")
}

// packageDone prints go's result line for a package ("ok  pkg 1.2s",
// "FAIL pkg [build failed]"), after the compiler's output when the build
// failed, and after what the package printed outside its tests (TestMain,
// go test -list). Callers hold s.mu.
func (s *testSession) packageDone(w io.Writer, p *gotest.Package) {
	var b strings.Builder
	if p.FailedBuild != "" {
		b.WriteString(p.BuildOutput)
	}
	if out := gotest.CleanOutput(p.Output()); out != "" {
		b.WriteString(out + "\n")
	}
	for _, l := range strings.Split(p.Output(), "\n") {
		if strings.HasPrefix(l, "ok  \t") || strings.HasPrefix(l, "FAIL\t") || strings.HasPrefix(l, "?   \t") {
			b.WriteString(l + "\n")
		}
	}
	s.print(w, b.String())
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
