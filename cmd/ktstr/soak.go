package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/gotest"
)

// soakOptions is a `ktstr soak` command line.
type soakOptions struct {
	rounds int
	load   int
	goArgs gotest.Args
	// goCmd runs go; nil means the go on $PATH (tests replay a stream).
	goCmd func(ctx context.Context, args, env []string) *exec.Cmd
}

func soakCmd() *cobra.Command {
	var o soakOptions
	c := &cobra.Command{
		Use:   "soak [-k ROUNDS] [--load N] [-- go test flags and packages]",
		Short: "Run test suites again and again, optionally beside a host load, and count failures by kind and test",
		Long: `soak runs

  go test -json -count=1 [go test flags] [packages, default ./examples/schedulers]

ROUNDS times in a row, with N busy loops on the host meanwhile (--load; 0
for none, -1 for one per host CPU), and prints each round's outcome, then
the failures of all rounds by kind (infrastructure: no result, boot, host,
timeout, kernel panic; the scheduler's and the checks' otherwise) and by
test. A flake rate is what it measures: a healthy suite on a healthy
harness has no failures. It exits 1 when any round failed.`,
		Example: `  ktstr soak -k 10 --load -1 -- ./examples/schedulers
  ktstr soak -k 3 -- -run TestQmap ./examples/schedulers`,
		Args:                  cobra.ArbitraryArgs,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.goArgs = gotest.ParseArgs(testGoArgs(args, cmd.ArgsLenAtDash()))
			if o.rounds < 1 {
				return fmt.Errorf("-k %d: want at least 1 round", o.rounds)
			}
			if o.load < 0 {
				o.load = runtime.NumCPU()
			}
			failed, err := runSoak(cmd.Context(), &o, os.Stdout)
			if err != nil {
				return err
			}
			if failed > 0 {
				return fmt.Errorf("%d failures in %d rounds", failed, o.rounds)
			}
			return nil
		},
	}
	c.Flags().IntVarP(&o.rounds, "rounds", "k", 10, "how many times to run the suites")
	c.Flags().IntVar(&o.load, "load", 0, "busy loops to keep running on the host meanwhile; -1 for one per host CPU")
	return c
}

// soakFailure is one failed variant of one round.
type soakFailure struct {
	round  int
	test   string
	kind   string
	reason string
}

// infrastructureKinds are the failure kinds that say the harness, not the
// scheduler or the test, failed.
var infrastructureKinds = []check.Kind{check.NoResult, check.Boot, check.Host, check.Timeout, check.KernelPanic, check.Guest}

// runSoak runs the rounds and prints the report; it returns how many
// variants failed in all.
func runSoak(ctx context.Context, o *soakOptions, out io.Writer) (int, error) {
	if o.load > 0 {
		stop := busyLoops(o.load)
		defer stop()
	}
	// Every round runs the tests again (no cached results); a -count of
	// the caller's, later on the line, wins.
	ga := o.goArgs
	ga.Flags = slices.Concat([]string{"-count=1"}, ga.Flags)
	args := ga.Command("./examples/schedulers")
	fmt.Fprintf(out, "soak: go %s, %d rounds, %d host busy loops\n", strings.Join(args, " "), o.rounds, o.load)
	var fails []soakFailure
	var passed, total int
	t0 := time.Now()
	for round := 1; round <= o.rounds; round++ {
		r0 := time.Now()
		run := gotest.NewRun()
		s := &gotest.Session{GoCmd: o.goCmd}
		code, err := s.Go(ctx, args, os.Environ(), func(ev gotest.Event, _ []byte) { run.Apply(ev) }, func([]byte, bool) {})
		if err != nil {
			return 0, err
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		c := run.Counts()
		passed += c.Passed
		total += c.Passed + c.Failed
		var names []string
		for _, p := range run.Packages {
			if p.FailedBuild != "" {
				fails = append(fails, soakFailure{round, p.Path, "build", p.FailedBuild})
			}
			for _, t := range p.Variants() {
				if t.Status != gotest.Failed {
					continue
				}
				kind, reason := "test", firstReason(t.Output())
				if kr, ok := gotest.KindReason(t.Output()); ok {
					kind, reason, _ = strings.Cut(kr, ": ")
				}
				fails = append(fails, soakFailure{round, t.Name, kind, reason})
				names = append(names, t.Name+" ("+kind+")")
			}
		}
		status := "ok"
		if c.Failed > 0 || code != 0 {
			status = fmt.Sprintf("FAILED %s", strings.Join(names, ", "))
			if len(names) == 0 {
				status = fmt.Sprintf("FAILED (go test exit %d)", code)
			}
		}
		fmt.Fprintf(out, "round %d/%d: %d passed, %d failed, %d skipped, %s: %s\n", round, o.rounds, c.Passed, c.Failed, c.Skipped, time.Since(r0).Round(time.Second), status)
	}
	printSoakReport(out, fails, passed, total, o.rounds, time.Since(t0))
	return len(fails), nil
}

// printSoakReport prints the failures by kind and by test.
func printSoakReport(out io.Writer, fails []soakFailure, passed, total, rounds int, took time.Duration) {
	infra := 0
	byKind := map[string]int{}
	byTest := map[string][]soakFailure{}
	for _, f := range fails {
		byKind[f.kind]++
		byTest[f.test] = append(byTest[f.test], f)
		if slices.Contains(infrastructureKinds, check.Kind(f.kind)) {
			infra++
		}
	}
	fmt.Fprintf(out, "\n%d rounds in %s: %d of %d variant runs passed; %d failures, %d of them infrastructure (%s)\n",
		rounds, took.Round(time.Second), passed, total, len(fails), infra, kindList(infrastructureKinds))
	if len(fails) == 0 {
		return
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "\nKIND\tFAILURES")
	for _, k := range slices.Sorted(maps.Keys(byKind)) {
		fmt.Fprintf(w, "%s\t%d\n", k, byKind[k])
	}
	fmt.Fprintln(w, "\nTEST\tROUND\tKIND\tREASON")
	for _, t := range slices.Sorted(maps.Keys(byTest)) {
		for _, f := range byTest[t] {
			fmt.Fprintf(w, "%s\t%d\t%s\t%s\n", t, f.round, f.kind, f.reason)
		}
	}
	w.Flush()
}

// firstReason is the first line of a failed test's output that says
// something, for failures without a ktstr kind.
func firstReason(out string) string {
	for _, l := range strings.Split(gotest.CleanOutput(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return "(no output)"
}

// busyLoops keeps n goroutines spinning until stopped: a host CPU load, as
// a shared CI runner has.
func busyLoops(n int) (stop func()) {
	done := make(chan struct{})
	for range n {
		go func() {
			x := 0
			for {
				select {
				case <-done:
					runtime.KeepAlive(x)
					return
				default:
				}
				for range 1 << 16 {
					x++
				}
			}
		}()
	}
	return func() { close(done) }
}

// kindList joins kinds for a message.
func kindList(kinds []check.Kind) string {
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}
