// Package scenariofile reads declarative scenario files: TOML files that
// declare what a Go test declares with package scenario, for scheduler
// authors who do not write Go (`ktstr run FILE --scheduler PATH`). The
// reference of every key is docs/scenario-files.md.
//
//	topology = "1n2l2c1t"
//	duration = "4s"
//
//	[[step]]
//	hold = "100%"
//	[[step.cgroup]]
//	name = "cg0"
//	cpuset = "llc:0"
//	work = [{ type = "bursty", workers = 4, burst = "50ms", sleep = "100ms" }]
//
// [Parse] (or [Load]) turns a file into a [File]: the topology labels, the
// duration, a layer of checks (check.Assert), the backdrop and steps as the
// planner's values (internal/plan, which package scenario aliases) and the
// names of catalogue scenarios. [File.Validate] then checks it against
// each of its topologies before anything boots, with the planner the
// guest runs. Both report every problem at once, each an [*Error] at the
// line of the key at fault:
//
//	scenarios/llc.toml:14: step "split": cgroup "cg1": cpuset llc 3: the guest has 2 LLCs (0-1)
//
// The command and the host use this package; so does the guest, which
// parses the file again and runs it with package
// internal/scenariofile/run. This package imports neither the root
// package nor package scenario, so that the command does not link the
// guest runtime.
//
// Why TOML: no structure hangs on indentation, so a misplaced line does
// not silently move a key into another table; values are typed, so
// workers = "4" is an error and not a guess; comments are allowed; Rust
// sched_ext authors know it from Cargo.toml. And the decoder,
// github.com/pelletier/go-toml/v2, reports the line of an unknown key and
// of a value of the wrong type when decoding strictly, and its unstable
// parser gives the position of every key, so that a problem found after
// decoding (a cpuset the topology cannot give) names its line too.
package scenariofile
