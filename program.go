package ktstr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/ktstr-go/ktstr/internal/guest"
	"github.com/ktstr-go/ktstr/internal/host"
	"github.com/ktstr-go/ktstr/internal/kernel"
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
		name := p.Name + "/" + topo.String()
		j := spec.job(v, p.Name, name)
		j.Program, j.Args = p.Name, o.Args
		fmt.Fprintf(w, "=== %s\n", name)
		l := &host.WriterLogger{W: w}
		_, err := host.RunProgram(j, l)
		var none *kernel.NoKernelError
		if errors.As(err, &none) {
			return false, fmt.Errorf("%w; fetch one with ktstr kernel fetch", err)
		}
		if err != nil {
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
