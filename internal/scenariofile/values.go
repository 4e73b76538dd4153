package scenariofile

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/internal/cpuset"
	"github.com/ktstr-go/ktstr/internal/plan"
	"github.com/ktstr-go/ktstr/work"
)

// The grammars of the string values. Each is "kind" or "kind:arguments",
// after the Go constructor it stands for (plan.LLC(0) is "llc:0",
// work.FIFO(10) is "fifo:10"), and each parser's error says what it
// takes.

// cpusetForms lists the cpuset forms, for errors.
const cpusetForms = `llc:N, node:N, range:FROM-TO (fractions of the usable CPUs), disjoint:I/N, overlap:I/N/FRAC or cpus:LIST (e.g. cpus:0-2,5)`

// parseCpuset parses a cpuset: "llc:0", "node:1", "range:0-0.5",
// "disjoint:0/2", "overlap:0/3/0.5" or "cpus:0-3,6". Whether the topology
// can give it is for plan.Cpuset.Resolve to say.
func parseCpuset(s string) (plan.Cpuset, error) {
	kind, arg, _ := strings.Cut(s, ":")
	bad := func(what string) (plan.Cpuset, error) {
		return plan.Cpuset{}, fmt.Errorf("cpuset %q: %s", s, what)
	}
	switch kind {
	case "llc", "node":
		n, err := wholeNumber(arg)
		if err != nil {
			return bad(fmt.Sprintf("want %s:N with N the %s's index from 0", kind, map[string]string{"llc": "LLC", "node": "NUMA node"}[kind]))
		}
		if kind == "llc" {
			return plan.LLC(n), nil
		}
		return plan.Node(n), nil
	case "range":
		from, to, ok := strings.Cut(arg, "-")
		f, err1 := strconv.ParseFloat(from, 64)
		t, err2 := strconv.ParseFloat(to, 64)
		if !ok || err1 != nil || err2 != nil {
			return bad("want range:FROM-TO with fractions of the usable CPUs, e.g. range:0-0.5 for the first half")
		}
		return plan.Range(f, t), nil
	case "disjoint", "overlap":
		parts := strings.Split(arg, "/")
		want := 2
		if kind == "overlap" {
			want = 3
		}
		if len(parts) != want {
			return bad(map[string]string{
				"disjoint": "want disjoint:I/N, partition I (from 0) of N, e.g. disjoint:0/2",
				"overlap":  "want overlap:I/N/FRAC, partition I (from 0) of N extended by FRAC of a partition into the next, e.g. overlap:0/3/0.5",
			}[kind])
		}
		i, err1 := wholeNumber(parts[0])
		n, err2 := wholeNumber(parts[1])
		if err1 != nil || err2 != nil {
			return bad("the partition and the count must be whole numbers")
		}
		if kind == "disjoint" {
			return plan.Disjoint(i, n), nil
		}
		frac, err := strconv.ParseFloat(parts[2], 64)
		if err != nil {
			return bad("the overlap must be a fraction, e.g. 0.5")
		}
		return plan.Overlap(i, n, frac), nil
	case "cpus":
		cpus, err := cpuset.Parse(arg)
		if err != nil || len(cpus) == 0 {
			return bad("want cpus:LIST, a CPU list such as 0-3,6")
		}
		return plan.Exact(cpus...), nil
	}
	return bad("want " + cpusetForms)
}

// parseHold parses a step's hold: "50%" of the duration, or a fixed
// duration ("2s").
func parseHold(hold string) (plan.Hold, error) {
	if pct, ok := strings.CutSuffix(hold, "%"); ok {
		f, err := strconv.ParseFloat(pct, 64)
		if err != nil || !(f > 0 && f <= 100) {
			return plan.Hold{}, fmt.Errorf("hold %q: a share of the duration must be more than 0%% and at most 100%%", hold)
		}
		return plan.Frac(f / 100), nil
	}
	d, err := time.ParseDuration(hold)
	if err != nil {
		return plan.Hold{}, fmt.Errorf("hold %q: want a share of the duration such as \"50%%\", or a duration such as \"2s\"", hold)
	}
	if d <= 0 {
		return plan.Hold{}, fmt.Errorf("hold %q: must be positive", hold)
	}
	return plan.For(d), nil
}

// parseDuration parses a positive Go duration: "4s", "250ms", "1m30s".
func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("not a duration; write e.g. \"4s\", \"250ms\" or \"1m30s\"")
	}
	if d <= 0 {
		return 0, fmt.Errorf("must be positive")
	}
	return d, nil
}

// parsePolicy parses a scheduling policy: normal, batch, idle, fifo:PRIO
// or rr:PRIO.
func parsePolicy(s string) (work.Policy, error) {
	class, arg, ok := strings.Cut(s, ":")
	p := work.Policy{Class: work.PolicyClass(class)}
	if ok {
		n, err := strconv.Atoi(arg)
		if err != nil {
			return p, fmt.Errorf("policy %q: the priority must be a number, e.g. fifo:10", s)
		}
		p.Priority = n
	}
	if err := p.Validate(); err != nil {
		return p, fmt.Errorf("policy %q: %w (write normal, batch, idle, fifo:PRIO or rr:PRIO)", s, err)
	}
	return p, nil
}

// parseAffinity parses an affinity: inherit, random-subset, llc-aligned,
// all-cpus, single-cpu or exact:LIST.
func parseAffinity(s string) (work.Affinity, error) {
	mode, arg, ok := strings.Cut(s, ":")
	a := work.Affinity{Mode: work.AffinityMode(mode)}
	if mode == "inherit" {
		a.Mode = work.AffinityInherit
	}
	if ok {
		cpus, err := cpuset.Parse(arg)
		if err != nil {
			return a, fmt.Errorf("affinity %q: %w", s, err)
		}
		a.CPUs = cpus
	}
	if err := a.Validate(); err != nil {
		return a, fmt.Errorf("affinity %q: %w (write inherit, random-subset, llc-aligned, all-cpus, single-cpu or exact:LIST)", s, err)
	}
	return a, nil
}

// parseMemPolicy parses a NUMA memory policy: default, local, bind:LIST,
// preferred:NODE or interleave:LIST.
func parseMemPolicy(s string) (work.MemPolicy, error) {
	mode, arg, ok := strings.Cut(s, ":")
	m := work.MemPolicy{Mode: work.MemMode(mode)}
	if mode == "default" {
		m.Mode = work.MemModeDefault
	}
	if ok {
		nodes, err := cpuset.Parse(arg)
		if err != nil {
			return m, fmt.Errorf("memory policy %q: bad node list %q", s, arg)
		}
		m.Nodes = nodes
	}
	if err := m.Validate(); err != nil {
		return m, fmt.Errorf("memory policy %q: %w (write default, local, bind:LIST, preferred:NODE or interleave:LIST)", s, err)
	}
	return m, nil
}

// wholeNumber parses a whole number from 0.
func wholeNumber(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a whole number", s)
	}
	return n, nil
}
