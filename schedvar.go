package ktstr

import (
	"errors"
	"fmt"

	"github.com/ktstr-go/ktstr/internal/bpfdump"
)

// errNoSchedExt is what the scheduler's maps and variables say under
// EEVDF.
var errNoSchedExt = errors.New("no sched_ext scheduler is attached: the test runs under EEVDF (its Spec names no Scheduler), which has no BPF maps or variables")

// DumpSchedulerMaps returns the BPF maps of the sched_ext scheduler under
// test as they are now, rendered through their BTF as the report shows
// them on a failure: global variables by name, other maps as key → value.
// It fails under EEVDF.
func (c *Ctx) DumpSchedulerMaps() (string, error) {
	if c.sched == nil {
		return "", errNoSchedExt
	}
	return c.sched.DumpMaps()
}

// SchedulerVar is a global variable of the sched_ext scheduler under test,
// found by name in the BTF of its .bss, .data and .rodata maps. Reading it
// reads the scheduler's current value; writing it changes the variable's
// bytes alone while the scheduler runs, which injects a fault through the
// scheduler's own knobs:
//
//	if err := ctx.SchedulerVar("stop_dispatch").Set(true); err != nil {
//		return err
//	}
//
// Every method looks the variable up afresh and returns an error naming
// the variable, its type and section when it is unknown (with the names
// there are, nearest first), of another type, in .rodata (which the kernel
// froze when the scheduler loaded) for a write, or when no sched_ext
// scheduler is attached.
type SchedulerVar struct {
	ctx  *Ctx
	name string
}

// SchedulerVar returns the scheduler's global variable name. The lookup
// happens when it is read or written.
func (c *Ctx) SchedulerVar(name string) *SchedulerVar {
	return &SchedulerVar{ctx: c, name: name}
}

// lookup finds the variable.
func (v *SchedulerVar) lookup() (*bpfdump.Var, error) {
	if v.ctx.sched == nil {
		return nil, errNoSchedExt
	}
	bv, err := v.ctx.sched.Var(v.name)
	if err != nil {
		return nil, v.wrap(err)
	}
	return bv, nil
}

func (v *SchedulerVar) wrap(err error) error {
	return fmt.Errorf("scheduler %s: %w", v.ctx.Scheduler, err)
}

// Set writes x into the variable: a Go integer or bool into an integer,
// bool or enum variable whose size and signedness hold it (a bool as 0 or
// 1), the name of one of an enum's values, or a []byte of exactly the
// variable's size into a variable of any type. A value that does not fit
// is refused and nothing is written.
func (v *SchedulerVar) Set(x any) error {
	bv, err := v.lookup()
	if err != nil {
		return err
	}
	if err := bv.Set(x); err != nil {
		return v.wrap(err)
	}
	return nil
}

// Uint returns the value of an integer, bool or enum variable that is not
// negative.
func (v *SchedulerVar) Uint() (uint64, error) {
	bv, err := v.lookup()
	if err != nil {
		return 0, err
	}
	n, err := bv.Uint()
	if err != nil {
		return 0, v.wrap(err)
	}
	return n, nil
}

// Int returns the value of an integer, bool or enum variable that fits in
// an int64.
func (v *SchedulerVar) Int() (int64, error) {
	bv, err := v.lookup()
	if err != nil {
		return 0, err
	}
	n, err := bv.Int()
	if err != nil {
		return 0, v.wrap(err)
	}
	return n, nil
}

// Bool returns the value of a bool variable, or whether an integer one is
// other than 0.
func (v *SchedulerVar) Bool() (bool, error) {
	bv, err := v.lookup()
	if err != nil {
		return false, err
	}
	b, err := bv.Bool()
	if err != nil {
		return false, v.wrap(err)
	}
	return b, nil
}

// Bytes returns the variable's bytes, for a variable of any type.
func (v *SchedulerVar) Bytes() ([]byte, error) {
	bv, err := v.lookup()
	if err != nil {
		return nil, err
	}
	b, err := bv.Bytes()
	if err != nil {
		return nil, v.wrap(err)
	}
	return b, nil
}

// Text returns the variable's value as a map dump shows it: a struct field
// by field, an enum by name, a char array as a string.
func (v *SchedulerVar) Text() (string, error) {
	bv, err := v.lookup()
	if err != nil {
		return "", err
	}
	s, err := bv.Text()
	if err != nil {
		return "", v.wrap(err)
	}
	return s, nil
}
