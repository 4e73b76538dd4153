package scenariofile

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/catalog"
	"github.com/ktstr-go/ktstr/internal/plan"
	"github.com/ktstr-go/ktstr/internal/topolabel"
)

// DefaultDuration is the duration of a file that sets none: ktstr.Spec's
// default.
const DefaultDuration = 2 * time.Second

// File is a parsed scenario file: what a ktstr test of it runs, as the
// values package scenario and ktstr.Spec take.
type File struct {
	// Name is the file's name as given to Parse, which messages begin
	// with.
	Name string
	// Topologies are the topology labels to run on ("1n2l2c1t"), each
	// valid for topolabel.Parse.
	Topologies []string
	// Duration is the test's duration (ktstr.Spec.Duration): the base of
	// the steps' shares, and how long each catalogue scenario runs.
	Duration time.Duration
	// Assert is the file's layer of checks ([checks]). It belongs in
	// ktstr.Spec.Assert, where the host's monitor checks see it too; the
	// guest side merges it over ctx.Assert as well (package run).
	Assert check.Assert
	// Backdrop holds the cgroups that live across all steps.
	Backdrop plan.Backdrop
	// Steps are the file's own steps, run as scenario.RunWith does.
	Steps []plan.Step
	// Catalogue names catalogue scenarios to run after the steps, as
	// scenario.RunCatalogue does.
	Catalogue []string

	// idx locates the file's keys, for Validate's messages.
	idx *index
	// opRefs maps each plan op to the file's op, per step; [0] is the
	// backdrop's.
	opRefs [][]opRef
}

// Load reads and parses the scenario file at path; see [Parse].
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse parses a scenario file; name is how messages call it. It reports
// everything wrong that needs no topology, each problem an [*Error] at its
// line, joined: an unknown key (with the keys it comes close to), a value
// of the wrong type, a malformed value (a cpuset, a hold, a duration, a
// topology label), an unknown work type, op, check or catalogue scenario,
// a missing key. [File.Validate] then checks the file against each of its
// topologies.
func Parse(name string, data []byte) (*File, error) {
	probs := &problems{file: name}
	raw, ok := decode(data, probs)
	if !ok {
		return nil, probs.err()
	}
	c := &converter{probs: probs}
	f := &File{Name: name, idx: probs.idx}
	f.Topologies = c.topologies(raw)
	f.Duration = DefaultDuration
	if raw.Duration != nil {
		d, err := parseDuration(*raw.Duration)
		if err != nil {
			probs.at("duration", "duration %q: %v", *raw.Duration, err)
		}
		f.Duration = d
	}
	f.Assert = c.checks(raw.Checks)
	var refs []opRef
	f.Backdrop, refs = c.backdrop(raw.Backdrop)
	f.opRefs = append(f.opRefs, refs)
	for i, s := range raw.Steps {
		st, refs := c.step(i, s)
		f.Steps = append(f.Steps, st)
		f.opRefs = append(f.opRefs, refs)
	}
	f.Catalogue = c.catalogue(raw.Catalogue)
	switch {
	case len(raw.Steps) == 0 && len(raw.Catalogue) == 0:
		probs.line(0, `nothing to run: add [[step]] tables, or catalogue = ["basic/steady"] (see ktstr scenarios)`)
	case len(raw.Steps) == 0 && raw.Backdrop != nil:
		probs.at("backdrop", "a [backdrop] without [[step]] tables never runs: its cgroups live while steps hold")
	}
	if err := probs.err(); err != nil {
		return nil, err
	}
	return f, nil
}

// topologies returns the labels of topology or topologies, recording
// those that do not parse.
func (c *converter) topologies(raw *rawFile) []string {
	var labels []string
	switch {
	case raw.Topology != nil && raw.Topologies != nil:
		c.probs.at("topologies", "set topology or topologies, not both")
		return nil
	case raw.Topology != nil:
		labels = []string{*raw.Topology}
	case len(raw.Topologies) > 0:
		labels = raw.Topologies
	default:
		c.probs.line(0, `no topology: add topology = "1n2l2c1t" ({nodes}n{llcs}l{cores}c{threads}t), or topologies = [...]`)
		return nil
	}
	for i, label := range labels {
		path := "topology"
		if raw.Topology == nil {
			path = fmt.Sprintf("topologies[%d]", i)
		}
		if _, err := topolabel.Parse(label); err != nil {
			c.probs.at(path, "%v", err)
		} else if slices.Contains(labels[:i], label) {
			c.probs.at(path, "topology %s is listed twice", label)
		}
	}
	return labels
}

// catalogue returns the catalogue scenarios' names, recording those that
// do not exist with the names nearest to them.
func (c *converter) catalogue(names []string) []string {
	var all []string
	for _, e := range catalog.All() {
		all = append(all, e.Name)
	}
	for i, name := range names {
		if _, err := catalog.Lookup(name); err == nil {
			continue
		}
		near := nearest(name, all, 5)
		if len(near) == 0 {
			// A known category with an unknown name: its scenarios.
			cat, _, _ := strings.Cut(name, "/")
			for _, n := range all {
				if strings.HasPrefix(n, cat+"/") {
					near = append(near, n)
				}
			}
		}
		hint := "; `ktstr scenarios` lists them all"
		if len(near) > 0 {
			hint = " (nearest: " + strings.Join(near, ", ") + ")" + hint
		}
		c.probs.at(fmt.Sprintf("catalogue[%d]", i), "unknown catalogue scenario %q%s", name, hint)
	}
	return names
}

// RunTime returns how long the file's scenarios hold in all, set-up and
// tear-down aside: the steps' holds, then the duration once per catalogue
// scenario. A test's timeout must leave room for it.
func (f *File) RunTime() time.Duration {
	var d time.Duration
	for _, s := range f.Steps {
		d += s.Hold.Duration(f.Duration)
	}
	return d + time.Duration(len(f.Catalogue))*f.Duration
}
