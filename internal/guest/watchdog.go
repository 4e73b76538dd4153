//go:build linux

package guest

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/ktstr-go/ktstr/internal/env"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"
)

// The stall watchdog timeout of a sched_ext scheduler is ops.timeout_ms,
// which only the scheduler sets: the kernel reads it once, when the
// scheduler attaches, and from it derives both the watchdog's limit and how
// often the watchdog runs. Changing the timeout in kernel memory after
// attach does not move the already-queued first run of the watchdog, so a
// stall from the first moment would be caught only after half the
// scheduler's own timeout (15 s for the default 30 s), and a watchdog
// worker starved by the scheduler would go unnoticed.
//
// So the harness changes the value on its way into the kernel. The
// scheduler is forked from a thread carrying a seccomp filter that hands
// its bpf(BPF_MAP_UPDATE_ELEM) calls to a supervisor (seccomp user
// notification). When a call fills a sched_ext struct_ops map, the
// supervisor rewrites timeout_ms in the value the scheduler passes; every
// call then goes on (SECCOMP_USER_NOTIF_FLAG_CONTINUE). The kernel enforces
// the timeout exactly as if the scheduler had asked for it, from the moment
// it attaches.
//
// The supervisor is a process of its own (this binary, with OpsTimeoutEnv
// set): it runs SCHED_FIFO, which sched_ext does not schedule, with the
// garbage collector off, so that a scheduler that stalls ordinary tasks, or
// a user-space scheduler whose later map updates wait for the supervisor,
// can never wait on a task the scheduler itself must run.

// OpsTimeoutEnv, when set, makes the binary the supervisor that sets
// ops.timeout_ms (RunOpsTimeoutSupervisor); its value is the JSON of the
// supervisor's configuration.
const OpsTimeoutEnv = env.OpsTimeout

// bpfMapUpdateElem is the bpf(2) command that fills a struct_ops map.
const bpfMapUpdateElem = 2

// opsTimeout is the supervisor's configuration: the timeout to set, and
// where timeout_ms lies in the value of a sched_ext struct_ops map (from
// the running kernel's BTF, which PID 1 reads so that the supervisor need
// not).
type opsTimeout struct {
	TimeoutMS uint32 `json:"timeout_ms"`
	ValueSize uint32 `json:"value_size"` // sizeof(struct bpf_struct_ops_sched_ext_ops)
	Offset    uint64 `json:"offset"`     // of data.timeout_ms in it
}

func kernelOpsTimeout() (opsTimeout, error) {
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return opsTimeout{}, fmt.Errorf("reading the kernel's BTF: %w", err)
	}
	var wrapper, ops *btf.Struct
	if err := spec.TypeByName("bpf_struct_ops_sched_ext_ops", &wrapper); err != nil {
		return opsTimeout{}, fmt.Errorf("kernel BTF: %w", err)
	}
	if err := spec.TypeByName("sched_ext_ops", &ops); err != nil {
		return opsTimeout{}, fmt.Errorf("kernel BTF: %w", err)
	}
	data, err := member(wrapper, "data")
	if err != nil {
		return opsTimeout{}, err
	}
	tm, err := member(ops, "timeout_ms")
	if err != nil {
		return opsTimeout{}, err
	}
	if n, err := btf.Sizeof(tm.Type); err != nil || n != 4 {
		return opsTimeout{}, fmt.Errorf("kernel BTF: sched_ext_ops.timeout_ms is %d bytes, want 4 (%v)", n, err)
	}
	return opsTimeout{ValueSize: wrapper.Size, Offset: uint64(data.Offset.Bytes() + tm.Offset.Bytes())}, nil
}

func member(s *btf.Struct, name string) (btf.Member, error) {
	for _, m := range s.Members {
		if m.Name == name {
			return m, nil
		}
	}
	return btf.Member{}, fmt.Errorf("kernel BTF: struct %s has no %s", s.Name, name)
}

