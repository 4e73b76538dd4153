// Package scenario declares what happens in a ktstr test body as data:
// cgroups with cpusets and work groups, and steps that change them over
// time. The framework carries the steps out inside the guest, measures every
// worker and checks the result against scheduling properties.
//
// The common case, cgroups running steady for the whole test, is one call
// in a test body:
//
//	res, err := scenario.Defs(ctx,
//		scenario.CgroupDef{Name: "cg0", Cpuset: scenario.LLC(0)},
//		scenario.CgroupDef{Name: "cg1", Cpuset: scenario.LLC(1),
//			Work: []work.Group{{Type: work.Bursty(50*time.Millisecond, 100*time.Millisecond), Workers: 4}}},
//	)
//
// A [CgroupDef] is a cgroup (nested names such as "a/b" allowed), its
// [Cpuset] (resolved against the guest's topology: [LLC], [Node], [Range],
// [Disjoint], [Overlap], [Exact]) and its work groups (work.Group: type,
// worker count, scheduling policy, affinity, memory policy; none means two
// spinners).
//
// Scenarios that change over time are [Step]s: each runs its [Op]s
// (AddCgroup, RemoveCgroup, SetCpuset, ClearCpuset, SwapCpusets, Spawn,
// StopCgroup, SetAffinity, SpawnHost, MoveAllTasks, Do), sets up its Defs,
// starts every new worker at once and holds ([Frac] of the test duration,
// [For] a fixed time, or [Every] interval repeating the operations). A
// step's Defs end with the step; what its operations do lasts. A
// [Backdrop] holds cgroups that live across all steps. [Run] and
// [RunWith] carry the steps out and record the checks' verdict in the
// test's result.
//
// Everything is validated against the guest's topology before anything
// runs ([Prepare]): a cpuset the topology cannot give, a work group with a
// bad worker count, an operation on a cgroup that does not exist at that
// point and a missing hold are errors naming the step and what is wrong.
//
// The verdict: after the last step, the workers' reports are grouped by
// the cgroup they were spawned in and checked (package check) against
// ctx.Assert. The isolation check expects of each worker the union of the
// cpusets in force where it was while it ran; a worker that ran without a
// cpuset at some point is not checked for isolation. A test that expects a
// check to fail runs [Prepare], [Plan.Execute] and [Evaluate], which does
// not record the verdict.
//
// [All] is a catalogue of ready scenarios, listed by `ktstr scenarios`.
//
// The language's types ([CgroupDef], [Step], [Backdrop], [Cpuset], [Hold],
// [Op]) are aliases of types in internal/plan, and the catalogue's
// scenarios are built in internal/catalog: the ktstr command lists and
// plans them from there, without linking this package, the root package
// and the guest runtime. What runs them (Run, Plan.Execute, RunCatalogue)
// is here.
package scenario
