package ktstr

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/internal/host"
)

// TestSchedulerMapsNeedSchedExt: under EEVDF there are no scheduler maps
// or variables, and both say so.
func TestSchedulerMapsNeedSchedExt(t *testing.T) {
	c := &Ctx{Scheduler: "eevdf"}
	if _, err := c.DumpSchedulerMaps(); !errors.Is(err, errNoSchedExt) {
		t.Errorf("DumpSchedulerMaps under EEVDF: %v, want %v", err, errNoSchedExt)
	}
	if err := c.SchedulerVar("x").Set(1); !errors.Is(err, errNoSchedExt) {
		t.Errorf("SchedulerVar under EEVDF: %v, want %v", err, errNoSchedExt)
	}
	if !strings.Contains(errNoSchedExt.Error(), "no sched_ext scheduler is attached") {
		t.Errorf("the error does not say what is missing: %v", errNoSchedExt)
	}
}

// testSchedulerVars reads and writes a global variable of a scheduler
// nobody here wrote, the kernel tree's scx_simple: its vtime_now (a static
// u64 in .bss, the virtual time of the latest task to run) must grow while
// tasks run, and a value written into it must stick (the scheduler only
// moves it forward). Each wrong use gets its error, and the dump shows the
// scheduler's maps.
func testSchedulerVars(t *testing.T) {
	spec := Spec{Scheduler: scxSimple, Topology: Topo(1, 1, 2, 1), Timeout: 2 * time.Minute}
	vmTest(t, spec, func(ctx *Ctx) error {
		w, err := ctx.Spin("", 3)
		if err != nil {
			return err
		}
		defer w.Stop()
		vtime := ctx.SchedulerVar("vtime_now")
		v1, err := vtime.Uint()
		if err != nil {
			return err
		}
		ctx.Sleep(500 * time.Millisecond)
		v2, err := vtime.Uint()
		if err != nil {
			return err
		}
		if v2 <= v1 {
			return fmt.Errorf("vtime_now did not grow while 3 tasks ran: %d, then %d", v1, v2)
		}
		jump := v2 + 1<<40
		if err := vtime.Set(jump); err != nil {
			return err
		}
		ctx.Sleep(200 * time.Millisecond)
		v3, err := vtime.Uint()
		if err != nil {
			return err
		}
		if v3 < jump {
			return fmt.Errorf("vtime_now is %d after %d was written into it", v3, jump)
		}
		ctx.Logf("vtime_now: %d, %d 500 ms later; %d written, %d read back 200 ms later", v1, v2, jump, v3)
		for _, c := range []struct {
			err  error
			want string
		}{
			{vtime.Set(-1), "scheduler scx_simple: variable vtime_now (u64, an 8-byte unsigned integer, in .bss): -1 does not fit: it takes 0 to 18446744073709551615"},
			{ctx.SchedulerVar("fifo_sched").Set(true), "variable fifo_sched (bool, a bool, in .rodata): cannot be written: the kernel froze .rodata"},
			{ctx.SchedulerVar("vtime_nwo").Set(1), `scheduler scx_simple: no variable "vtime_nwo" in `},
		} {
			if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
				return fmt.Errorf("got error %v, want one containing %q", c.err, c.want)
			}
			ctx.Logf("as wanted: %v", c.err)
		}
		if _, err := ctx.SchedulerVar("vtime_nwo").Uint(); err == nil || !strings.Contains(err.Error(), "nearest first: vtime_now,") {
			return fmt.Errorf("unknown name: %v; want vtime_now offered first", err)
		}
		dump, err := ctx.DumpSchedulerMaps()
		if err != nil {
			return err
		}
		ctx.Logf("--- DumpSchedulerMaps ---\n%s", dump)
		for _, want := range []string{"(map ", ".bss (map ", "stats (map ", "PerCPUArray, 2 entries, 4 bytes → 8 bytes)", "  0 → {cpu0", ".rodata, frozen)", "  fifo_sched = false"} {
			if !strings.Contains(dump, want) {
				return fmt.Errorf("the dump lacks %q:\n%s", want, dump)
			}
		}
		return nil
	}, func(t *testing.T, r *host.Outcome) {
		host.Report(t, r)
	})
}
