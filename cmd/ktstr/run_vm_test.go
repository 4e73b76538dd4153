package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunScenarioFiles runs every file of examples/scenarios with `ktstr
// run` against the kernel tree's scx_simple, in real VMs, and a file whose
// check must fail.
func TestRunScenarioFiles(t *testing.T) {
	simple := vmPrereqs(t)
	bin := ktstrBinary(t)
	files, err := filepath.Glob(mustAbs(t, "../../examples/scenarios/*.toml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example scenario files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			out, code := runKtstr(t, bin, t.TempDir(), "run", f, "--scheduler", simple)
			if code != 0 || !strings.Contains(out, "--- PASS "+filepath.Base(f)+"/") {
				t.Fatalf("ktstr run %s exited %d; want 0 and a PASS line:\n%s", f, code, out)
			}
			if !strings.Contains(out, "scheduler scx_simple") {
				t.Errorf("the report does not name scx_simple:\n%s", out)
			}
		})
	}
	t.Run("CheckFails", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		file := filepath.Join(dir, "strict.toml")
		// One CPU for four spinners: each waits three slices in four, so
		// a 1 ms gap limit must fail.
		text := "topology = \"1n1l2c1t\"\nduration = \"2s\"\n\n[checks]\nmax_gap = \"1ms\"\n\n[[step]]\nhold = \"100%\"\n[[step.cgroup]]\nname = \"crowded\"\ncpuset = \"cpus:0\"\nwork = [{ type = \"spin\", workers = 4 }]\n"
		if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		out, code := runKtstr(t, bin, dir, "run", file)
		if code != 1 || !strings.Contains(out, "--- FAIL strict.toml/1n1l2c1t") || !strings.Contains(out, "gap") {
			t.Fatalf("ktstr run of a file whose gap check must fail exited %d; want 1, a FAIL line and the gap failure:\n%s", code, out)
		}
		if m, _ := filepath.Glob(filepath.Join(dir, "target", "ktstr", "*", "*.ktstr.json")); len(m) != 1 {
			t.Errorf("result files under %s: %v; want one", dir, m)
		}
	})
}

// TestRunOnHost runs `ktstr run --host` on a real machine: a VM of ktstr
// shell, whose root cgroup has cpuset switched off first, so that the run
// must enable it and put it back. It runs once to the end and once
// interrupted with SIGINT, and then no cgroup or process of it may be left.
func TestRunOnHost(t *testing.T) {
	vmPrereqs(t)
	bin := ktstrBinary(t)
	file := mustAbs(t, "../../examples/scenarios/llc-split.toml")
	script := `cd /sys/fs/cgroup
echo -cpuset > ktstr/cgroup.subtree_control; echo -cpuset > cgroup.subtree_control
echo "before: $(cat cgroup.subtree_control)"
(cd /tmp && /opt/ktstr run --host /include/llc-split.toml); echo "status=$?"
echo "after: $(cat cgroup.subtree_control)"
cat /tmp/target/ktstr/*/*.ktstr.json
/opt/ktstr run --host /include/llc-split.toml >/dev/null 2>&1 & pid=$!
sleep 2; kill -INT $pid; wait $pid; echo "interrupted status=$?"
echo "after interrupt: $(cat cgroup.subtree_control)"
echo "left: $(ls -d ktstr-host-* 2>/dev/null)$(ps -o args | grep '^/opt/ktstr')."
/opt/ktstr run --host /include/llc-split.toml --topology 1n1l1c1t; echo "bad flags status=$?"`
	out, code := runKtstr(t, bin, t.TempDir(), "shell", "--topology", "1n2l2c1t",
		"--include", bin+":/opt/ktstr", "--include", file, "--exec", script)
	if code != 0 {
		t.Fatalf("ktstr shell exited %d:\n%s", code, out)
	}
	for _, want := range []string{
		"controllers cpuset enabled in the cgroup v2 root until then",
		"--- PASS on this host",
		"ktstr: result file /tmp/target/ktstr/",
		`"test_name": "llc-split.toml/host"`,
		`"topology": "1n2l2c1t"`,
		`"accelerator": "host"`,
		`"total_workers": `,
		"status=0",
		"interrupted status=130",
		"left: .",
		"--host runs on this machine as it is",
		"bad flags status=2",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	before, after := lineAfter(out, "before: "), lineAfter(out, "after: ")
	if strings.Contains(before, "cpuset") || before != after || after != lineAfter(out, "after interrupt: ") {
		t.Errorf("root controllers before %q, after %q, after the interrupt %q; want cpuset off and the same each time", before, after, lineAfter(out, "after interrupt: "))
	}
}

// runKtstr runs the ktstr command in dir and returns its combined output
// and exit status.
func runKtstr(t *testing.T, bin, dir string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return out.String(), exit.ExitCode()
	case err != nil:
		t.Fatalf("%s %s: %v", bin, strings.Join(args, " "), err)
	}
	return out.String(), 0
}

// lineAfter returns the rest of the first line of out that starts with
// prefix.
func lineAfter(out, prefix string) string {
	for _, l := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(l, prefix); ok {
			return rest
		}
	}
	return ""
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}
