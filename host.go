package ktstr

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/internal/env"

	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/cachedir"
	"github.com/ktstr-go/ktstr/internal/hostnoise"
	"github.com/ktstr-go/ktstr/internal/kernel"
	"github.com/ktstr-go/ktstr/internal/kernel/image"
	"github.com/ktstr-go/ktstr/internal/scx"
	"github.com/ktstr-go/ktstr/internal/vm"
	"github.com/ktstr-go/ktstr/internal/wire"
	"github.com/ktstr-go/ktstr/sidecar"
)

// hostState is what the host side shares between tests of one process.
var hostState struct {
	ctx    context.Context
	cancel context.CancelFunc

	accelOnce sync.Once
	accel     vm.Accel
	accelWhy  string
	accelErr  error
}

// hostMain runs the tests on the host and cleans up after them, also when
// the process is interrupted.
func hostMain(m *testing.M) int {
	hostState.ctx, hostState.cancel = context.WithCancel(context.Background())
	sweepStaleScratch()
	if err := selectVariants(); err != nil {
		fmt.Fprintln(os.Stderr, "ktstr:", err)
		return 2
	}
	sigs := make(chan os.Signal, 1)
	// SIGPIPE too: output piped into a reader that quit (| head) would
	// otherwise kill the process before it cleans up.
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	go func() {
		s := <-sigs
		for s == syscall.SIGPIPE && !outputBroken() {
			// A write to some other broken pipe or socket (a VM that
			// died, say): its writer sees EPIPE and copes.
			s = <-sigs
		}
		fmt.Fprintf(os.Stderr, "\nktstr: %v: stopping VMs and cleaning up\n", s)
		hostState.cancel()
		vm.KillAll()
		// Give running tests a moment to reap QEMU and print what they have.
		time.Sleep(500 * time.Millisecond)
		cleanupScratch()
		os.Exit(128 + int(s.(syscall.Signal)))
	}()
	code := m.Run()
	signal.Stop(sigs)
	hostState.cancel()
	cleanupScratch()
	return code
}

// outputBroken reports whether standard output or error is a pipe whose
// reader has gone.
func outputBroken() bool {
	fds := []unix.PollFd{{Fd: 1, Events: unix.POLLOUT}, {Fd: 2, Events: unix.POLLOUT}}
	if _, err := unix.Poll(fds, 0); err != nil {
		return false
	}
	for _, f := range fds {
		if f.Revents&unix.POLLERR != 0 {
			return true
		}
	}
	return false
}

func hostAccel() (vm.Accel, string, error) {
	hostState.accelOnce.Do(func() {
		hostState.accel, hostState.accelWhy, hostState.accelErr = vm.ChooseAccel()
	})
	return hostState.accel, hostState.accelWhy, hostState.accelErr
}

// hostRun boots one VM for the variant of t and turns its outcome into the
// test's result.
func hostRun(t *testing.T, spec Spec, v variant) {
	t.Helper()
	r, err := hostBoot(t.Name(), spec, v.topo, v.kernel)
	if err != nil {
		t.Fatalf("ktstr: %v", err)
	}
	report(t, spec, v.topo, r)
	if err := writerFor(r.kernel).Write(sidecarResult(t.Name(), spec, v, r)); err != nil {
		t.Logf("ktstr: writing the result file: %v", err)
	}
}

// hostRunResult is one VM run of one variant.
type hostRunResult struct {
	*vm.Outcome
	kernel        *kernel.Kernel
	accelWhy      string
	deterministic bool
	// repaired, when set, says that the first boot failed on a damaged
	// kernel, which was fetched again for this run.
	repaired string
	// noiseNotes say which verdicts time the host held the VM off was
	// taken out of.
	noiseNotes []string
}

