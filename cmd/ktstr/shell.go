package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ktstr-go/ktstr/internal/env"
	"github.com/ktstr-go/ktstr/internal/host"
	"github.com/ktstr-go/ktstr/internal/shell"
	"github.com/ktstr-go/ktstr/internal/topolabel"
	"github.com/ktstr-go/ktstr/internal/wire"
)

// Exit statuses of `ktstr shell --exec` that are not the command's own,
// as docker run has them: the harness failed, or the command did not run.
const (
	exitHarness = 125
)

// shellOptions is a `ktstr shell` command line.
type shellOptions struct {
	kernel    string
	topology  string
	scheduler string
	schedArgs []string
	includes  []string
	exec      string
	execSet   bool
	memoryMB  int
	verbose   bool
}

func shellCmd() *cobra.Command {
	var o shellOptions
	c := &cobra.Command{
		Use:   "shell [--kernel K] [--topology LABEL] [--scheduler PATH] [--include FILE[:GUEST_PATH]]... [--exec CMD] [-- SCHEDULER ARGS]",
		Short: "Boot a VM of a given topology and scheduler with a shell on this terminal, or run one command in it",
		Long: `shell boots the kernel (--kernel, else $` + env.Kernel + `, else the newest
cached) in a VM whose CPU topology is --topology (NnLlCcTt: NUMA nodes,
LLCs in all, cores per LLC, threads per core), starts the sched_ext
scheduler --scheduler (a path, or a kernel-tree scheduler's name such as
scx_simple that ` + "`ktstr sched build`" + ` built; arguments after --) and gives
this terminal an interactive shell in it, with job control. The shell is
busybox (Debian's busybox-static) when the host has it, else the host's
/bin/sh. On start it prints the guest's CPUs, the scheduler's state and
what was included. exit or Ctrl-D powers the VM off; Ctrl-] forces it off.

--include FILE[:GUEST_PATH] packs a host file or directory into the guest
(repeatable): an executable with its shared libraries; a file without a
guest path lands in /include, which is on the shell's $PATH.

--exec CMD runs one command (with sh -c) without a terminal instead: its
standard output and error pass through to this command's, and its exit
status is this command's. When the VM itself fails (the kernel does not
boot, the scheduler does not attach or dies), ktstr says why and exits 125.`,
		Example: `  ktstr shell --topology 2n2l2c1t
  ktstr shell --scheduler scx_simple --include ./mytool -- -v
  ktstr shell --topology 1n2l2c1t --exec 'nproc; cat /sys/kernel/sched_ext/state'`,
		Args: func(cmd *cobra.Command, args []string) error {
			if dash := cmd.ArgsLenAtDash(); dash != 0 && len(args) > 0 {
				return fmt.Errorf("unexpected argument %q; scheduler arguments go after \"--\", as in ktstr shell --scheduler scx_simple -- -v", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.schedArgs = args
			o.execSet = cmd.Flags().Changed("exec")
			code, err := runShell(cmd.Context(), &o)
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
	f.StringVar(&o.kernel, "kernel", "", "kernel to boot: a cache key, version prefix, image or source tree (default $"+env.Kernel+", else the newest cached)")
	f.StringVar(&o.topology, "topology", "1n1l2c1t", "the guest's CPU topology, NnLlCcTt")
	f.StringVar(&o.scheduler, "scheduler", "", "sched_ext scheduler to start: a path, or the name of one `ktstr sched build` built (default: the kernel's own, EEVDF)")
	f.StringArrayVar(&o.includes, "include", nil, "pack a host file or directory into the guest, FILE or FILE:GUEST_PATH (repeatable)")
	f.StringVar(&o.exec, "exec", "", "run this command (sh -c) instead of an interactive shell, and exit with its status")
	f.IntVar(&o.memoryMB, "memory", 0, "guest RAM in MiB (default: sized from the CPU count)")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "print the harness's own output (boot, scheduler) too")
	return c
}

// job turns the options into the VM to boot, checking each first.
func (o *shellOptions) job() (host.Job, error) {
	if o.execSet && strings.TrimSpace(o.exec) == "" {
		return host.Job{}, errors.New("--exec needs a command, as in --exec 'cat /proc/cpuinfo'")
	}
	if o.scheduler == "" && len(o.schedArgs) > 0 {
		return host.Job{}, fmt.Errorf("scheduler arguments %q but no --scheduler; give --scheduler PATH", o.schedArgs)
	}
	if o.memoryMB < 0 {
		return host.Job{}, fmt.Errorf("--memory %d: want a positive size in MiB", o.memoryMB)
	}
	shape, err := topolabel.Parse(o.topology)
	if err != nil {
		return host.Job{}, fmt.Errorf("--topology: %w", err)
	}
	var includes []shell.Include
	for _, v := range o.includes {
		in, err := shell.ParseInclude(v)
		if err != nil {
			return host.Job{}, err
		}
		includes = append(includes, in)
	}
	files, err := shell.Files(includes)
	if err != nil {
		return host.Job{}, err
	}
	j := host.Job{
		Name:         "shell",
		Program:      shell.ProgramExec,
		Args:         shell.Args(o.exec, includes),
		Topology:     shape,
		Kernel:       o.kernel,
		MemoryMB:     o.memoryMB,
		Files:        files,
		CgroupParent: "/ktstr",
	}
	if !o.execSet {
		j.Program = shell.ProgramShell
	}
	if o.scheduler != "" {
		if strings.Contains(o.scheduler, "/") {
			if _, err := os.Stat(o.scheduler); err != nil {
				return host.Job{}, fmt.Errorf("--scheduler %s: no such file", o.scheduler)
			}
		}
		j.Scheduler = host.Scheduler{Name: filepath.Base(o.scheduler), Path: o.scheduler, Args: o.schedArgs}
		// Keep the tick on idle CPUs, as tests do, so the stall watchdog's
		// backstop fires on time.
		j.Cmdline = "nohz=off"
	}
	return j, nil
}

// runShell boots the VM and returns the exit status: the command's, or
// exitHarness when the VM failed.
func runShell(ctx context.Context, o *shellOptions) (int, error) {
	j, err := o.job()
	if err != nil {
		return 0, badInput(err)
	}
	if j.Program == shell.ProgramShell {
		restore, err := rawTerminal(&j)
		if err != nil {
			return 0, err
		}
		defer restore()
	} else {
		j.Stdout, j.Stderr = os.Stdout, os.Stderr
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if j.Terminal != nil {
		in, err := escapable(os.Stdin, cancel)
		if err != nil {
			return 0, err
		}
		defer in.Close()
		j.Terminal.In = in
	}
	stop := host.Start(ctx)
	defer stop()
	out, err := host.Boot(j)
	if err != nil {
		return 0, err
	}
	return shellOutcome(out, o.verbose, os.Stderr), nil
}

// shellOutcome says what went wrong with the VM, if anything, and returns
// the exit status.
func shellOutcome(o *host.Outcome, verbose bool, w io.Writer) int {
	failures := o.Failures()
	if (verbose || len(failures) > 0) && len(o.Output) > 0 {
		fmt.Fprintf(w, "--- guest output ---\n%s\n", strings.TrimRight(string(o.Output), "\n"))
	}
	if len(failures) == 0 && o.Result != nil {
		return o.Result.ExitStatus
	}
	for _, f := range failures {
		fmt.Fprintf(w, "ktstr shell: %s: %s\n", f.Kind, f.Message)
		if f.Detail != "" {
			fmt.Fprintln(w, strings.TrimRight(f.Detail, "\n"))
		}
	}
	return exitHarness
}

// rawTerminal connects the job's console to this terminal in raw mode, so
// that every key reaches the guest's line discipline (Ctrl-C included),
// and returns what restores it.
func rawTerminal(j *host.Job) (restore func(), err error) {
	in := int(os.Stdin.Fd())
	if !term.IsTerminal(in) || !term.IsTerminal(int(os.Stdout.Fd())) {
		return nil, errors.New("an interactive shell needs a terminal on standard input and output; run one command with --exec CMD instead")
	}
	cols, rows, err := term.GetSize(int(os.Stdout.Fd()))
	if err != nil {
		return nil, fmt.Errorf("reading the terminal's size: %w", err)
	}
	state, err := term.MakeRaw(in)
	if err != nil {
		return nil, fmt.Errorf("putting the terminal in raw mode: %w", err)
	}
	j.Terminal = &host.Terminal{
		Size: wire.Terminal{Rows: uint16(rows), Cols: uint16(cols), Term: os.Getenv("TERM")},
		Out:  os.Stdout,
	}
	return func() { _ = term.Restore(in, state) }, nil
}

// escapeKey, Ctrl-], forces the VM off, for a guest that no longer
// answers; as in telnet.
const escapeKey = 0x1d

// escapable passes r on through a pipe, whose read end it returns, and
// calls cancel when the user types escapeKey. The copy ends with the
// process: it waits in a read of the terminal.
func escapable(r io.Reader, cancel func()) (*os.File, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	go func() {
		buf := make([]byte, 256)
		for {
			n, err := r.Read(buf)
			chunk := buf[:n]
			if bytes.IndexByte(chunk, escapeKey) >= 0 {
				cancel()
				_ = pw.Close()
				return
			}
			if n > 0 {
				if _, werr := pw.Write(chunk); werr != nil {
					return
				}
			}
			if err != nil {
				_ = pw.Close()
				return
			}
		}
	}()
	return pr, nil
}
