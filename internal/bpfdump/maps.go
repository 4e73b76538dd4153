package bpfdump

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// Map is one BPF map as read at one moment: what it is, its BTF types and
// the entries read.
type Map struct {
	// ID is the kernel's map id, Name the name its loader gave it (cut to
	// 15 characters by the kernel: "ktstr.bss").
	ID   uint32
	Name string
	Type ebpf.MapType
	// KeySize, ValueSize and MaxEntries are the map's dimensions.
	KeySize, ValueSize, MaxEntries uint32
	// Frozen tells that user space may no longer write it (.rodata).
	Frozen bool
	// Key and Value are the BTF types of its keys and values; nil when
	// the loader gave none. A global variables map's Value is a
	// *btf.Datasec.
	Key, Value btf.Type
	// Entries are the entries read, in key order.
	Entries []Entry
	// Total counts the entries the map held, those not read included.
	Total int
	// Skipped, when set, says why the map's contents are not shown.
	Skipped string
	// Note, when set, says something of the entries shown: that there is
	// no BTF for them, or that only some were read.
	Note string
}

// Entry is one key and its value.
type Entry struct {
	Key []byte
	// Values holds the value, or one value per possible CPU for a
	// per-CPU map.
	Values [][]byte
	// Label names the entry where its key means nothing outside the
	// reading process: the task or cgroup of a task or cgroup storage
	// map, whose key is a file descriptor.
	Label string
}

// Limits bound what Render prints.
type Limits struct {
	// Entries is how many entries (or runs of equal array entries) of a
	// map are shown.
	Entries int
	// Elems is how many elements of an array value are shown.
	Elems int
	// Bytes bounds the whole text.
	Bytes int
}

// DefaultLimits keep a dump readable in a test log: 64 entries a map, 64
// elements an array, 64 KiB in all.
var DefaultLimits = Limits{Entries: 64, Elems: 64, Bytes: 64 << 10}

// Section returns the name of the data section whose variables a global
// variables map holds (".bss", ".data", ".rodata", ".data.foo"), or "".
func (m *Map) Section() string {
	if ds, ok := m.Value.(*btf.Datasec); ok {
		return ds.Name
	}
	return ""
}

// Render formats maps, each a heading and its contents indented below,
// within lim.
func Render(maps []Map, lim Limits) string {
	var b strings.Builder
	for i := range maps {
		block := maps[i].render(lim)
		if lim.Bytes > 0 && b.Len()+len(block) > lim.Bytes {
			left := lim.Bytes - b.Len()
			cut := strings.LastIndexByte(block[:max(left, 0)], '\n') + 1
			b.WriteString(block[:cut])
			var rest []string
			for _, m := range maps[i+1:] {
				rest = append(rest, m.Name)
			}
			fmt.Fprintf(&b, "[… the dump stops at %d KiB: %d more lines of %s", lim.Bytes>>10, strings.Count(block[cut:], "\n"), maps[i].Name)
			if len(rest) > 0 {
				fmt.Fprintf(&b, ", and %s (%s), not shown", plural(len(rest), "more map", "more maps"), strings.Join(rest, ", "))
			}
			b.WriteString("]\n")
			break
		}
		b.WriteString(block)
	}
	return b.String()
}

// Order sorts maps as a dump shows them: the global variables first
// (.bss, then .data and its kin), then the other maps by id, then the
// frozen sections (.rodata), whose constants the loader set.
func Order(maps []Map) {
	rank := func(m *Map) int {
		switch sec := m.Section(); {
		case sec == ".bss":
			return 0
		case m.Frozen:
			return 3
		case sec != "":
			return 1
		}
		return 2
	}
	slices.SortStableFunc(maps, func(a, b Map) int {
		return cmp.Or(cmp.Compare(rank(&a), rank(&b)), cmp.Compare(a.ID, b.ID))
	})
}

// render formats one map.
func (m *Map) render(lim Limits) string {
	var b strings.Builder
	b.WriteString(m.heading() + "\n")
	p := printer{elems: lim.Elems}
	switch {
	case m.Skipped != "":
		b.WriteString("  not shown: " + m.Skipped + "\n")
	case m.Section() != "":
		if len(m.Entries) == 0 || len(m.Entries[0].Values) == 0 {
			b.WriteString("  not read\n")
			break
		}
		items, hidden := p.vars(m.Value.(*btf.Datasec), m.Entries[0].Values[0])
		for _, it := range items {
			it.n.print(&b, "  ", it.label)
		}
		if hidden > 0 {
			fmt.Fprintf(&b, "  (and %s: format strings and the like)\n", plural(hidden, "function-local static", "function-local statics"))
		}
	default:
		if m.Value == nil {
			b.WriteString("  (no BTF: its loader gave the sizes of its keys and values, not their types, so each is shown as a number, or as bytes)\n")
		}
		if m.Note != "" {
			b.WriteString("  (" + m.Note + ")\n")
		}
		m.renderEntries(&b, p, lim.Entries)
	}
	return b.String()
}

