// Package monitor watches a guest kernel's scheduler from the host while a
// test runs: every period it reads each CPU's runqueue from guest memory
// (package guestmem), with struct layouts from the kernel's BTF, and judges
// the samples against the monitor's limits in check.Assert.
//
// It sees what the test's workers cannot: CPUs that sit idle while tasks
// that may run there wait on another CPU (work conservation), runqueues
// out of balance, a sched_ext local dispatch queue that keeps growing, a
// runqueue whose clock stops while it has work, and bursts of sched_ext
// fallback events. Time is the guest's own (jiffies): under TCG the host
// may hold all vCPUs off at once, and a sample pair in which the guest did
// not advance counts neither for nor against a limit.
//
// A kernel without BTF or without a symbol the monitor needs turns it off
// for that run with one line saying why; a field a kernel lacks (the
// sched_ext ones on a kernel without sched_ext) loses that figure, not the
// others.
package monitor