// adjustForHostNoise takes the time the host held the vCPUs off out of the
// guest's verdicts where it can (package hostnoise). Under -icount there
// is none to take out: guest time does not pass while the host holds QEMU
// off.
func (r *hostRunResult) adjustForHostNoise(a check.Assert) {
	if r.deterministic || r.Result == nil {
		return
	}
	r.noiseNotes = hostnoise.Adjust(r.Result, r.HostNoise, a)
}

// hostNoiseStall is the shortest held-off stretch the report counts.
const hostNoiseStall = 50 * time.Millisecond

// hostNoise summarises the held-off time for the result file.
func (r *hostRunResult) hostNoise() *sidecar.HostNoise {
	if r.HostNoise == nil || r.deterministic {
		return nil
	}
	hn := &sidecar.HostNoise{HeldMS: ms(r.HostNoise.Total()), Notes: r.noiseNotes}
	for _, s := range r.HostNoise.Stalls(hostNoiseStall) {
		hn.Stalls++
		hn.LongestMS = max(hn.LongestMS, ms(s.Held))
	}
	return hn
}

// failures lists the run's failures, the host's diagnosis first.
func (r *hostRunResult) failures() []wire.Failure {
	var fs []wire.Failure
	if r.Failure != nil {
		fs = append(fs, *r.Failure)
	}
	if r.Result != nil {
		fs = append(fs, r.Result.Failures...)
	}
	return fs
}

