package scenariofile

import (
	"path/filepath"
	"testing"
)

// TestExamples parses and validates every file in examples/scenarios,
// which CI runs against a scheduler: a file that stopped validating would
// fail there only after a boot.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob("../../examples/scenarios/*.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("%d example files, want at least 3", len(files))
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Validate(); err != nil {
				t.Fatal(err)
			}
			if len(f.Topologies) == 0 {
				t.Error("no topology")
			}
		})
	}
}
