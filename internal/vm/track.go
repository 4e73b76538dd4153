package vm

import (
	"os"
	"os/exec"
	"runtime"
	"sync"
)

// live holds every running QEMU process so [KillAll] can stop them when the
// test process is interrupted.
var live = struct {
	sync.Mutex
	m map[*os.Process]struct{}
}{m: map[*os.Process]struct{}{}}

func track(p *os.Process) (untrack func()) {
	live.Lock()
	live.m[p] = struct{}{}
	live.Unlock()
	return func() {
		live.Lock()
		delete(live.m, p)
		live.Unlock()
	}
}

// KillAll kills every QEMU process this package started and has not yet
// reaped. It is for signal handlers; normal runs clean up after themselves.
func KillAll() {
	live.Lock()
	defer live.Unlock()
	for p := range live.m {
		_ = p.Kill()
	}
}

// startLocked starts cmd from a thread that stays alive for the life of the
// process: Pdeathsig fires when the *thread* that forked the child exits, and
// the Go runtime may end a thread that a goroutine had locked. Starting from a
// locked goroutine that never unlocks would pin a thread per VM, so instead
// the start runs on a dedicated, permanently locked goroutine.
func startLocked(cmd *exec.Cmd) error {
	starterOnce.Do(func() {
		starter = make(chan startReq)
		go func() {
			runtime.LockOSThread() // never unlocked: this thread lives as long as the process
			for r := range starter {
				r.done <- r.cmd.Start()
			}
		}()
	})
	done := make(chan error, 1)
	starter <- startReq{cmd, done}
	return <-done
}

type startReq struct {
	cmd  *exec.Cmd
	done chan error
}

var (
	starterOnce sync.Once
	starter     chan startReq
)
