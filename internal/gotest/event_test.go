package gotest

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseEvent(t *testing.T) {
	ev, err := ParseEvent([]byte(`{"Time":"2026-11-26T14:55:37.349352426Z","Action":"fail","Package":"example.com/fix/panics","Test":"TestBoom/1n2l2c1t","Elapsed":0.25}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Event{
		Time:    time.Date(2026, 11, 26, 14, 55, 37, 349352426, time.UTC),
		Action:  ActionFail,
		Package: "example.com/fix/panics",
		Test:    "TestBoom/1n2l2c1t",
		Elapsed: 0.25,
	}
	if ev != want {
		t.Errorf("got %+v\nwant %+v", ev, want)
	}

	ev, err = ParseEvent([]byte(`{"ImportPath":"example.com/fix/buildfail [example.com/fix/buildfail.test]","Action":"build-output","Output":"# example.com/fix/buildfail\n"}`))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Action != ActionBuildOutput || ev.ImportPath != "example.com/fix/buildfail [example.com/fix/buildfail.test]" || ev.Output != "# example.com/fix/buildfail\n" || !ev.Time.IsZero() {
		t.Errorf("build event: %+v", ev)
	}

	for _, bad := range []string{``, `go: downloading example.com/x v1.0.0`, `{"Action":`, `{"Test":"TestX"}`, `[1,2]`} {
		if _, err := ParseEvent([]byte(bad)); !errors.Is(err, ErrNotEvent) {
			t.Errorf("ParseEvent(%q) = %v, want ErrNotEvent", bad, err)
		}
	}
}

func TestDecoder(t *testing.T) {
	long := strings.Repeat("x", 200<<10) // longer than bufio's default
	stream := `{"Action":"start","Package":"p"}

warning: not JSON
{"Action":"output","Package":"p","Test":"TestA","Output":"` + long + `\n"}
{"Action":"pass","Package":"p","Elapsed":1}
`
	d := NewDecoder(strings.NewReader(stream))
	var actions []string
	var other []string
	for {
		ev, err := d.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, ErrNotEvent) {
			other = append(other, string(d.Raw()))
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		actions = append(actions, ev.Action)
		if ev.Action == ActionOutput && len(ev.Output) != len(long)+1 {
			t.Errorf("long output: %d bytes", len(ev.Output))
		}
	}
	if got := strings.Join(actions, ","); got != "start,output,pass" {
		t.Errorf("actions %s", got)
	}
	if len(other) != 1 || other[0] != "warning: not JSON" {
		t.Errorf("non-events %q", other)
	}
}
