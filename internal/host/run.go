package host

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/cachedir"
	"github.com/ktstr-go/ktstr/internal/env"
	"github.com/ktstr-go/ktstr/internal/hostnoise"
	"github.com/ktstr-go/ktstr/internal/kernel"
	"github.com/ktstr-go/ktstr/internal/layout"
	"github.com/ktstr-go/ktstr/internal/monitor"
	"github.com/ktstr-go/ktstr/internal/scx"
	"github.com/ktstr-go/ktstr/internal/vm"
	"github.com/ktstr-go/ktstr/internal/wire"
	"github.com/ktstr-go/ktstr/sidecar"
)

// Judge turns a variant's outcome into t's result.
type Judge func(t *testing.T, o *Outcome)

// Run runs the variant t is: it skips it when a budget or shard left it out
// or under -short, lists it in list mode, or boots it and hands the outcome
// to judge. A nil judge is the standard one: [Report], then the variant's
// result file.
func Run(t *testing.T, j Job, judge Judge) {
	t.Helper()
	if ok, why := selected(t.Name()); !ok {
		writeSkipped(t, j, "not selected: "+why)
		t.Skip("not selected: " + why)
	}
	if listing() {
		listVariant(t.Name(), j.Variant)
		t.Skip("listed")
	}
	if testing.Short() {
		t.Skip("boots a VM, which -short leaves out")
	}
	o, err := Boot(j)
	var none *kernel.NoKernelError
	switch {
	case errors.As(err, &none):
		// Nothing to boot on this machine yet: a setup step, not a
		// failure of the test.
		t.Skipf("ktstr: %v", err)
	case err != nil:
		t.Fatalf("ktstr: %v", err)
	}
	if judge != nil {
		judge(t, o)
		return
	}
	reportAndRecord(t, o)
}

// RunProgram boots j for a program that is not a test binary (after
// [Start]), reports the outcome to l as [Run] reports to a test, and writes
// the variant's result file.
func RunProgram(j Job, l Logger) (*Outcome, error) {
	o, err := Boot(j)
	if err != nil {
		return nil, err
	}
	reportAndRecord(l, o)
	return o, nil
}

// reportAndRecord is the standard judge: [Report], then the result file.
func reportAndRecord(l Logger, o *Outcome) {
	Report(l, o)
	if err := writerFor(o.Kernel).Write(o.ResultFile()); err != nil {
		l.Logf("ktstr: writing the result file: %v", err)
	}
}

// Outcome is one VM run of one variant.
type Outcome struct {
	*vm.Outcome
	// Job is the variant that ran.
	Job Job
	// Kernel is the kernel it booted.
	Kernel *kernel.Kernel
	// AccelWhy says why the accelerator was chosen.
	AccelWhy string
	// Deterministic says whether it ran in deterministic mode.
	Deterministic bool
	// NoiseNotes say which verdicts time the host held the VM off was
	// taken out of.
	NoiseNotes []string
	// MonitorFindings are the host monitor's limits the run exceeded, and
	// MonitorSummary condenses its samples; nil when it did not run.
	MonitorFindings []monitor.Finding
	MonitorSummary  *monitor.Summary
}

// Failures lists the run's failures, the host's diagnosis first.
func (o *Outcome) Failures() []wire.Failure {
	var fs []wire.Failure
	if o.Failure != nil {
		fs = append(fs, *o.Failure)
	}
	if o.Result != nil {
		fs = append(fs, o.Result.Failures...)
	}
	return fs
}