// opsTimeoutSetter starts a scheduler with its stall watchdog timeout
// replaced; see the comment at the top of this file.
type opsTimeoutSetter struct {
	want       time.Duration
	supervisor *exec.Cmd
	result     chan opsTimeoutResult
}

// opsTimeoutResult is what the supervisor reports: the timeout the
// scheduler's ops asked for, or why it was not replaced.
type opsTimeoutResult struct {
	asked time.Duration
	err   error
}

// startWithOpsTimeout starts cmd with ops.timeout_ms replaced by want.
func startWithOpsTimeout(cmd *exec.Cmd, want time.Duration) (*opsTimeoutSetter, error) {
	if want < time.Millisecond || want > 30*time.Second {
		return nil, fmt.Errorf("stall watchdog timeout %v: the kernel takes 1 ms to 30 s", want)
	}
	conf, err := kernelOpsTimeout()
	if err != nil {
		return nil, err
	}
	conf.TimeoutMS = uint32(want.Milliseconds())
	js, _ := json.Marshal(conf)
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}

	// The filter goes on one thread only and cmd is forked from it, so
	// only the scheduler inherits it. The supervisor must run before the
	// scheduler starts: a filtered call with no listener fails (ENOSYS).
	listener := make(chan int, 1)
	supervised := make(chan bool)
	started := make(chan error, 1)
	go func() {
		// Never unlocked: the thread ends with this goroutine, filter
		// and all.
		runtime.LockOSThread()
		l, err := installNotifyFilter()
		if err != nil {
			started <- err
			return
		}
		listener <- l
		if !<-supervised {
			started <- errNotStarted
			return
		}
		started <- cmd.Start()
	}()
	var l int
	select {
	case l = <-listener:
	case err := <-started:
		return nil, err
	}
	lf := os.NewFile(uintptr(l), "seccomp-listener")
	defer lf.Close() // the supervisor holds it from here on
	rr, rw, err := os.Pipe()
	if err != nil {
		supervised <- false
		<-started
		return nil, err
	}
	defer rw.Close()
	sup := exec.Command(self)
	sup.Env = append(os.Environ(), OpsTimeoutEnv+"="+string(js), "GOGC=off", "GOMAXPROCS=1")
	sup.ExtraFiles = []*os.File{lf, rw}
	sup.Stderr = os.Stderr
	if err := sup.Start(); err != nil {
		rr.Close()
		supervised <- false
		<-started
		return nil, fmt.Errorf("starting the supervisor that sets the watchdog timeout: %w", err)
	}
	t := &opsTimeoutSetter{want: want, supervisor: sup, result: make(chan opsTimeoutResult, 1)}
	go t.read(rr)
	supervised <- true
	if err := <-started; err != nil {
		t.stop()
		return nil, &startError{err}
	}
	return t, nil
}

// errNotStarted tells startWithOpsTimeout's caller that the scheduler was
// not started, so it may start it without the filter.
var errNotStarted = errors.New("not started")

// startError is a failure of the scheduler's own start (exec), as opposed
// to one of setting up the timeout.
type startError struct{ err error }

func (e *startError) Error() string { return e.err.Error() }
func (e *startError) Unwrap() error { return e.err }

// read takes the supervisor's one-line report: "asked MS" or "error TEXT".
func (t *opsTimeoutSetter) read(r *os.File) {
	defer r.Close()
	line, _ := bufio.NewReader(r).ReadString('\n')
	line = strings.TrimSpace(line)
	res := opsTimeoutResult{err: errors.New("the scheduler loaded no sched_ext ops through a bpf() call the supervisor saw")}
	if v, ok := strings.CutPrefix(line, "asked "); ok {
		ms, _ := strconv.Atoi(v)
		res = opsTimeoutResult{asked: time.Duration(ms) * time.Millisecond}
	} else if v, ok := strings.CutPrefix(line, "error "); ok {
		res.err = errors.New(v)
	}
	t.result <- res
}

