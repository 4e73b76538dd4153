// Package work declares the work a ktstr worker process does and what it
// reports.
//
// A worker is a separate process (cgroups hold processes, so each worker can
// be placed on its own), created inside its cgroup, started together with
// its group, and stopped with a deadline. Every work type counts work units
// and samples, at checkpoints, the CPU it runs on and the time, so that the
// harness can tell starvation, unfairness, long scheduling gaps and cpuset
// violations apart.
package work
