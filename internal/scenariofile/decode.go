package scenariofile

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// decode decodes data strictly into a rawFile and indexes its keys. A key
// the schema does not have, a value of the wrong type and a syntax error
// are recorded in probs, each at its line, and ok is false. The decoder
// stops at the first wrong type or syntax error, and reports every unknown
// key. The rest is not checked then: a misspelt key would also be
// reported missing, and [[steps]] as nothing to run.
func decode(data []byte, probs *problems) (raw *rawFile, ok bool) {
	idx, syntaxErr := newIndex(data)
	probs.idx = idx
	raw = &rawFile{}
	err := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(raw)
	var strict *toml.StrictMissingError
	var de *toml.DecodeError
	switch {
	case errors.As(err, &strict):
		for i := range strict.Errors {
			probs.unknownKey(&strict.Errors[i])
		}
		return raw, false
	case errors.As(err, &de):
		probs.decodeError(de)
		return raw, false
	case err != nil:
		probs.line(0, "%v", err)
		return raw, false
	case syntaxErr != nil:
		// The decoder parses as the index does; this is not expected.
		probs.line(0, "%v", syntaxErr)
		return raw, false
	}
	probs.singleTables()
	return raw, len(probs.list) == 0
}

// singleTables records a [table] header where the schema wants
// [[array tables]]: the decoder takes [step] as a list of one step, but
// the author most likely meant [[step]] and will soon write a second
// [step], which is an error far from this one.
func (p *problems) singleTables() {
	for _, k := range p.idx.keys {
		if k.kind != unstable.Table {
			continue
		}
		if w, ok := wantOf(k.path); ok && w.typ.Kind() == reflect.Slice {
			key := strings.Join(segments(k.path), ".")
			p.line(p.idx.lineOf(k.off), "[%s] is one table; write [[%s]], a header per element", key, key)
		}
	}
}

// unknownKey records a key the schema does not have, with the keys that
// come close to it.
func (p *problems) unknownKey(e *toml.DecodeError) {
	line, col := e.Position()
	if kp, ok := p.idx.at(line, col); ok {
		t := reflect.TypeFor[rawFile]()
		for _, seg := range segments(kp.path) {
			f, ok := fieldByKey(t, seg)
			if !ok {
				keys := keysOf(t)
				hint := didYouMean(seg, keys)
				top := reflect.TypeFor[rawFile]()
				if _, ok := fieldByKey(top, seg); ok && t != top {
					// TOML's trap: a key after a [table] header belongs
					// to that table.
					hint = fmt.Sprintf(" (%s is a top-level key: move it above the first [table] header)", seg)
				}
				if hint == "" {
					hint = " (keys: " + strings.Join(keys, ", ") + ")"
				}
				p.line(line, "unknown key %q %s%s", seg, tableNames[t.Name()], hint)
				return
			}
			t = deref(f.Type)
		}
	}
	p.line(line, "unknown key %q", strings.Join(e.Key(), "."))
}

// decodeError records a decoding error: a value of the wrong type,
// described by what the key takes, or else the decoder's own message (a
// syntax error, a key defined twice).
func (p *problems) decodeError(e *toml.DecodeError) {
	line, col := e.Position()
	if kp, ok := p.idx.at(line, col); ok {
		if want, ok := wantOf(kp.path); ok && !fits(want.typ, kp.kind) {
			p.line(line, "%s: want %s, got %s", display(kp.path), want.desc, kindName(kp.kind))
			return
		}
	}
	p.line(line, "%s", strings.TrimPrefix(e.Error(), "toml: "))
}

// want is what a path of the schema takes.
type want struct {
	typ  reflect.Type
	desc string
}

// wantOf returns what path takes in the schema: its field's type and want
// tag, or for an array's element the element's type.
func wantOf(path string) (want, bool) {
	t := reflect.TypeFor[rawFile]()
	var f reflect.StructField
	for _, seg := range segments(path) {
		var ok bool
		if f, ok = fieldByKey(t, seg); !ok {
			return want{}, false
		}
		t = deref(f.Type)
	}
	if strings.HasSuffix(path, "]") {
		elem := deref(f.Type.Elem())
		desc := "a table"
		if elem.Kind() == reflect.String {
			desc = "a string"
		}
		return want{elem, desc}, true
	}
	return want{f.Type, f.Tag.Get("want")}, true
}

// fits reports whether a TOML value of kind k decodes into type t.
func fits(t reflect.Type, k unstable.Kind) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return k == unstable.String
	case reflect.Int:
		return k == unstable.Integer
	case reflect.Slice:
		return k == unstable.Array || k == unstable.ArrayTable
	case reflect.Struct, reflect.Map:
		return k == unstable.InlineTable || k == unstable.Table
	}
	return true
}

// kindName names a TOML value's kind.
func kindName(k unstable.Kind) string {
	switch k {
	case unstable.String:
		return "a string"
	case unstable.Integer:
		return "an integer"
	case unstable.Float:
		return "a float"
	case unstable.Bool:
		return "a boolean"
	case unstable.Array:
		return "an array"
	case unstable.InlineTable, unstable.Table:
		return "a table"
	case unstable.ArrayTable:
		return "an array of tables"
	}
	return "a date or time"
}

// fieldByKey returns the field of struct t decoded from key.
func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	if t.Kind() != reflect.Struct {
		return reflect.StructField{}, false
	}
	for i := range t.NumField() {
		if f := t.Field(i); f.Tag.Get("toml") == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// keysOf returns the keys of struct t, in declaration order.
func keysOf(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		keys = append(keys, t.Field(i).Tag.Get("toml"))
	}
	return keys
}

// deref returns the type a pointer or slice type holds, or t.
func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	return t
}

// display formats a path for a message, counting elements from 1 as the
// rest of the messages do: "step 2: cgroup 1: work 1: workers".
func display(path string) string {
	var parts []string
	for _, p := range strings.Split(path, ".") {
		key, n, ok := strings.Cut(p, "[")
		if !ok {
			parts = append(parts, key)
			continue
		}
		i, _ := strconv.Atoi(strings.TrimSuffix(n, "]")) // the index wrote it
		parts = append(parts, fmt.Sprintf("%s %d", key, i+1))
	}
	return strings.Join(parts, ": ")
}
