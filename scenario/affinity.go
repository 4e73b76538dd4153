package scenario

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// pinProcess sets the CPU affinity of every thread of process pid to cpus.
// A thread created meanwhile inherits its creator's affinity, which may
// not have been set yet, so the threads are listed again until a pass finds
// no new one. A process or thread that is gone is skipped.
func pinProcess(pid int, cpus []int) error {
	var set unix.CPUSet
	for _, c := range cpus {
		if c >= 0 && c < len(set)*64 {
			set.Set(c)
		}
	}
	done := map[int]bool{}
	for range 5 {
		tasks, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		fresh := false
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil || done[tid] {
				continue
			}
			fresh = true
			done[tid] = true
			if err := unix.SchedSetaffinity(tid, &set); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("sched_setaffinity of thread %d of worker %d to CPUs %v: %w", tid, pid, cpus, err)
			}
		}
		if !fresh {
			return nil
		}
	}
	return nil
}
