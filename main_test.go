package ktstr

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/internal/guest"
)

// TestRunWithoutMain runs a test package whose TestMain does not call Main
// and checks that it fails saying how to fix it, without booting anything.
func TestRunWithoutMain(t *testing.T) {
	if guest.Active() {
		return
	}
	if testing.Short() {
		t.Skip("builds a test binary")
	}
	out, err := exec.Command("go", "test", "-count=1", "./testdata/nomain").CombinedOutput()
	if err == nil {
		t.Fatalf("the package passed; want a failure:\n%s", out)
	}
	for _, want := range []string{"ktstr.Main was not called", "func TestMain(m *testing.M) { ktstr.Main(m) }"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
