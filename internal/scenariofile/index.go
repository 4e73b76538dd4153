package scenariofile

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// index maps every key of a TOML document to its line, by path:
// "duration", "step[1].cgroup[0].cpuset", "step[1].cgroup[0].work[0].type",
// "catalogue[2]" (an array's element). Paths count array elements and
// [[array tables]] from 0. The decoder says where a type error or an
// unknown key is; the index says where everything else is, so that a
// problem found after decoding (an impossible cpuset) names its line too.
type index struct {
	// lines holds the line of each path: of its key, of its table's
	// header, or of an array element's value.
	lines map[string]int
	// keys lists every key, header and array element in document order,
	// so that a position the decoder reports can be traced to a path.
	keys []keyPos
	// lineStarts holds the offset of each line's first byte.
	lineStarts []int
}

// keyPos is where one path begins in the document, and the kind of its
// value (Table or ArrayTable for a header).
type keyPos struct {
	off  int
	path string
	kind unstable.Kind
}

// newIndex indexes doc. It fails on a syntax error, which the decoder
// reports with its position first.
func newIndex(doc []byte) (*index, error) {
	x := &index{lines: map[string]int{}, lineStarts: []int{0}}
	for i, c := range doc {
		if c == '\n' {
			x.lineStarts = append(x.lineStarts, i+1)
		}
	}
	var p unstable.Parser
	p.Reset(doc)
	// arrays counts the elements of each [[array table]] so far, by its
	// resolved path.
	arrays := map[string]int{}
	table := ""
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			parts, off := keyParts(e)
			table = resolve(arrays, parts, e.Kind == unstable.ArrayTable)
			x.add(off, table, e.Kind)
			// [[backdrop.cgroup]] defines [backdrop] too: a problem
			// with the backdrop is at its first line.
			for p := parent(table); p != ""; p = parent(p) {
				if _, ok := x.lines[p]; !ok {
					x.lines[p] = x.lineOf(off)
				}
			}
		case unstable.KeyValue:
			x.keyValue(table, e)
		}
	}
	if err := p.Error(); err != nil {
		return nil, err
	}
	return x, nil
}

// resolve turns a header's dotted key into a path: a part naming an
// array table means its last element, and the last part of an
// [[array table]] header a new element.
func resolve(arrays map[string]int, parts []string, array bool) string {
	path := ""
	for i, part := range parts {
		path = join(path, part)
		last := i == len(parts)-1
		if n, ok := arrays[path]; ok && !(last && array) {
			path += fmt.Sprintf("[%d]", n-1)
		}
		if last && array {
			n := arrays[path]
			arrays[path] = n + 1
			path += fmt.Sprintf("[%d]", n)
		}
	}
	return path
}

// keyValue indexes a key-value (dotted keys included) under table, and
// what its value holds.
func (x *index) keyValue(table string, kv *unstable.Node) {
	parts, off := keyParts(kv)
	path := table
	for i, part := range parts {
		path = join(path, part)
		// A dotted key (backdrop.op = ...) defines its tables here.
		if _, ok := x.lines[path]; !ok && i < len(parts)-1 {
			x.lines[path] = x.lineOf(off)
		}
	}
	v := kv.Value()
	x.add(off, path, v.Kind)
	x.value(path, v)
}

// value indexes the keys of an inline table and the elements of an
// array.
func (x *index) value(path string, v *unstable.Node) {
	switch v.Kind {
	case unstable.InlineTable:
		it := v.Children()
		for it.Next() {
			if n := it.Node(); n.Kind == unstable.KeyValue {
				x.keyValue(path, n)
			}
		}
	case unstable.Array:
		i := 0
		it := v.Children()
		for it.Next() {
			n := it.Node()
			if n.Kind == unstable.Comment {
				continue
			}
			elem := fmt.Sprintf("%s[%d]", path, i)
			i++
			// Nested arrays carry no position; their elements do.
			if n.Kind != unstable.Array {
				x.add(int(n.Raw.Offset), elem, n.Kind)
			}
			x.value(elem, n)
		}
	}
}

// add records that path begins at offset off.
func (x *index) add(off int, path string, kind unstable.Kind) {
	x.keys = append(x.keys, keyPos{off: off, path: path, kind: kind})
	if _, ok := x.lines[path]; !ok {
		x.lines[path] = x.lineOf(off)
	}
}

// lineOf returns the line, from 1, of byte offset off.
func (x *index) lineOf(off int) int {
	return sort.Search(len(x.lineStarts), func(i int) bool { return x.lineStarts[i] > off })
}

// line returns the line of path, or of the nearest enclosing path the
// document has (a step's header for its missing hold); 0 when none.
func (x *index) line(path string) int {
	if x == nil {
		return 0
	}
	for path != "" {
		if n, ok := x.lines[path]; ok {
			return n
		}
		path = parent(path)
	}
	return 0
}

// at returns the key, header or array element that a position the
// decoder reported (line and byte column from 1) falls in: the last one
// that begins at or before it.
func (x *index) at(line, col int) (keyPos, bool) {
	if x == nil || line < 1 || line > len(x.lineStarts) {
		return keyPos{}, false
	}
	off := x.lineStarts[line-1] + col - 1
	i := sort.Search(len(x.keys), func(i int) bool { return x.keys[i].off > off })
	if i == 0 {
		return keyPos{}, false
	}
	return x.keys[i-1], true
}

// keyParts returns the parts of a key-value's or header's key and the
// offset of the first.
func keyParts(n *unstable.Node) ([]string, int) {
	var parts []string
	off := -1
	it := n.Key()
	for it.Next() {
		k := it.Node()
		if off < 0 {
			off = int(k.Raw.Offset)
		}
		parts = append(parts, string(k.Data))
	}
	return parts, off
}

// join appends a key to a path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// parent returns the path enclosing path: "step[1].cgroup[0]" for
// "step[1].cgroup[0].cpuset", "step[1].cgroup" for "step[1].cgroup[0]".
func parent(path string) string {
	if strings.HasSuffix(path, "]") {
		return path[:strings.LastIndexByte(path, '[')]
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

// segments returns a path's keys without the element numbers:
// "step[1].cgroup[0].cpuset" gives step, cgroup, cpuset.
func segments(path string) []string {
	parts := strings.Split(path, ".")
	for i, p := range parts {
		if j := strings.IndexByte(p, '['); j >= 0 {
			parts[i] = p[:j]
		}
	}
	return slices.DeleteFunc(parts, func(s string) bool { return s == "" })
}
