// Package work declares the work a ktstr worker process does and what it
// reports.
//
// A worker is a separate process (cgroups hold processes, so each worker can
// be placed on its own), created inside its cgroup, started together with
// its group, and stopped with a deadline. Every work type counts work units
// and samples, at checkpoints, the CPU it runs on and the time, so that the
// harness can tell starvation, unfairness, long scheduling gaps and cpuset
// violations apart.
//
// A [Type] is a work type with its parameters ([Spin], [Bursty],
// [PipePingPong], ... carry the reference tool's defaults); a [Group] is a
// number of workers of one Type in one cgroup, with the scheduling
// [Policy], CPU [Affinity] intent and NUMA [MemPolicy] they apply before
// their loop. Both are plain data that serialise to JSON, because the
// harness hands them to the worker processes. Grouped types (pairs,
// fan-outs, lock contenders) need a worker count that is a multiple of
// [Type.GroupSize]; [Type.Validate] says so.
//
// Custom work is a Go function registered with [Register] from an init
// function of the test binary and named with [Custom].
//
// What a worker measured comes back as a [Report].
package work