// outcome waits up to wait for the supervisor's report. The kernel reads
// the ops only after the call the supervisor reports on, so once the
// scheduler is attached the report is there.
func (t *opsTimeoutSetter) outcome(wait time.Duration) (asked time.Duration, err error) {
	select {
	case r := <-t.result:
		t.result <- r
		return r.asked, r.err
	case <-time.After(wait):
		return 0, fmt.Errorf("the supervisor did not report within %v", wait)
	}
}

// stop waits for the supervisor, which exits once the scheduler's last
// task has, and kills it if it does not.
func (t *opsTimeoutSetter) stop() {
	done := make(chan struct{})
	go func() { _ = t.supervisor.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = t.supervisor.Process.Kill()
		<-done
	}
}

// installNotifyFilter puts a seccomp filter on the calling thread that
// hands bpf(BPF_MAP_UPDATE_ELEM, ...) to the returned listener and allows
// everything else.
func installNotifyFilter() (int, error) {
	const (
		ld  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		ret = unix.BPF_RET | unix.BPF_K
		// Offsets in struct seccomp_data.
		offNr   = 0
		offArch = 4
		offArg0 = 16 // low half of args[0] on little-endian x86-64
	)
	prog := []unix.SockFilter{
		{Code: ld, K: offArch},
		{Code: jeq, K: unix.AUDIT_ARCH_X86_64, Jf: 5},
		{Code: ld, K: offNr},
		{Code: jeq, K: unix.SYS_BPF, Jf: 3},
		{Code: ld, K: offArg0},
		{Code: jeq, K: bpfMapUpdateElem, Jf: 1},
		{Code: ret, K: unix.SECCOMP_RET_USER_NOTIF},
		{Code: ret, K: unix.SECCOMP_RET_ALLOW},
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	fd, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if errno != 0 {
		return -1, fmt.Errorf("installing the seccomp filter that sets the watchdog timeout: %w", errno)
	}
	return int(fd), nil
}

// seccompNotif and seccompNotifResp are struct seccomp_notif and struct
// seccomp_notif_resp of <linux/seccomp.h>.
type seccompNotif struct {
	ID    uint64
	PID   uint32
	Flags uint32
	Data  struct {
		Nr   int32
		Arch uint32
		IP   uint64
		Args [6]uint64
	}
}

type seccompNotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// RunOpsTimeoutSupervisor is the supervisor process: conf is
// OpsTimeoutEnv's value; fd 3 is the seccomp listener and fd 4 the pipe
// its one-line report goes to. It answers the scheduler's stopped calls
// until the scheduler's last task is gone.
func RunOpsTimeoutSupervisor(conf string) error {
	debug.SetGCPercent(-1)
	var c opsTimeout
	if err := json.Unmarshal([]byte(conf), &c); err != nil {
		return fmt.Errorf("bad %s: %w", OpsTimeoutEnv, err)
	}
	if err := realtime(); err != nil {
		return err
	}
	s := supervisor{conf: c, listener: 3, report: os.NewFile(4, "report")}
	return s.serve()
}

// realtime moves every thread of this process to SCHED_FIFO, out of
// sched_ext's reach; threads the runtime makes later inherit it.
func realtime() error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	param := struct{ prio int32 }{10}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if _, _, errno := unix.RawSyscall(unix.SYS_SCHED_SETSCHEDULER, uintptr(tid), unix.SCHED_FIFO, uintptr(unsafe.Pointer(&param))); errno != 0 {
			return fmt.Errorf("SCHED_FIFO for the supervisor: %w", errno)
		}
	}
	return nil
}

type supervisor struct {
	conf     opsTimeout
	listener int
	report   *os.File // closed once reported
}

