package bpfdump

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/cilium/ebpf/btf"

	"github.com/ktstr-go/ktstr/internal/spell"
)

// Var is one global variable of a BPF program: a name in the BTF of one of
// its data section maps (.bss, .data, .rodata), a single-entry array whose
// value is the whole section. Reading it reads the section; writing it
// writes its bytes alone.
type Var struct {
	// Name is the variable's name, Section the data section it is in.
	Name, Section string
	// Type is its BTF type.
	Type btf.Type
	// Offset and Size place it in the section's value.
	Offset, Size uint32
	// Frozen tells that the section is read-only to user space: the
	// kernel froze .rodata when the program was loaded.
	Frozen bool

	sec section
}

// section reads and writes one data section map's value.
type section interface {
	// read returns the whole value.
	read() ([]byte, error)
	// writeAt writes b at offset off of the value, leaving the rest as
	// it is.
	writeAt(b []byte, off uint32) error
}

// dataSection is one data section map, as findVar searches it.
type dataSection struct {
	ds     *btf.Datasec
	frozen bool
	sec    section
}

// findVar looks name up in secs. An unknown name's error lists the names
// there are, nearest first.
func findVar(secs []dataSection, name string) (*Var, error) {
	var names, sections []string
	for _, s := range secs {
		sections = append(sections, s.ds.Name)
		for _, vs := range s.ds.Vars {
			v, ok := vs.Type.(*btf.Var)
			if !ok {
				continue
			}
			if v.Name == name {
				return &Var{Name: name, Section: s.ds.Name, Type: v.Type, Offset: vs.Offset, Size: vs.Size, Frozen: s.frozen, sec: s.sec}, nil
			}
			names = append(names, v.Name)
		}
	}
	if len(secs) == 0 {
		return nil, fmt.Errorf("no variable %q: the program has no global variables (no .bss, .data or .rodata map with BTF)", name)
	}
	return nil, fmt.Errorf("no variable %q in %s; the variables there, nearest first: %s", name, strings.Join(sections, ", "), nearest(name, names, 20))
}

