package ktstr

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/guest"
	"github.com/ktstr-go/ktstr/internal/host"
	"github.com/ktstr-go/ktstr/internal/wire"
)

// A Program is a body that a program other than a test binary runs in VMs,
// as the ktstr command runs scenario files. Make builds its Spec and Body
// from the program's arguments: on the host, to boot the VMs, and again in
// the guest, to run the body. It must build the same Spec on both sides.
type Program struct {
	// Name names the program in the guest and in result files.
	Name string
	// Make builds the Spec and Body from the program's arguments.
	Make func(args []string) (Spec, Body, error)
}

// RegisterProgram makes p runnable in this binary's VMs. Call it from an
// init function of the program's main package, whose main calls
// [MainProgram] first. Registering a name twice panics.
func RegisterProgram(p Program) {
	guest.RegisterProgram(p.Name, func(env *guest.Env) guest.Body {
		spec, body, err := p.Make(env.Request.Args)
		if err != nil {
			body = func(*Ctx) error { return fmt.Errorf("program %s in the guest: %w", p.Name, err) }
		}
		return newGuestBody(spec, body)(env)
	})
}

// MainProgram is [Main] for a program that is not a test binary: call it
// first in main. In a VM, where the binary is PID 1, it runs the registered
// Program the host asked for and powers off; in a worker process it runs
// the worker. It returns only on the host.
func MainProgram() { guest.Takeover(nil) }

// ProgramOptions shape [RunProgram].
type ProgramOptions struct {
	// Args are the program's arguments, handed to Make on both sides.
	Args []string
	// Kernel names the kernel as $KTSTR_KERNEL does; "" means that
	// variable, else the newest cached kernel.
	Kernel string
	// Output gets each variant's report; nil means standard output.
	Output io.Writer
	// Test names the runs in reports and result files, as Test/topology;
	// "" means the program's Name.
	Test string
}

// RunProgram boots p, registered with [RegisterProgram], once per topology
// of its Spec (no gauntlet), under ctx: each VM is stopped when ctx is
// cancelled. It prints each variant's report as a test would log it, writes
// each variant's result file (see package sidecar) and reports whether
// every variant passed. The error is for what prevented a run: a bad Spec,
// no kernel, QEMU missing.
func RunProgram(ctx context.Context, p Program, o ProgramOptions) (passed bool, err error) {
	if runtime.GOOS != "linux" {
		return false, fmt.Errorf("ktstr: VMs run on Linux hosts only (this is %s)", runtime.GOOS)
	}
	spec, _, err := p.Make(o.Args)
	if err != nil {
		return false, err
	}
	if err := spec.validate(); err != nil {
		return false, err
	}
	base, err := spec.baseProfile()
	if err != nil {
		return false, err
	}
	w := o.Output
	if w == nil {
		w = os.Stdout
	}
	stop := host.Start(ctx)
	defer stop()
	passed = true
	for _, topo := range spec.topologies() {
		v := variant{preset: topologyPreset(topo), topo: topo, profile: base, kernel: o.Kernel}
		test := o.Test
		if test == "" {
			test = p.Name
		}
		name := test + "/" + topo.String()
		j := spec.job(v, test, name)
		j.Program, j.Args = p.Name, o.Args
		fmt.Fprintf(w, "=== %s\n", name)
		l := &host.WriterLogger{W: w}
		if _, err := host.RunProgram(j, l); err != nil {
			return false, err
		}
		verdict := "PASS"
		if l.Failed {
			verdict, passed = "FAIL", false
		}
		fmt.Fprintf(w, "--- %s %s\n", verdict, name)
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
	}
	return passed, nil
}

