// Package gauntlet plans which variants of a ktstr test run: the reference
// topology presets and the filters that keep the ones a test and the host
// accept, scheduler flag profiles, the expansion of a test into named
// variants (presets × profiles × kernels), coverage-per-second budget
// selection, and deterministic sharding.
//
// Everything here is pure computation: no VM is booted and nothing is read
// from the environment or the file system. Callers pass in what they read
// (the accelerator, the host's CPU count, KTSTR_MAX_VCPUS, KTSTR_BUDGET_SECS,
// --shard) and get back lists, reasons and one summary line.
//
// The intended pipeline is
//
//	Filter(Presets(), constraints, host) → Profiles(flags, required, excluded)
//	  → Expand(base, kept, profiles, kernels) → Select(…, budget) → Shard(…, k, n)
//
// Budget selection and sharding compose in that order (select, then shard), so
// every shard of a CI matrix sees the same selection.
package gauntlet
