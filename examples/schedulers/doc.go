// Package schedulers tests two sched_ext schedulers that nobody on the
// ktstr team wrote, the way you would test your own: the Linux kernel's
// example schedulers scx_simple and scx_qmap (tools/sched_ext).
//
// scx_simple keeps one global queue, ordered by weighted virtual time
// (or plain FIFO with -f). scx_qmap keeps five global FIFOs, one per
// weight band, and dispatches more from the heavier bands; it exists to
// exercise sched_ext's features rather than to schedule well. Both are
// healthy, so every check in force must pass, and a failure here is a
// harness problem, a calibration problem or a real property of the
// scheduler, never something to paper over.
//
// TestExampleSchedulers puts each scheduler through a set of catalogue
// scenarios (package scenario) on three topologies, one VM per
// scheduler and topology. TestWakeupChains runs the scenarios whose
// workers wake each other in deterministic mode, where host noise stays
// out of their figures. TestQmapFlagProfiles shows how a scheduler's
// command-line flags become gauntlet profiles.
//
// What it needs: a sched_ext kernel and the example schedulers built for
// it, which `ktstr kernel fetch` and `ktstr sched build` put in the cache
// (`make demo` does both). Then:
//
//	go test -v ./examples/schedulers                 # or: ktstr test -- ./examples/schedulers
//	KTSTR_GAUNTLET=1 go test -v -run TestQmapFlagProfiles ./examples/schedulers
//
// Under TCG on a 2-core host the first command takes about three
// minutes: six VMs of about 30-50 s each, two at a time, then
// TestWakeupChains' two (about 50 s) and TestQmapFlagProfiles' one.
// The second runs nine VMs one after another, about five minutes.
package schedulers