// hostBoot boots the VM for the test called name. The error is for problems
// that prevent a run; what happened in the guest is in the result.
func hostBoot(name string, spec Spec, topo Topology, kernelSpec string) (*hostRunResult, error) {
	ctx := hostState.ctx
	if ctx == nil {
		return nil, fmt.Errorf("host state missing: ktstr.Run must run under ktstr.Main")
	}
	k, err := hostKernel(kernelSpec)
	if err != nil {
		return nil, err
	}
	if !spec.Scheduler.IsEEVDF() && k.SchedExt == kernel.SupportNo {
		return nil, fmt.Errorf("kernel %s (%s) has no sched_ext (CONFIG_SCHED_CLASS_EXT is not y) but scheduler %s needs it; run `ktstr kernel fetch` for one that has, or set KTSTR_KERNEL", k.Version, k.Image, spec.Scheduler)
	}
	if !spec.Scheduler.IsEEVDF() && !strings.Contains(spec.Scheduler.Path, "/") {
		// Discovered at run time, on the host only: the spec is also
		// evaluated in the guest, where the host's files are not.
		p, err := scx.Find(spec.Scheduler.Path, k.Version)
		if err != nil {
			return nil, fmt.Errorf("scheduler %s: %w", spec.Scheduler, err)
		}
		if spec.Scheduler.Name == "" {
			spec.Scheduler.Name = spec.Scheduler.Path
		}
		spec.Scheduler.Path = p
	}
	initrd, err := hostInitramfs(spec.Scheduler, k.Config, spec.Payloads...)
	if err != nil {
		return nil, err
	}
	accel, why, err := hostAccel()
	if err != nil {
		return nil, err
	}
	dir, err := scratchDir()
	if err != nil {
		return nil, err
	}
	deterministic := accel == vm.TCG && (spec.Deterministic || os.Getenv(DeterministicEnv) == "1")
	shift, err := icountShift()
	if err != nil {
		return nil, err
	}
	shape := topo.shape()
	req := wire.Request{
		Test:          name,
		Topology:      shape,
		Duration:      spec.duration(),
		Verbose:       verbose(),
		Assert:        mergedAssert(spec, accel, deterministic),
		Accel:         string(accel),
		Deterministic: deterministic,
		Kernels:       kernelLabels(),
		CgroupParent:  spec.Scheduler.cgroupParent(),
	}
	if !spec.Scheduler.IsEEVDF() {
		req.Scheduler = &wire.Scheduler{
			Name:          spec.Scheduler.String(),
			Path:          guestSchedulerPath(spec.Scheduler.Path),
			Args:          spec.Scheduler.Args,
			Ops:           spec.Scheduler.Ops,
			AttachTimeout: spec.Scheduler.AttachTimeout,
			Watchdog:      spec.watchdog(accel),
			LibraryPath:   initrd.libraryPath,
		}
	}
	bootShape := shape
	if spec.bootTopology != nil {
		bootShape = spec.bootTopology.shape()
	}
	boot, timeout := timeouts(spec, topo, accel)
	if deterministic && spec.Timeout == 0 {
		// -icount runs several times slower.
		boot, timeout = 4*boot, 4*timeout
	}
	if spec.bootTimeout > 0 {
		boot = spec.bootTimeout
	}
	cfg := vm.Config{
		Dir:           dir,
		Kernel:        k.BootImage(),
		Vmlinux:       k.Vmlinux,
		HZ:            kernelHZ(k),
		Initrd:        initrd.path,
		Cmdline:       spec.cmdline(),
		Topology:      bootShape,
		MemoryMB:      memoryMB(spec, topo, initrd.size),
		Accel:         accel,
		Deterministic: deterministic,
		ICountShift:   shift,
		Request:       req,
		BootTimeout:   boot,
		Timeout:       timeout,
	}
	out, err := vm.Run(ctx, cfg)
	if err != nil {
		return nil, err
	}
	r := &hostRunResult{Outcome: out, kernel: k, accelWhy: why, deterministic: deterministic}
	defer r.adjustForHostNoise(req.Assert)
	if out.Result != nil || out.BootTime > 0 || ctx.Err() != nil {
		return r, nil
	}
	// The guest never reached init. A damaged kernel file whose size and
	// time were kept passes the quick check on use; only its hash tells.
	verr := k.Verify()
	if !cachedir.IsDamaged(verr) {
		return r, nil
	}
	e, _ := k.Entry()
	damaged := &kernel.DamagedError{Entry: e}
	damaged.Entry.Damage = verr
	if !e.FromArchive() {
		r.Failure = &wire.Failure{Kind: check.Boot, Message: damaged.Error(),
			Detail: "the boot failed with: " + out.Failure.Message + "\n" + out.Failure.Detail}
		return r, nil
	}
	fmt.Fprintf(os.Stderr, "ktstr: %v\n", damaged)
	if _, err := kernel.Repair(ctx, e, kernel.FetchOptions{Log: prefixed{os.Stderr, "ktstr: "}}); err != nil {
		r.Failure = &wire.Failure{Kind: check.Boot, Message: damaged.Error() + "; fetching it again failed: " + err.Error()}
		return r, nil
	}
	// Repaired in place: the same paths hold the kernel again.
	if out, err = vm.Run(ctx, cfg); err != nil {
		return nil, err
	}
	r.Outcome = out
	var d *cachedir.DamageError
	errors.As(verr, &d)
	r.repaired = fmt.Sprintf("kernel cache entry %s was damaged (%s) and fetched again", e.Key, strings.Join(d.Problems, "; "))
	return r, nil
}

// ICountShiftEnv overrides the -icount shift of deterministic mode
// (vm.DefaultICountShift): guest time per instruction is 2^shift ns.
const ICountShiftEnv = env.ICountShift

// DeterministicEnv=1 runs every TCG variant in deterministic mode, as
// Spec.Deterministic does.
const DeterministicEnv = env.Deterministic