// heading says which map this is: its name, id, kind, and for a map of
// entries how many it holds and of which types.
func (m *Map) heading() string {
	h := fmt.Sprintf("%s (map %d, %s", m.Name, m.ID, m.Type)
	if sec := m.Section(); sec != "" {
		h += ", " + sec
		if m.Frozen {
			h += ", frozen"
		}
		return h + ")"
	}
	if m.Skipped == "" {
		n := m.Total
		if isArray(m.Type) {
			n = int(m.MaxEntries)
		}
		h += ", " + plural(n, "entry", "entries")
		h += ", " + typeName(m.Key, m.KeySize) + " → " + typeName(m.Value, m.ValueSize)
	}
	return h + ")"
}

// renderEntries writes a map's entries: an array's runs of equal entries
// once ("3-1023 → 0"), at most limit lines, then what was left out.
func (m *Map) renderEntries(b *strings.Builder, p printer, limit int) {
	shown, n := 0, 0
	for i := 0; i < len(m.Entries); {
		e := m.Entries[i]
		j := i + 1
		if isArray(m.Type) {
			for j < len(m.Entries) && sameValues(m.Entries[j].Values, e.Values) {
				j++
			}
		}
		if limit > 0 && shown == limit {
			break
		}
		key := m.keyText(p, e)
		if j-i > 1 {
			key += "-" + m.keyText(p, m.Entries[j-1])
		}
		m.valueNode(p, e.Values).print(b, "  ", key+" → ")
		shown++
		n += j - i
		i = j
	}
	total := m.Total
	if isArray(m.Type) {
		total = int(m.MaxEntries)
	}
	switch {
	case len(m.Entries) == 0 && total == 0 && m.Note == "":
		b.WriteString("  (empty)\n")
	case n < total:
		fmt.Fprintf(b, "  … %s not shown (%d of %d shown)\n", plural(total-n, "more entry", "more entries"), n, total)
	}
}

// keyText renders an entry's key.
func (m *Map) keyText(p printer, e Entry) string {
	switch {
	case e.Label != "":
		return e.Label
	case m.Key == nil:
		return rawText(e.Key)
	}
	return p.value(m.Key, e.Key).inline()
}

// valueNode renders an entry's value, for a per-CPU map each CPU's
// ("cpu0-3: 0" for a run of CPUs with equal values).
func (m *Map) valueNode(p printer, vals [][]byte) *node {
	one := func(b []byte) *node {
		if m.Value == nil {
			return leaf(rawText(b))
		}
		return p.value(m.Value, b)
	}
	if len(vals) == 1 && !perCPU(m.Type) {
		return one(vals[0])
	}
	n := &node{open: "{", close: "}", items: []item{}}
	for i := 0; i < len(vals); {
		j := i + 1
		for j < len(vals) && bytes.Equal(vals[j], vals[i]) {
			j++
		}
		label := "cpu" + strconv.Itoa(i)
		if j-i > 1 {
			label += "-" + strconv.Itoa(j-1)
		}
		n.items = append(n.items, item{label: label + ": ", n: one(vals[i])})
		i = j
	}
	return n
}

// rawText shows bytes of no known type: as a little-endian number when
// they are as long as one, else as bytes.
func rawText(b []byte) string {
	switch len(b) {
	case 1, 2, 4, 8:
		return strconv.FormatUint(readUint(b, len(b)), 10)
	}
	return hexBytes(b)
}

func sameValues(a, b [][]byte) bool {
	return slices.EqualFunc(a, b, bytes.Equal)
}

// isArray tells the map kinds whose keys are the indices 0 to MaxEntries-1,
// all present.
func isArray(t ebpf.MapType) bool {
	return t == ebpf.Array || t == ebpf.PerCPUArray
}

// perCPU tells the map kinds that hold a value per possible CPU.
func perCPU(t ebpf.MapType) bool {
	switch t {
	case ebpf.PerCPUArray, ebpf.PerCPUHash, ebpf.LRUCPUHash, ebpf.PerCPUCGroupStorage:
		return true
	}
	return false
}

// typeName names a type as C spells it ("u32", "struct task_ctx"), or by
// its size when there is no BTF.
func typeName(t btf.Type, size uint32) string {
	if t == nil {
		return fmt.Sprintf("%d bytes", size)
	}
	t = skipQualifiers(t)
	name := t.TypeName()
	switch u := t.(type) {
	case *btf.Struct:
		return "struct " + cmpOr(name, "(anonymous)")
	case *btf.Union:
		return "union " + cmpOr(name, "(anonymous)")
	case *btf.Enum:
		return "enum " + cmpOr(name, "(anonymous)")
	case *btf.Pointer:
		return typeName(u.Target, 0) + " *"
	case *btf.Array:
		return fmt.Sprintf("%s[%d]", typeName(u.Type, 0), u.Nelems)
	case *btf.Void:
		return "void"
	}
	if name == "" {
		return fmt.Sprintf("%d bytes", size)
	}
	return name
}

func cmpOr(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// skipQualifiers strips const, volatile, restrict and type tags, but not
// typedefs, whose names say what the type is for ("u64").
func skipQualifiers(t btf.Type) btf.Type {
	for range 16 {
		switch q := t.(type) {
		case *btf.Const:
			t = q.Type
		case *btf.Volatile:
			t = q.Type
		case *btf.Restrict:
			t = q.Type
		case *btf.TypeTag:
			t = q.Type
		default:
			return t
		}
	}
	return t
}

// plural is n and the noun, singular or plural as n wants.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
