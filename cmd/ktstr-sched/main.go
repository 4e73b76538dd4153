// Command ktstr-sched runs ktstr's own sched_ext scheduler (ops name
// "ktstr"): a weighted virtual-time scheduler that injects the faults its
// flags ask for, so that tests can show the harness catching each one. See
// package github.com/ktstr-go/ktstr/scheds/ktstrsched for what each fault
// does.
//
//	ktstr-sched [flags]
//
// It prints "ktstr-sched: attached" once the kernel runs it, and stays
// attached until SIGINT or SIGTERM (then it detaches and exits 0) or until
// the kernel disables it. Then it prints the kernel's exit kind, reason and
// message (and, after an error, the kernel's debug dump) and exits 1 when
// the kernel ejected it, 2 when the scheduler unregistered itself
// (--exit-after). Build it static with CGO_ENABLED=0 go build.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ktstr-go/ktstr/scheds/ktstrsched"
)

func main() {
	os.Exit(run())
}

func run() int {
	var cfg ktstrsched.Config
	var verbose bool
	fs := flag.NewFlagSet("ktstr-sched", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: ktstr-sched [flags]\n\nktstr's own sched_ext scheduler (ops %q), with fault injection.\nCgroup paths are absolute or relative to %s and may appear after the start.\n\n", ktstrsched.OpsName, ktstrsched.CgroupRoot)
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.StallCgroup, "stall-cgroup", "", "never dispatch the tasks of cgroup `PATH` (the watchdog ejects the scheduler)")
	fs.DurationVar(&cfg.StopAfter, "stop-after", 0, "stop dispatching altogether after `DUR`")
	fs.StringVar(&cfg.EscapeCgroup, "escape-cgroup", "", "dispatch the tasks of cgroup `PATH` to a CPU outside their cpuset (the kernel ejects the scheduler)")
	fs.StringVar(&cfg.PinCgroup, "pin-cgroup", "", "run all tasks of cgroup `PATH` on the first CPU of their cpuset")
	fs.BoolVar(&cfg.OneCPU, "one-cpu", false, "run every task on the first CPU it may use, the other CPUs left idle")
	starve := fs.Uint("starve-below-weight", 0, "run tasks of a weight below `N` (nice 19 is 1, nice 0 is 100) only on otherwise idle CPUs")
	fs.DurationVar(&cfg.ErrorAfter, "error-after", 0, "raise a BPF runtime error (scx_bpf_error) after `DUR`")
	fs.DurationVar(&cfg.ExitAfter, "exit-after", 0, "unregister from BPF (scx_bpf_exit) after `DUR`, as a crashing scheduler")
	fs.DurationVar(&cfg.SlowDispatch, "slow-dispatch", 0, "hold a task put back in the queue still runnable (slice over, preempted) `DUR` before dispatching it again")
	fs.StringVar(&cfg.SlowCgroup, "slow-cgroup", "", "with --slow-dispatch, hold only the tasks of cgroup `PATH`")
	fs.DurationVar(&cfg.Timeout, "timeout", 0, "stall watchdog timeout (ops.timeout_ms), `DUR` up to 30s; 0 keeps the kernel's 30 s")
	fs.BoolVar(&verbose, "v", false, "verbose: the configuration, cgroups as they resolve, counters at the end")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 64
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "ktstr-sched: unexpected arguments %q\n", fs.Args())
		return 64
	}
	if *starve > 10000 {
		fmt.Fprintf(os.Stderr, "ktstr-sched: --starve-below-weight %d: weights go up to 10000\n", *starve)
		return 64
	}
	cfg.StarveBelowWeight = uint32(*starve)
	if verbose {
		cfg.Logf = func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "ktstr-sched: "+format+"\n", args...)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	t0 := time.Now()
	s, err := ktstrsched.Load(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ktstr-sched:", err)
		return 1
	}
	if verbose {
		timeout := "kernel default"
		if cfg.Timeout > 0 {
			timeout = cfg.Timeout.String()
		}
		fmt.Fprintf(os.Stderr, "ktstr-sched: loaded in %v; faults: %s; watchdog: %s\n", time.Since(t0).Round(time.Millisecond), cfg.Faults(), timeout)
	}
	if err := s.Attach(); err != nil {
		fmt.Fprintln(os.Stderr, "ktstr-sched:", err)
		s.Close()
		return 1
	}
	fmt.Println("ktstr-sched: attached")

	exit, _ := s.Wait(ctx)
	signalled := exit == nil
	if signalled {
		fmt.Println("ktstr-sched: signalled, detaching")
	}
	var st ktstrsched.Stats
	var stErr error
	if verbose {
		st, stErr = s.Stats()
	}
	if err := s.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "ktstr-sched:", err)
	}
	if verbose {
		if stErr != nil {
			fmt.Fprintln(os.Stderr, "ktstr-sched: counters:", stErr)
		} else {
			fmt.Fprintf(os.Stderr, "ktstr-sched: counters: %+v\n", st)
		}
	}
	exit = s.Exit()
	if exit == nil {
		fmt.Fprintln(os.Stderr, "ktstr-sched: detached, but the kernel reported no exit info")
		if signalled {
			return 0
		}
		return 1
	}
	switch {
	case exit.Detached():
		fmt.Printf("ktstr-sched: detached: %s\n", exit)
		if signalled {
			return 0
		}
		return 1
	case exit.Kind.IsError():
		fmt.Fprintf(os.Stderr, "ktstr-sched: ejected by the kernel: %s\n", exit)
		if exit.Dump != "" {
			fmt.Fprintf(os.Stderr, "--- sched_ext dump (ktstr-sched) ---\n%s\n--- end of dump ---\n", exit.Dump)
		}
		return 1
	default:
		fmt.Fprintf(os.Stderr, "ktstr-sched: the scheduler stopped: %s\n", exit)
		return 2
	}
}
