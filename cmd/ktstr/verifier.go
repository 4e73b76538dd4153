package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/env"
	"github.com/ktstr-go/ktstr/internal/host"
	"github.com/ktstr-go/ktstr/internal/initramfs"
	"github.com/ktstr-go/ktstr/internal/shell"
	"github.com/ktstr-go/ktstr/internal/topolabel"
	"github.com/ktstr-go/ktstr/internal/wire"
)

// verifierOptions is a `ktstr verifier` command line.
type verifierOptions struct {
	kernel    string
	topology  string
	scheduler string
	args      []string
}

func verifierCmd() *cobra.Command {
	var o verifierOptions
	c := &cobra.Command{
		Use:   "verifier SCHEDULER [--kernel K] [--topology LABEL] [-- SCHEDULER ARGS]",
		Short: "Load a sched_ext scheduler in a VM and print its BPF programs' verifier figures",
		Long: `verifier boots the kernel (--kernel, else $` + env.Kernel + `, else the newest
cached) with the sched_ext scheduler SCHEDULER (a path, or the name of one
` + "`ktstr sched build`" + ` built; its arguments after --), lets it run a second
with BPF stats on, and prints each of its BPF programs: type, the
instructions the verifier processed to load it (every path it explored;
the kernel allows a million), its translated and JIT-compiled sizes, and
its runs in that second with their average time.

When the scheduler fails to load, it prints why, with the scheduler's own
output (libbpf's verifier log among it), and exits 1.`,
		Example: `  ktstr verifier scx_qmap
  ktstr verifier ./build/scx_mine --topology 2n2l2c1t -- --slice-us 5000`,
		Args:              oneBeforeDash("scheduler"),
		ValidArgsFunction: completeSchedulers,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.scheduler = args[0]
			if dash := cmd.ArgsLenAtDash(); dash >= 0 {
				o.args = args[dash:]
			}
			ok, err := runVerifier(cmd.Context(), &o, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			if !ok {
				os.Exit(1)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&o.kernel, "kernel", "", "kernel to boot: a cache key, version prefix, image or source tree (default $"+env.Kernel+", else the newest cached)")
	f.StringVar(&o.topology, "topology", "1n1l2c1t", "the guest's CPU topology, NnLlCcTt")
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return badInput(err) })
	return c
}

// runVerifier loads the scheduler in a VM and prints its programs; false
// when it did not load or run cleanly.
func runVerifier(ctx context.Context, o *verifierOptions, w io.Writer) (bool, error) {
	shape, err := topolabel.Parse(o.topology)
	if err != nil {
		return false, badInput(fmt.Errorf("--topology: %w", err))
	}
	if strings.Contains(o.scheduler, "/") {
		if err := initramfs.IsELFExecutable(o.scheduler); err != nil {
			return false, badInput(fmt.Errorf("%s is not a scheduler binary: %w", o.scheduler, err))
		}
	}
	files, err := shell.Files(nil)
	if err != nil {
		return false, err
	}
	j := host.Job{
		Name:         "verifier",
		Program:      shell.ProgramExec,
		Args:         shell.Args("sleep 1", nil),
		Topology:     shape,
		Kernel:       o.kernel,
		Files:        files,
		CgroupParent: "/ktstr",
		Scheduler:    host.Scheduler{Name: filepath.Base(o.scheduler), Path: o.scheduler, Args: o.args, RunStats: true},
		Cmdline:      "nohz=off",
	}
	stop := host.Start(ctx)
	defer stop()
	out, err := host.Boot(j)
	if err != nil {
		return false, err
	}
	var rep *wire.SchedulerReport
	if out.Result != nil {
		rep = out.Result.Scheduler
	}
	if rep != nil && len(rep.Programs) > 0 {
		printPrograms(w, rep)
	}
	failures := out.Failures()
	for _, f := range failures {
		fmt.Fprintf(w, "ktstr verifier: %s: %s\n", f.Kind, f.Message)
		if f.Kind == check.SchedulerNotAttached || f.Kind == check.SchedulerDied {
			fmt.Fprintf(w, "(is %s a sched_ext scheduler? a program that is not exits or waits without attaching)\n", o.scheduler)
		}
		if f.Detail != "" {
			fmt.Fprintln(w, strings.TrimRight(f.Detail, "\n"))
		}
	}
	return len(failures) == 0, nil
}

// printPrograms prints a scheduler's programs as a table.
func printPrograms(w io.Writer, rep *wire.SchedulerReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "program\ttype\tverified insns\txlated B\tjited B\truns\tavg ns")
	var total uint64
	for _, p := range rep.Programs {
		avg := "-"
		if p.Counted && p.RunCount > 0 {
			avg = fmt.Sprint(p.RunTime.Nanoseconds() / int64(p.RunCount))
		}
		runs := "-"
		if p.Counted {
			runs = fmt.Sprint(p.RunCount)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\n", p.Name, p.Type, p.VerifiedInsns, p.XlatedBytes, p.JitedBytes, runs, avg)
		total += uint64(p.VerifiedInsns)
	}
	fmt.Fprintf(tw, "total (%d programs)\t\t%d\n", len(rep.Programs), total)
	tw.Flush()
	for _, n := range rep.ProgramNotes {
		fmt.Fprintln(w, "note:", n)
	}
}
