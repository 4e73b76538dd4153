package ktstr

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/internal/guest"
)

// killHelperEnv makes TestQEMUDiesWithTestProcess's helper run: a test
// process whose VM runs until killed.
const killHelperEnv = "KTSTR_TEST_KILL_HELPER"

// TestQEMUDiesWithTestProcess starts a test process whose VM sleeps, kills
// that process with SIGKILL (no cleanup can run) once QEMU runs, and checks
// that QEMU dies with it, at once: QEMU gets SIGKILL when the thread that
// started it dies, and that the next ktstr process sweeps the scratch
// directory the killed one left.
func TestQEMUDiesWithTestProcess(t *testing.T) {
	if guest.Active() {
		return
	}
	if testing.Short() {
		t.Skip("boots a VM")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillHelper$", "-test.v")
	cmd.Env = append(os.Environ(), killHelperEnv+"=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var qemu []int
	for deadline := time.Now().Add(2 * time.Minute); len(qemu) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the helper started no QEMU within 2 minutes")
		}
		time.Sleep(100 * time.Millisecond)
		qemu = childrenNamed(cmd.Process.Pid, "qemu-system")
	}
	time.Sleep(5 * time.Second) // booted, the body sleeping
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	_ = cmd.Wait()
	for _, pid := range qemu {
		for alive(pid) {
			if time.Since(killed) > 10*time.Second {
				t.Fatalf("QEMU %d still runs 10 s after its test process was killed", pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	t.Logf("QEMU gone %v after SIGKILL of its test process", time.Since(killed).Round(100*time.Microsecond))
	// The killed process could not remove its scratch directory; the next
	// ktstr process sweeps it, as this one does now.
	left := filepath.Join(os.TempDir(), fmt.Sprintf("ktstr-%d-*", cmd.Process.Pid))
	if dirs, _ := filepath.Glob(left); len(dirs) == 0 {
		t.Errorf("no scratch directory %s of the killed process; expected one to sweep", left)
	}
	// A test binary that runs no test still starts as a ktstr process.
	if out, err := exec.Command(os.Args[0], "-test.run=^$").CombinedOutput(); err != nil {
		t.Fatalf("the next ktstr process failed: %v\n%s", err, out)
	}
	if dirs, _ := filepath.Glob(left); len(dirs) > 0 {
		t.Errorf("the killed process's scratch directory was not swept: %v", dirs)
	}
}

// TestKillHelper is TestQEMUDiesWithTestProcess's helper.
func TestKillHelper(t *testing.T) {
	if os.Getenv(killHelperEnv) == "" && !guest.Active() {
		t.Skip("helper of TestQEMUDiesWithTestProcess")
	}
	Run(t, Spec{Timeout: 5 * time.Minute}, func(ctx *Ctx) error {
		ctx.Logf("body running")
		time.Sleep(4 * time.Minute)
		return nil
	})
}

// childrenNamed lists the children of pid whose command name starts with
// prefix.
func childrenNamed(pid int, prefix string) []int {
	var out []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(b)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < 0 {
			continue
		}
		f := strings.Fields(s[close+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) && strings.HasPrefix(s[open+1:close], prefix) {
			n, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			out = append(out, n)
		}
	}
	return out
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] != "Z"
}