func (s *supervisor) serve() error {
	for {
		fds := []unix.PollFd{{Fd: int32(s.listener), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, -1); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return fmt.Errorf("poll on the seccomp listener: %w", err)
		}
		if fds[0].Revents&unix.POLLIN == 0 {
			return nil // POLLHUP: every task under the filter has exited
		}
		var req seccompNotif
		if err := ioctl(s.listener, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(&req)); err != nil {
			continue // the caller died meanwhile (ENOENT)
		}
		if s.report != nil {
			asked, ours, err := s.handle(&req)
			switch {
			case err != nil:
				fmt.Fprintf(s.report, "error %v\n", err)
			case ours:
				fmt.Fprintf(s.report, "asked %d\n", asked)
			}
			if err != nil || ours {
				s.report.Close()
				s.report = nil
			}
		}
		resp := seccompNotifResp{ID: req.ID, Flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
		_ = ioctl(s.listener, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(&resp))
	}
}

func ioctl(fd int, req uint, arg unsafe.Pointer) error {
	for {
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg))
		switch errno {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return errno
	}
}

// handle rewrites timeout_ms when req fills a sched_ext struct_ops map, and
// returns what the scheduler had asked for (in ms).
func (s *supervisor) handle(req *seccompNotif) (asked uint32, ours bool, err error) {
	// union bpf_attr for BPF_MAP_UPDATE_ELEM: u32 map_fd, u64 key, u64
	// value, u64 flags.
	attrAddr, attrSize := req.Data.Args[1], req.Data.Args[2]
	if attrSize < 24 {
		return 0, false, nil
	}
	mem, err := os.OpenFile(fmt.Sprintf("/proc/%d/mem", req.PID), os.O_RDWR, 0)
	if err != nil {
		return 0, false, nil // gone already
	}
	defer mem.Close()
	// The thread could have died and its id been reused between the
	// notification and the open; then the notification is no longer
	// valid.
	id := req.ID
	if ioctl(s.listener, unix.SECCOMP_IOCTL_NOTIF_ID_VALID, unsafe.Pointer(&id)) != nil {
		return 0, false, nil
	}
	attr := make([]byte, 24)
	if _, err := mem.ReadAt(attr, int64(attrAddr)); err != nil {
		return 0, false, nil // a bad pointer: the kernel fails the call itself
	}
	mapFD := int(binary.LittleEndian.Uint32(attr[0:]))
	value := binary.LittleEndian.Uint64(attr[16:])
	if !s.isSchedExtOps(int(req.PID), mapFD) {
		return 0, false, nil
	}
	cur := make([]byte, 4)
	at := int64(value + s.conf.Offset)
	if _, err := mem.ReadAt(cur, at); err != nil {
		return 0, false, fmt.Errorf("reading the scheduler's ops.timeout_ms: %w", err)
	}
	if _, err := mem.WriteAt(binary.LittleEndian.AppendUint32(nil, s.conf.TimeoutMS), at); err != nil {
		return 0, false, fmt.Errorf("writing the scheduler's ops.timeout_ms: %w", err)
	}
	return binary.LittleEndian.Uint32(cur), true, nil
}

// isSchedExtOps tells whether fd of thread tid's process is a sched_ext
// struct_ops map, by a duplicate of it.
func (s *supervisor) isSchedExtOps(tid, fd int) bool {
	pidfd, err := unix.PidfdOpen(tgid(tid), 0)
	if err != nil {
		return false // gone already
	}
	defer unix.Close(pidfd)
	dup, err := unix.PidfdGetfd(pidfd, fd, 0)
	if err != nil {
		return false // not an open fd: the kernel fails the call itself
	}
	m, err := ebpf.NewMapFromFD(dup)
	if err != nil {
		unix.Close(dup)
		return false // not a map
	}
	defer m.Close()
	return m.Type() == ebpf.StructOpsMap && m.ValueSize() == s.conf.ValueSize
}

// tgid returns the process a thread belongs to (pidfd_open wants the
// process).
func tgid(tid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", tid))
	if err != nil {
		return tid
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Tgid:"); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				return n
			}
		}
	}
	return tid
}
