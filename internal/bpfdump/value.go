package bpfdump

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cilium/ebpf/btf"
)

// A value is rendered in two steps: the bytes become a tree of nodes
// through the BTF type, and the tree is printed on one line when it fits in
// lineWidth and over several indented lines when it does not. A struct of
// four counters stays on one line; the scheduler's exit record, with its
// long message, spreads over several.

// lineWidth is the longest line a value is printed on before it is split.
const lineWidth = 100

// node is a rendered value: a leaf, or items between open and close.
type node struct {
	leaf        string
	open, close string
	items       []item
}

// item is one member or element of a composite node.
type item struct {
	// label prefixes the item: "name: " for a member, "" for an element.
	label string
	n     *node
	// count > 1 is a run of that many equal elements, printed once.
	count int
}

// inline returns n on one line.
func (n *node) inline() string {
	if n.items == nil && n.open == "" {
		return n.leaf
	}
	var b strings.Builder
	b.WriteString(n.open)
	for i, it := range n.items {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(it.label)
		b.WriteString(it.n.inline())
		if it.count > 1 {
			fmt.Fprintf(&b, " ×%d", it.count)
		}
	}
	b.WriteString(n.close)
	return b.String()
}

// print writes prefix and n, then a newline, at indent; a composite that
// does not fit on the line gets one line per item, indented two more.
func (n *node) print(b *strings.Builder, indent, prefix string) {
	line := n.inline()
	if n.items == nil || len(indent)+len(prefix)+len(line) <= lineWidth {
		b.WriteString(indent + prefix + line + "\n")
		return
	}
	b.WriteString(indent + prefix + n.open + "\n")
	for _, it := range n.items {
		label := it.label
		if it.count > 1 {
			label = fmt.Sprintf("%s(×%d) ", label, it.count)
		}
		it.n.print(b, indent+"  ", label)
	}
	b.WriteString(indent + n.close + "\n")
}

// printer turns bytes into nodes through BTF types.
type printer struct {
	// elems bounds the items an array shows, a run of equal ones
	// counting once.
	elems int
}

// value renders b as a value of type t.
func (p printer) value(t btf.Type, b []byte) *node {
	if v, ok := t.(*btf.Var); ok {
		t = v.Type
	}
	u := btf.UnderlyingType(t)
	size, err := btf.Sizeof(u)
	if _, void := u.(*btf.Void); void || err != nil {
		return leaf(hexBytes(b))
	}
	if len(b) < size {
		return leaf(fmt.Sprintf("<%d of its %d bytes read: %s>", len(b), size, hexBytes(b)))
	}
	b = b[:size]
	switch u := u.(type) {
	case *btf.Int:
		return leaf(intText(u, b))
	case *btf.Enum:
		return leaf(enumText(u, readUint(b, int(u.Size)), u.Size))
	case *btf.Pointer:
		return leaf(fmt.Sprintf("0x%x", readUint(b, len(b))))
	case *btf.Float:
		return leaf(floatText(b))
	case *btf.Array:
		return p.array(u, b)
	case *btf.Struct:
		return &node{open: "{", close: "}", items: p.members(u.Members, b)}
	case *btf.Union:
		return &node{open: "{", close: "}", items: p.members(u.Members, b)}
	case *btf.Datasec:
		items, _ := p.vars(u, b)
		return &node{open: "{", close: "}", items: items}
	}
	return leaf(hexBytes(b))
}

func leaf(s string) *node { return &node{leaf: s} }

// members renders a struct's or union's members; an anonymous struct or
// union member's own members stand in its place, as C names them.
func (p printer) members(ms []btf.Member, b []byte) []item {
	items := []item{}
	for _, m := range ms {
		if m.BitfieldSize > 0 {
			items = append(items, item{label: m.Name + ": ", n: leaf(bitfieldText(m, b))})
			continue
		}
		off := int(m.Offset.Bytes())
		if off > len(b) {
			items = append(items, item{label: m.Name + ": ", n: leaf("<beyond the value>")})
			continue
		}
		n := p.value(m.Type, b[off:])
		if m.Name == "" && n.open == "{" {
			items = append(items, n.items...)
			continue
		}
		items = append(items, item{label: m.Name + ": ", n: n})
	}
	return items
}

// vars renders a data section's variables by name, in the order they lie,
// but for function-local statics (named "function.name"): the format
// strings of the scheduler's error and print calls, which every such call
// adds and which say nothing of its state. hidden counts those.
func (p printer) vars(ds *btf.Datasec, b []byte) (items []item, hidden int) {
	for _, v := range ds.Vars {
		name := v.Type.TypeName()
		if strings.Contains(name, ".") {
			hidden++
			continue
		}
		end := int(v.Offset + v.Size)
		if end > len(b) {
			items = append(items, item{label: name + " = ", n: leaf("<beyond the section's value>")})
			continue
		}
		items = append(items, item{label: name + " = ", n: p.value(v.Type, b[v.Offset:end])})
	}
	return items, hidden
}

