// Package check judges what a test's workers reported: whether any worker
// starved, whether the workers of a cgroup shared the CPUs fairly, whether
// one went unscheduled for too long, whether they stayed inside their
// cpuset, and (when asked) throughput parity, wake-up latency, migrations
// and NUMA page locality.
//
// The checks to run and their limits are an [Assert]. Every field is an
// [Opt]: unset, set to a value, or set to off. Layers of configuration are
// combined with [Merge], last set wins, so a scheduler or a test can tighten
// a limit, loosen it, or switch a check off:
//
//	a := check.Merge(
//		check.Defaults(check.Env{TCG: tcg}),            // harness defaults
//		check.Assert{MaxGap: check.Set(3 * time.Second)}, // the scheduler's
//		check.Assert{Isolation: check.Off()},             // the test's
//	)
//	res := check.Evaluate(a, check.Group{Name: "cg0", CPUs: []int{0, 1}, Reports: reports})
//	if !res.Passed {
//		fmt.Print(res.Err(), "\n", res.Stats.Format())
//	}
//
// [Evaluate] runs each enabled check per cgroup ([Group]) and merges the
// outcomes into a [Result]: pass or fail, one [Failure] per finding with a
// message that names the cgroup, the worker and the limit, and [Stats], the
// figures behind the verdict whether it passed or not.
//
// The package does no I/O; its input is [work.Report] values.
package check