func icountShift() (int, error) {
	v := os.Getenv(ICountShiftEnv)
	if v == "" {
		return vm.DefaultICountShift, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > vm.MaxICountShift {
		return 0, fmt.Errorf("%s=%q: want a whole number from 0 to %d (guest time per instruction is 2^shift ns)", ICountShiftEnv, v, vm.MaxICountShift)
	}
	return n, nil
}

// timeouts derives the boot and whole-run limits. Under TCG each vCPU
// beyond two adds about 0.3 s of boot on a 2-core host (FIELD-NOTES), and a
// loaded host can make everything several times slower, hence the margins.
func timeouts(spec Spec, topo Topology, accel vm.Accel) (boot, total time.Duration) {
	cpus := time.Duration(topo.CPUs())
	boot = 60*time.Second + cpus*time.Second
	if accel == vm.KVM {
		boot = 30 * time.Second
	}
	if spec.Timeout > 0 {
		return min(boot, spec.Timeout), spec.Timeout
	}
	total = 60*time.Second + 3*spec.duration() + cpus*time.Second
	if !spec.Scheduler.IsEEVDF() {
		total += 30 * time.Second // attach, under emulation
	}
	return boot, total
}

// memoryMB sizes guest RAM: room for the unpacked initramfs (it lives in
// RAM) plus 64 MB per CPU, at least 512 MB, a multiple of the node count.
func memoryMB(spec Spec, topo Topology, initrdBytes int64) int {
	mb := spec.MemoryMB
	if mb == 0 {
		mb = max(512, 64*topo.CPUs(), 256+int(3*initrdBytes>>20))
	}
	n := topo.NUMANodes
	return (mb + n - 1) / n * n
}

// report fails t with the run's failures and logs what helps.
func report(t *testing.T, spec Spec, topo Topology, r *hostRunResult) {
	t.Helper()
	kver := r.kernel.Version
	if kver == "" {
		kver = r.kernel.BootImage()
	}
	summary := fmt.Sprintf("ktstr: %s, scheduler %s, kernel %s, %s (%s), boot %v, total %v",
		topo, spec.Scheduler, kver, r.Accel, r.accelWhy, r.BootTime.Round(time.Millisecond), r.Wall.Round(time.Millisecond))
	if r.Retried {
		summary += ", boot retried once (the first never reached init)"
	}
	if r.repaired != "" {
		summary += ", " + r.repaired
	}
	if hn := r.hostNoise(); hn != nil && hn.HeldMS >= 20 {
		summary += fmt.Sprintf(", the host held the vCPUs off %.0f ms in all (%d stretches of %v or more, longest %.0f ms)", hn.HeldMS, hn.Stalls, hostNoiseStall, hn.LongestMS)
	}
	if r.PowerOffKilled {
		summary += ", the guest did not power off after delivering its result (QEMU stopped; the result stands)"
	}
	if r.Result != nil {
		if s := r.Result.Scheduler; s != nil {
			summary += fmt.Sprintf(", %s attached after %v, ended %s", s.Name, s.AttachAfter.Round(time.Millisecond), s.Exit)
			if s.Watchdog != "" {
				summary += ", stall watchdog " + s.Watchdog
			}
		}
		if len(r.Result.Leftovers) > 0 && verbose() {
			t.Logf("ktstr: removed what the body left: %s", strings.Join(r.Result.Leftovers, ", "))
		}
	}
	t.Log(summary)
	for _, n := range r.noiseNotes {
		t.Log("ktstr: host noise taken out: " + n)
	}
	failures := r.failures()
	failed := len(failures) > 0
	if (failed || verbose()) && len(r.Output) > 0 {
		t.Logf("--- guest output ---\n%s", strings.TrimRight(string(r.Output), "\n"))
	}
	switch {
	case len(r.Console) == 0:
	case verbose():
		t.Logf("--- kernel console ---\n%s", strings.TrimRight(string(r.Console), "\n"))
	case failed && !consoleInDetail(failures[0].Kind):
		t.Logf("--- kernel console (last 40 lines) ---\n%s", lastLines(r.Console, 40))
	}
	if res := r.Result; res != nil && (failed || verbose()) {
		if res.Checks != nil {
			t.Logf("--- stats ---\n%s", strings.TrimRight(res.Checks.Stats.Format(), "\n"))
		}
		if len(res.Timeline) > 0 {
			t.Logf("--- timeline ---\n%s", formatTimeline(res.Timeline))
		}
	}
	if verbose() {
		t.Logf("--- checks in force ---\n%s", strings.TrimRight(mergedAssert(spec, r.Accel, r.deterministic).Format(), "\n"))
	}
	for _, f := range failures {
		msg := fmt.Sprintf("ktstr: %s: %s", f.Kind, f.Message)
		if f.Detail != "" {
			msg += "\n" + strings.TrimRight(f.Detail, "\n")
		}
		t.Error(msg)
	}
	if failed && failures[0].Kind == check.KernelPanic {
		t.Log("ktstr: the guest kernel panicked: a kernel crash, which may or may not be the scheduler's doing")
	}
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// consoleInDetail tells the failure kinds whose detail already quotes the
// kernel console.
func consoleInDetail(kind check.Kind) bool {
	switch kind {
	case check.KernelPanic, check.Boot, check.Timeout, check.NoResult:
		return true
	}
	return false
}

// mergedAssert is the check configuration of a test: the defaults for where
// it runs (KVM, TCG with the host's clock, TCG in deterministic mode; see
// check.Defaults), then the scheduler's layer, then the test's.
func mergedAssert(spec Spec, accel vm.Accel, deterministic bool) check.Assert {
	env := check.Env{TCG: accel == vm.TCG, Deterministic: deterministic}
	return check.Merge(check.Defaults(env), spec.Scheduler.Assert, spec.Assert)
}

// formatTimeline renders the body's phases, one per line.
func formatTimeline(ps []wire.Phase) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "%8.2fs  %-30s %6.2fs\n", p.At.Seconds(), p.Name, (p.End - p.At).Seconds())
	}
	return strings.TrimRight(b.String(), "\n")
}

