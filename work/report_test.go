package work

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestProgress checks the times of a series' points and its JSON: absent
// from a report without one.
func TestProgress(t *testing.T) {
	p := Progress{Start: 1200 * time.Millisecond, Every: 100 * time.Millisecond, Units: []uint64{0, 10, 20, 25}, End: 1460 * time.Millisecond}
	for i, want := range []time.Duration{1200, 1300, 1400, 1460} {
		if got := p.At(i); got != want*time.Millisecond {
			t.Errorf("At(%d) = %v, want %vms", i, got, want)
		}
	}
	b, err := json.Marshal(Report{Progress: p})
	if err != nil {
		t.Fatal(err)
	}
	if want := `"progress":{"start":1200000000,"every":100000000,"units":[0,10,20,25],"end":1460000000}`; !strings.Contains(string(b), want) {
		t.Errorf("JSON %s, want it to hold %s", b, want)
	}
	if b, _ := json.Marshal(Report{}); strings.Contains(string(b), "progress") {
		t.Errorf("JSON of a report without progress: %s", b)
	}
}
