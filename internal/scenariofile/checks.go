package scenariofile

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/check"
)

// checkField is a setting of check.Assert that [checks] may set.
type checkField struct {
	index int
	// elem is the setting's value type: bool, float64, int or
	// time.Duration.
	elem reflect.Type
}

// checkFields maps each check.Assert setting's JSON name (the snake_case
// of its field: max_spread_pct for MaxSpreadPct) to the field. They are
// found by reflection so that a setting added to check.Assert is a key of
// [checks] without a change here.
var checkFields = func() map[string]checkField {
	m := map[string]checkField{}
	t := reflect.TypeFor[check.Assert]()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		get, ok := reflect.PointerTo(f.Type).MethodByName("Get")
		if name == "" || !ok {
			continue
		}
		// Get is func(Opt[T]) (T, bool): its first result is T.
		m[name] = checkField{index: i, elem: get.Type.Out(0)}
	}
	return m
}()

// checkNames returns the names [checks] takes, sorted.
func checkNames() []string {
	var names []string
	for n := range checkFields {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// checks converts [checks] into a layer of check configuration: a switch
// takes true or false, a limit a number (a percentage for *_pct, a
// fraction for min_page_locality, a count or a ratio otherwise) or a
// duration string for a time, and any of them "off", which switches the
// check off whatever the defaults and the scheduler say.
func (c *converter) checks(m map[string]any) check.Assert {
	var a check.Assert
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		v, path := m[name], "checks."+name
		f, ok := checkFields[name]
		if !ok {
			hint := didYouMean(name, checkNames())
			if hint == "" {
				hint = " (have: " + strings.Join(checkNames(), ", ") + ")"
			}
			c.probs.at(path, "unknown check %q%s", name, hint)
			continue
		}
		js, err := checkJSON(f.elem, v)
		if err != nil {
			c.probs.at(path, "checks: %s: %v", name, err)
			continue
		}
		// Opt's JSON form ("off", or the value, a duration in
		// nanoseconds) sets it without naming its type parameter here.
		dst := reflect.ValueOf(&a).Elem().Field(f.index).Addr().Interface()
		if err := json.Unmarshal(js, dst); err != nil {
			c.probs.at(path, "checks: %s: %v", name, err)
		}
	}
	return a
}

// checkJSON returns the JSON form of a check.Opt of value type elem for
// the TOML value v, or says what the setting takes.
func checkJSON(elem reflect.Type, v any) ([]byte, error) {
	if v == "off" {
		return []byte(`"off"`), nil
	}
	var want string
	switch {
	case elem == reflect.TypeFor[time.Duration]():
		if s, ok := v.(string); ok {
			d, err := time.ParseDuration(s)
			if err == nil && d >= 0 {
				return json.Marshal(d)
			}
		}
		want = `a duration such as "2s", or "off"`
	case elem.Kind() == reflect.Bool:
		if b, ok := v.(bool); ok {
			return json.Marshal(b)
		}
		want = "true or false"
	case elem.Kind() == reflect.Int:
		if n, ok := v.(int64); ok && n >= 0 {
			return json.Marshal(n)
		}
		want = `a whole number from 0, or "off"`
	case elem.Kind() == reflect.Float64:
		switch n := v.(type) {
		case int64:
			if n >= 0 {
				return json.Marshal(n)
			}
		case float64:
			if n >= 0 {
				return json.Marshal(n)
			}
		}
		want = `a number from 0, or "off"`
	default:
		return nil, fmt.Errorf("check.Assert has a setting of type %v that files cannot set", elem)
	}
	return nil, fmt.Errorf("want %s, got %s", want, tomlValue(v))
}

// tomlValue describes a decoded TOML value in a message: `the string "x"`,
// `the integer -3`.
func tomlValue(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("the string %q", v)
	case int64:
		return fmt.Sprintf("the integer %d", v)
	case float64:
		return fmt.Sprintf("the number %v", v)
	case bool:
		return fmt.Sprintf("%v", v)
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("%v", v)
}