// watchdog is the stall watchdog timeout to force, or 0 to keep the
// scheduler's own. The default is the reference's 4 s under KVM; under TCG
// a loaded host can stop the single QEMU thread long enough that guest
// time jumps by seconds at once, which a 4 s watchdog reads as a stall
// (seen about once in 5 runs at load 4-5 on 2 cores), so 10 s.
func (s Spec) watchdog(accel vm.Accel) time.Duration {
	switch {
	case s.Watchdog < 0:
		return 0
	case s.Watchdog > 0:
		return s.Watchdog
	case accel == vm.TCG:
		return 10 * time.Second
	}
	return 4 * time.Second
}

// kernelHZ reads CONFIG_HZ from the kernel's config, 0 when unknown.
func kernelHZ(k *kernel.Kernel) int {
	if k.Config == "" {
		return 0
	}
	b, err := os.ReadFile(k.Config)
	if err != nil {
		return 0
	}
	v, _ := image.ConfigHas(b, "CONFIG_HZ")
	hz, _ := strconv.Atoi(v)
	return hz
}

// cmdline is the guest kernel command line the test adds: for a sched_ext
// scheduler the periodic tick on idle CPUs, then the scheduler's parameters
// and sysctls, then the test's own (later ones win).
func (s Spec) cmdline() string {
	var parts []string
	if !s.Scheduler.IsEEVDF() {
		// The kernel's stall watchdog has a backstop in the scheduler
		// tick, for when its worker thread is itself stalled. A
		// scheduler that stops dispatching leaves every CPU idle, and
		// idle CPUs stop their tick (NO_HZ_IDLE), so the stall was
		// caught up to 3 s late (measured: 7.1 s with a 4 s timeout).
		// With the tick kept it is caught on time (TestWatchdogBound).
		parts = append(parts, "nohz=off")
	}
	parts = append(parts, s.Scheduler.Cmdline...)
	keys := make([]string, 0, len(s.Scheduler.Sysctls))
	for k := range s.Scheduler.Sysctls {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		parts = append(parts, "sysctl."+k+"="+s.Scheduler.Sysctls[k])
	}
	if s.Cmdline != "" {
		parts = append(parts, s.Cmdline)
	}
	return strings.Join(parts, " ")
}