// RunProgramOnHost runs p's body on this machine itself, not in a VM: the
// same cgroups, workers and checks, under the scheduler the machine runs
// now, on its own topology (the Spec's topologies are not booted). It
// needs root and cgroup v2. Everything it makes lives in a cgroup of its
// own below the cgroup v2 root, which it removes at the end with every
// process in it, also when ctx is cancelled (Ctrl-C); a controller it had
// to enable in the root is disabled again. What it will touch is printed
// to the Output first. It reports whether the run passed, and writes a
// result file named Test/host (accelerator "host") where a VM run's would
// go, for `ktstr stats` and `ktstr report`.
func RunProgramOnHost(ctx context.Context, p Program, o ProgramOptions) (passed bool, err error) {
	if runtime.GOOS != "linux" {
		return false, fmt.Errorf("ktstr: runs on Linux hosts only (this is %s)", runtime.GOOS)
	}
	spec, body, err := p.Make(o.Args)
	if err != nil {
		return false, err
	}
	if err := spec.validate(); err != nil {
		return false, err
	}
	if !spec.Scheduler.IsEEVDF() {
		return false, fmt.Errorf("ktstr: on the host, the body runs under the scheduler the machine runs now; start %s yourself first, and leave the Spec's Scheduler empty", spec.Scheduler)
	}
	w := o.Output
	if w == nil {
		w = os.Stdout
	}
	h, err := guest.PrepareOnHost(fmt.Sprintf("ktstr-host-%d", os.Getpid()))
	if err != nil {
		return false, err
	}
	defer h.Cleanup()
	sched, schedName := "the kernel's own (EEVDF)", "eevdf"
	if state := guest.SchedExtState(); state == "enabled" {
		ops, _ := os.ReadFile("/sys/kernel/sched_ext/root/ops")
		schedName = strings.TrimSpace(string(ops))
		sched = fmt.Sprintf("sched_ext %q", schedName)
	}
	fmt.Fprintf(w, "ktstr: running %s on this host for about %v under %s: worker processes and cpusets live in cgroup %s, removed at the end", p.Name, spec.duration(), sched, h.Parent)
	if en := h.Enabled(); len(en) > 0 {
		fmt.Fprintf(w, "; controllers %s enabled in the cgroup v2 root until then", strings.Join(en, ", "))
	}
	fmt.Fprintln(w)
	req := &wire.Request{
		Test:         p.Name,
		Duration:     spec.duration(),
		Assert:       check.Merge(check.Defaults(check.Env{}), spec.Scheduler.Assert, spec.Assert),
		Accel:        "host",
		CgroupParent: strings.TrimPrefix(h.Parent, guest.CgroupMount),
	}
	type outcome struct {
		res *wire.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := h.Run(req, newGuestBody(spec, body))
		done <- outcome{res, err}
	}()
	var out outcome
	select {
	case out = <-done:
	case <-ctx.Done():
		// Killing the run's cgroup stops the workers; the body is not
		// waited for, the process is about to exit.
		for _, err := range h.Cleanup() {
			fmt.Fprintln(w, "ktstr:", err)
		}
		return false, ctx.Err()
	}
	if out.err != nil {
		return false, out.err
	}
	for _, err := range h.Cleanup() {
		out.res.Failures = append(out.res.Failures, wire.Failure{Kind: check.Host, Message: "cleaning up: " + err.Error()})
	}
	passed = reportOnHost(w, out.res)
	// A result file like a VM run's, so that `ktstr stats` and `ktstr
	// report` take runs on machines too.
	test := o.Test
	if test == "" {
		test = p.Name
	}
	if path, err := host.WriteHostResult(host.HostResultFile(test+"/host", out.res, schedName)); err != nil {
		fmt.Fprintf(w, "ktstr: writing the result file: %v\n", err)
	} else {
		fmt.Fprintf(w, "ktstr: result file %s\n", path)
	}
	return passed, nil
}

// reportOnHost prints what a run on the host found, as a test's report
// does, and returns whether it passed.
func reportOnHost(w io.Writer, res *wire.Result) bool {
	if res.Checks != nil {
		fmt.Fprintf(w, "--- stats ---\n%s\n", strings.TrimRight(res.Checks.Stats.Format(), "\n"))
	}
	for _, f := range res.Failures {
		fmt.Fprintf(w, "ktstr: %s: %s\n", f.Kind, f.Message)
		if f.Detail != "" {
			fmt.Fprintln(w, strings.TrimRight(f.Detail, "\n"))
		}
	}
	verdict := "PASS"
	if len(res.Failures) > 0 {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "--- %s on this host (kernel %s, %d CPUs)\n", verdict, res.KernelRelease, len(res.Topology.CPUs))
	return len(res.Failures) == 0
}