// Boot boots the VM of job j and returns what happened. The error is for
// problems that prevent a run; what happened in the guest is in the
// outcome.
func Boot(j Job) (*Outcome, error) {
	ctx := state.ctx
	if ctx == nil {
		return nil, fmt.Errorf("host state missing: ktstr.Run must run under ktstr.Main")
	}
	// git and the host context for the result file, while the guest boots.
	sidecar.Prefetch()
	k, err := ResolveKernel(j.Kernel)
	if err != nil {
		return nil, err
	}
	sched := j.Scheduler
	if !sched.EEVDF() && k.SchedExt == kernel.SupportNo {
		return nil, fmt.Errorf("kernel %s (%s) has no sched_ext (CONFIG_SCHED_CLASS_EXT is not y) but scheduler %s needs it; run `ktstr kernel fetch` for one that has, or set %s", k.Version, k.Image, sched.Name, env.Kernel)
	}
	if !sched.EEVDF() && !strings.Contains(sched.Path, "/") {
		// A bare name is found here, on the host: the spec is also
		// evaluated in the guest, where the host's files are not.
		p, err := scx.Find(sched.Path, scx.CacheName(k))
		if err != nil {
			return nil, fmt.Errorf("scheduler %s: %w", sched.Name, err)
		}
		sched.Path = p
	}
	initrd, err := buildInitramfs(sched, k.Config, j.Files, j.Payloads...)
	if err != nil {
		return nil, err
	}
	accel, why, err := Accel()
	if err != nil {
		return nil, err
	}
	dir, err := scratchDir()
	if err != nil {
		return nil, err
	}
	deterministic := accel == vm.TCG && (j.Deterministic || os.Getenv(env.Deterministic) == "1")
	shift, err := icountShift()
	if err != nil {
		return nil, err
	}
	req := wire.Request{
		Test:          j.Name,
		Topology:      j.Topology,
		Duration:      j.Duration,
		Verbose:       verbose(),
		ExpectFailure: j.Expect != nil,
		Assert:        mergedAssert(j, accel, deterministic),
		Accel:         string(accel),
		Deterministic: deterministic,
		Kernels:       KernelLabels(),
		CgroupParent:  j.CgroupParent,
		Symbols:       cachedSymbols(k),
		Program:       j.Program,
		Args:          j.Args,
	}
	if j.Terminal != nil {
		size := j.Terminal.Size
		req.Terminal = &size
	}
	if !sched.EEVDF() {
		req.Scheduler = &wire.Scheduler{
			Name:          sched.Name,
			Path:          layout.SchedulerPath(sched.Path),
			Args:          sched.Args,
			Ops:           sched.Ops,
			AttachTimeout: sched.AttachTimeout,
			Watchdog:      watchdog(j.Watchdog, accel),
			LibraryPath:   initrd.libraryPath,
			RunStats:      j.Scheduler.RunStats || os.Getenv(env.BPFStats) == "1",
		}
	}
	bootShape := j.Topology
	if j.BootTopology != nil {
		bootShape = *j.BootTopology
	}
	boot, timeout := timeouts(j, accel)
	if deterministic && j.Timeout == 0 {
		// -icount runs several times slower.
		boot, timeout = 4*boot, 4*timeout
	}
	if j.BootTimeout > 0 {
		boot = j.BootTimeout
	}
	if j.Terminal != nil {
		// Interactive: the user decides when it ends.
		timeout = interactiveTimeout
	}
	cfg := vm.Config{
		Dir:           dir,
		Kernel:        k.BootImage(),
		Vmlinux:       k.Vmlinux,
		HZ:            kernelHZ(k),
		Initrd:        initrd.path,
		Cmdline:       j.Cmdline,
		Topology:      bootShape,
		MemoryMB:      memoryMB(j, initrd.size),
		Accel:         accel,
		Deterministic: deterministic,
		ICountShift:   shift,
		Request:       req,
		BootTimeout:   boot,
		Timeout:       timeout,
	}
	if j.Terminal != nil {
		cfg.Stdin, cfg.Console = j.Terminal.In, j.Terminal.Out
	}
	cfg.OnMessage = func(m wire.Message) {
		switch {
		case m.Kind == wire.KindStdout && j.Stdout != nil:
			_, _ = io.WriteString(j.Stdout, m.Text)
		case m.Kind == wire.KindStderr && j.Stderr != nil:
			_, _ = io.WriteString(j.Stderr, m.Text)
		}
	}
	out, err := vm.Run(ctx, cfg)
	if err != nil {
		return nil, err
	}
	keepSymbols(k, req.Symbols, out.Symbols, out.SymbolsBad)
	o := &Outcome{Outcome: out, Job: j, Kernel: k, AccelWhy: why, Deterministic: deterministic}
	// Deferred calls run last first: host noise is taken out of the
	// guest's verdicts, then the monitor's are added.
	defer o.judgeMonitor(req.Assert)
	defer o.adjustForHostNoise(req.Assert)
	if out.Result != nil || out.BootTime > 0 || ctx.Err() != nil {
		return o, nil
	}
	// The guest never reached init. A damaged kernel file whose size and
	// time were kept passes the quick check on use; only its hash tells.
	verr := k.Verify()
	if !cachedir.IsDamaged(verr) {
		return o, nil
	}
	// Reported, not repaired: a test binary does not fetch (see
	// ResolveKernel); the error says how to repair the entry.
	e, _ := k.Entry()
	damaged := &kernel.DamagedError{Entry: e}
	damaged.Entry.Damage = verr
	o.Failure = &wire.Failure{Kind: check.Boot, Message: damaged.Error(),
		Detail: "the boot failed with: " + out.Failure.Message + "\n" + out.Failure.Detail}
	return o, nil
}

// interactiveTimeout bounds a run on the user's terminal: a day, as good
// as none, and still not forever for a session left open.
const interactiveTimeout = 24 * time.Hour

// adjustForHostNoise takes the time the host held the vCPUs off out of the
// guest's verdicts where it can (package hostnoise). Under -icount there
// is none to take out: guest time does not pass while the host holds QEMU
// off.
func (o *Outcome) adjustForHostNoise(a check.Assert) {
	if o.Deterministic || o.Result == nil {
		return
	}
	o.NoiseNotes = hostnoise.Adjust(o.Result, o.HostNoise, a)
}

func icountShift() (int, error) {
	v := os.Getenv(env.ICountShift)
	if v == "" {
		return vm.DefaultICountShift, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > vm.MaxICountShift {
		return 0, fmt.Errorf("%s=%q: want a whole number from 0 to %d (guest time per instruction is 2^shift ns)", env.ICountShift, v, vm.MaxICountShift)
	}
	return n, nil
}