// array renders an array: a char array as a string when it holds one,
// else its elements, each run of equal ones once, at most p.elems items.
func (p printer) array(a *btf.Array, b []byte) *node {
	if isChar(a.Type) {
		if s, ok := cString(b); ok {
			return leaf(strconv.Quote(s))
		}
	}
	size, err := btf.Sizeof(a.Type)
	if err != nil || size == 0 {
		return leaf(hexBytes(b))
	}
	n := &node{open: "[", close: "]", items: []item{}}
	for i := 0; i < int(a.Nelems); {
		el := b[i*size : (i+1)*size]
		j := i + 1
		for j < int(a.Nelems) && string(b[j*size:(j+1)*size]) == string(el) {
			j++
		}
		if p.elems > 0 && len(n.items) == p.elems {
			n.items = append(n.items, item{n: leaf(fmt.Sprintf("… %d more elements", int(a.Nelems)-i))})
			break
		}
		n.items = append(n.items, item{n: p.value(a.Type, el), count: j - i})
		i = j
	}
	return n
}

// isChar tells whether t is C's char: an array of it is text.
func isChar(t btf.Type) bool {
	i, ok := btf.UnderlyingType(t).(*btf.Int)
	return ok && i.Size == 1 && (i.Encoding&btf.Char != 0 || i.Name == "char")
}

// cString returns b up to its first NUL if that is printable text.
func cString(b []byte) (string, bool) {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	s := string(b)
	if !utf8.ValidString(s) {
		return "", false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) && r != '\n' && r != '\t' {
			return "", false
		}
	}
	return s, true
}

// intText renders an integer of any size BTF allows.
func intText(t *btf.Int, b []byte) string {
	if t.Size > 8 {
		return hexBytes(b)
	}
	v := readUint(b, int(t.Size))
	switch {
	case t.Encoding&btf.Bool != 0 && v <= 1:
		return strconv.FormatBool(v == 1)
	case t.Encoding&btf.Signed != 0:
		return strconv.FormatInt(signExtend(v, int(t.Size)*8), 10)
	}
	return strconv.FormatUint(v, 10)
}

// enumText renders an enum value by its name, or as name(number) when the
// enum has no such value.
func enumText(e *btf.Enum, v uint64, size uint32) string {
	if e.Signed {
		v = uint64(signExtend(v, int(size)*8))
	}
	for _, ev := range e.Values {
		if ev.Value == v {
			return ev.Name
		}
	}
	num := strconv.FormatUint(v, 10)
	if e.Signed {
		num = strconv.FormatInt(int64(v), 10)
	}
	if e.Name == "" {
		return "enum(" + num + ")"
	}
	return e.Name + "(" + num + ")"
}

// bitfieldText renders a bitfield member of the struct bytes b.
func bitfieldText(m btf.Member, b []byte) string {
	start := int(m.Offset) / 8
	var word uint64
	for i := 0; i < 8 && start+i < len(b); i++ {
		word |= uint64(b[start+i]) << (8 * i)
	}
	bits := int(m.BitfieldSize)
	v := word >> (int(m.Offset) % 8)
	if bits < 64 {
		v &= 1<<bits - 1
	}
	switch t := btf.UnderlyingType(m.Type).(type) {
	case *btf.Enum:
		return enumText(t, v, uint32((bits+7)/8))
	case *btf.Int:
		if t.Encoding&btf.Signed != 0 {
			return strconv.FormatInt(signExtend(v, bits), 10)
		}
		if t.Encoding&btf.Bool != 0 && v <= 1 {
			return strconv.FormatBool(v == 1)
		}
	}
	return strconv.FormatUint(v, 10)
}

func floatText(b []byte) string {
	switch len(b) {
	case 4:
		return strconv.FormatFloat(float64(math.Float32frombits(binary.LittleEndian.Uint32(b))), 'g', -1, 32)
	case 8:
		return strconv.FormatFloat(math.Float64frombits(binary.LittleEndian.Uint64(b)), 'g', -1, 64)
	}
	return hexBytes(b)
}

// readUint reads a little-endian unsigned integer of size bytes (BPF's
// byte order on every machine ktstr runs on).
func readUint(b []byte, size int) uint64 {
	var v uint64
	for i := min(size, 8, len(b)) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// signExtend reads the low bits of v as a two's complement number.
func signExtend(v uint64, bits int) int64 {
	if bits >= 64 {
		return int64(v)
	}
	shift := 64 - bits
	return int64(v<<shift) >> shift
}

// hexBytes shows bytes no type explains: all of them up to 32, else the
// first 32 and the count.
func hexBytes(b []byte) string {
	if len(b) <= 32 {
		return "0x" + hex.EncodeToString(b)
	}
	return fmt.Sprintf("0x%s… (%d bytes)", hex.EncodeToString(b[:32]), len(b))
}
