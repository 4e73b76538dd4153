package stats

import (
	"path/filepath"
	"sort"
	"time"

	"github.com/ktstr-go/ktstr/sidecar"
)

// Run is a directory of sidecars, as ktstr stats list shows it.
type Run struct {
	// Dir is the directory; Name its base name (the run key:
	// "{kernel}-{project commit}" for run directories).
	Dir  string `json:"dir"`
	Name string `json:"name"`
	// Tests counts the sidecars; Passed, Failed and Skipped split them.
	Tests   int `json:"tests"`
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
	// First and Last are the earliest and latest sidecar timestamps.
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	// Arch is the host architecture of the sidecars ("-" when none
	// recorded one, "mixed" when they disagree).
	Arch string `json:"arch"`
	// RunIDs are the distinct run ids, sorted.
	RunIDs []string `json:"run_ids"`
}

// Runs groups results by directory, newest (latest timestamp) first.
func Runs(results []sidecar.Result) []Run {
	byDir := map[string]*Run{}
	ids := map[string]map[string]bool{}
	for i := range results {
		r := &results[i]
		dir := filepath.Dir(r.Path)
		run := byDir[dir]
		if run == nil {
			run = &Run{Dir: dir, Name: filepath.Base(dir), Arch: None}
			byDir[dir] = run
			ids[dir] = map[string]bool{}
		}
		run.Tests++
		switch {
		case r.Skipped:
			run.Skipped++
		case r.Passed:
			run.Passed++
		default:
			run.Failed++
		}
		if !r.Timestamp.IsZero() {
			if run.First.IsZero() || r.Timestamp.Before(run.First) {
				run.First = r.Timestamp
			}
			if r.Timestamp.After(run.Last) {
				run.Last = r.Timestamp
			}
		}
		if r.Host != nil && r.Host.Arch != "" {
			switch run.Arch {
			case None:
				run.Arch = r.Host.Arch
			case r.Host.Arch, "mixed":
			default:
				run.Arch = "mixed"
			}
		}
		if r.RunID != "" && !ids[dir][r.RunID] {
			ids[dir][r.RunID] = true
			run.RunIDs = append(run.RunIDs, r.RunID)
		}
	}
	out := make([]Run, 0, len(byDir))
	for _, run := range byDir {
		sort.Strings(run.RunIDs)
		out = append(out, *run)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Last.Equal(out[j].Last) {
			return out[i].Last.After(out[j].Last)
		}
		return out[i].Dir < out[j].Dir
	})
	return out
}

// SelectRun returns the results of one run: those in a directory named
// run (base name or path) or with run id run. An empty run selects the
// newest run.
func SelectRun(results []sidecar.Result, run string) []sidecar.Result {
	if run == "" {
		runs := Runs(results)
		if len(runs) == 0 {
			return nil
		}
		run = runs[0].Dir
	}
	abs, _ := filepath.Abs(run)
	var out []sidecar.Result
	for _, r := range results {
		dir := filepath.Dir(r.Path)
		dabs, _ := filepath.Abs(dir)
		if filepath.Base(dir) == run || dir == run || (abs != "" && dabs == abs) || r.RunID == run {
			out = append(out, r)
		}
	}
	return out
}