// nearest lists names by their edit distance from name, closest first, at
// most n of them.
func nearest(name string, names []string, n int) string {
	names = slices.Clone(names)
	slices.SortStableFunc(names, func(a, b string) int {
		if d := spell.Distance(name, a) - spell.Distance(name, b); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	if len(names) > n {
		return strings.Join(names[:n], ", ") + fmt.Sprintf(" … and %d more", len(names)-n)
	}
	return strings.Join(names, ", ")
}

// Describe says what the variable is: "u64, an 8-byte unsigned integer,
// in .bss".
func (v *Var) Describe() string {
	name := typeName(v.Type, v.Size)
	in, ok := btf.UnderlyingType(v.Type).(*btf.Int)
	switch {
	case !ok:
		return fmt.Sprintf("%s, %d bytes, in %s", name, v.Size, v.Section)
	case in.Encoding&btf.Bool != 0:
		return fmt.Sprintf("%s, a bool, in %s", name, v.Section)
	}
	sign := "unsigned"
	if in.Encoding&btf.Signed != 0 {
		sign = "signed"
	}
	article := "a"
	if strconv.Itoa(int(in.Size))[0] == '8' {
		article = "an"
	}
	return fmt.Sprintf("%s, %s %d-byte %s integer, in %s", name, article, in.Size, sign, v.Section)
}

// errorf says what is wrong with v.
func (v *Var) errorf(format string, args ...any) error {
	return fmt.Errorf("variable %s (%s): %s", v.Name, v.Describe(), fmt.Sprintf(format, args...))
}

// Bytes returns the variable's bytes as they are now.
func (v *Var) Bytes() ([]byte, error) {
	val, err := v.sec.read()
	if err != nil {
		return nil, v.errorf("reading %s: %v", v.Section, err)
	}
	if int(v.Offset+v.Size) > len(val) {
		return nil, v.errorf("%s's value is %d bytes, too short to hold it at offset %d", v.Section, len(val), v.Offset)
	}
	return bytes.Clone(val[v.Offset : v.Offset+v.Size]), nil
}

// Text returns the variable's value as a dump shows it.
func (v *Var) Text() (string, error) {
	b, err := v.Bytes()
	if err != nil {
		return "", err
	}
	return printer{elems: DefaultLimits.Elems}.value(v.Type, b).inline(), nil
}

// Uint returns the value of an integer, bool or enum variable, which must
// not be negative.
func (v *Var) Uint() (uint64, error) {
	n, neg, err := v.number()
	if err != nil {
		return 0, err
	}
	if neg {
		return 0, v.errorf("%d is negative: read it with Int", int64(n))
	}
	return n, nil
}

// Int returns the value of an integer, bool or enum variable, which must
// fit in an int64.
func (v *Var) Int() (int64, error) {
	n, neg, err := v.number()
	if err != nil {
		return 0, err
	}
	if !neg && n > math.MaxInt64 {
		return 0, v.errorf("%d does not fit in an int64: read it with Uint", n)
	}
	return int64(n), nil
}

// Bool returns the value of a bool variable, or whether an integer one is
// other than 0.
func (v *Var) Bool() (bool, error) {
	n, _, err := v.number()
	return n != 0, err
}

// number reads an integer, bool or enum variable: its bits, and whether it
// is negative (n then holds it as an int64).
func (v *Var) number() (n uint64, neg bool, err error) {
	size, signed, ok := intShape(v.Type)
	if !ok {
		return 0, false, v.errorf("not an integer: read it with Bytes or Text")
	}
	b, err := v.Bytes()
	if err != nil {
		return 0, false, err
	}
	n = readUint(b, int(size))
	if signed {
		s := signExtend(n, int(size)*8)
		return uint64(s), s < 0, nil
	}
	return n, false, nil
}

// intShape is the size and signedness of an integer, bool or enum type of
// at most 8 bytes.
func intShape(t btf.Type) (size uint32, signed, ok bool) {
	switch u := btf.UnderlyingType(t).(type) {
	case *btf.Int:
		return u.Size, u.Encoding&btf.Signed != 0, u.Size <= 8
	case *btf.Enum:
		return u.Size, u.Signed, u.Size <= 8
	}
	return 0, false, false
}

// Set writes x into the variable, checked against its BTF type: a Go
// integer or a bool into an integer, bool or enum variable whose size and
// signedness hold it (a bool as 0 or 1), the name of one of its values
// into an enum, or a []byte of exactly its size into a variable of any
// type. Only the variable's bytes change: the rest of its section, which
// the program may be writing meanwhile, is left alone.
func (v *Var) Set(x any) error {
	b, err := v.encode(x)
	if err != nil {
		return err
	}
	if v.Frozen {
		return v.errorf("cannot be written: the kernel froze %s when the program was loaded, so user space can no longer change it; "+
			"its loader sets such a constant before loading (a flag of the scheduler, say), or the program can keep it in .bss or .data", v.Section)
	}
	if err := v.sec.writeAt(b, v.Offset); err != nil {
		return v.errorf("writing %s: %v", v.Section, err)
	}
	return nil
}

// encode checks x against the variable's type and returns its bytes.
func (v *Var) encode(x any) ([]byte, error) {
	if b, ok := x.([]byte); ok {
		if len(b) != int(v.Size) {
			return nil, v.errorf("%d bytes given, want exactly %d", len(b), v.Size)
		}
		return b, nil
	}
	size, signed, ok := intShape(v.Type)
	if !ok {
		return nil, v.errorf("not an integer, bool or enum: set it with a []byte of %d bytes", v.Size)
	}
	enum, isEnum := btf.UnderlyingType(v.Type).(*btf.Enum)
	if s, ok := x.(string); ok {
		if !isEnum {
			return nil, v.errorf("%q is a string: it takes a number", s)
		}
		for _, ev := range enum.Values {
			if ev.Name == s {
				return putUint(ev.Value, size), nil
			}
		}
		var names []string
		for _, ev := range enum.Values {
			names = append(names, ev.Name)
		}
		return nil, v.errorf("enum %s has no value %s; it has %s", enum.Name, s, strings.Join(names, ", "))
	}
	n, neg, err := goInt(x)
	if err != nil {
		return nil, v.errorf("%v", err)
	}
	if in, ok := btf.UnderlyingType(v.Type).(*btf.Int); ok && in.Encoding&btf.Bool != 0 && (neg || n > 1) {
		return nil, v.errorf("%v does not fit: it takes true or false (or 0 or 1)", x)
	}
	lo, hi := intRange(size, signed)
	switch {
	case neg && (!signed || int64(n) < lo):
		return nil, v.errorf("%v does not fit: it takes %s", x, rangeText(lo, hi, signed))
	case !neg && n > hi:
		return nil, v.errorf("%v does not fit: it takes %s", x, rangeText(lo, hi, signed))
	}
	return putUint(n, size), nil
}

// goInt reads a Go integer or bool: its bits, and whether it is negative.
func goInt(x any) (uint64, bool, error) {
	if b, ok := x.(bool); ok {
		if b {
			return 1, false, nil
		}
		return 0, false, nil
	}
	rv := reflect.ValueOf(x)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n := rv.Int()
		return uint64(n), n < 0, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return rv.Uint(), false, nil
	}
	if x == nil {
		return 0, false, errors.New("nil given: it takes an integer, a bool, or a []byte of its size")
	}
	return 0, false, fmt.Errorf("a %T given: it takes an integer, a bool, or a []byte of its size", x)
}

// intRange is the range of an integer of size bytes.
func intRange(size uint32, signed bool) (lo int64, hi uint64) {
	bits := size * 8
	if signed {
		return -1 << (bits - 1), 1<<(bits-1) - 1
	}
	if bits == 64 {
		return 0, math.MaxUint64
	}
	return 0, 1<<bits - 1
}

func rangeText(lo int64, hi uint64, signed bool) string {
	if signed {
		return fmt.Sprintf("%d to %d", lo, hi)
	}
	return fmt.Sprintf("0 to %d", hi)
}

// putUint encodes the low size bytes of n, little-endian.
func putUint(n uint64, size uint32) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(n >> (8 * i))
	}
	return b
}
