// Package env names the environment variables and output line prefixes
// through which ktstr's processes talk to each other: the `ktstr test`
// command, the test binary on the host, its listing pre-pass, and the
// processes the guest starts from the test binary. Each name is spelled
// here once; package ktstr re-exports the ones users set.
package env

// Variables a user (or `ktstr test`) sets for a test binary on the host.
const (
	// Kernel picks the kernel: a kernel source tree, an image file, a cache
	// key or a version prefix. Unset, the newest cached kernel is used.
	Kernel = "KTSTR_KERNEL"
	// Kernels lists several kernels (comma-separated); each variant then
	// runs once per kernel.
	Kernels = "KTSTR_KERNELS"
	// Gauntlet=1 enables gauntlet variants.
	Gauntlet = "KTSTR_GAUNTLET"
	// BudgetSecs=N selects the variants that cover most within N seconds.
	BudgetSecs = "KTSTR_BUDGET_SECS"
	// Shard=K/N runs the K-th of N deterministic slices.
	Shard = "KTSTR_SHARD"
	// List=1 boots nothing and prints each variant that would run, as
	// VariantPrefix followed by its name; List=ListJSON prints each as
	// VariantJSONPrefix followed by its description (the budget's pre-pass).
	List = "KTSTR_LIST"
	// Only lists, one per line, the exact names of the variants to run;
	// every other is skipped (ktstr test --replay). Budget and shard do
	// not apply then.
	Only = "KTSTR_ONLY"
	// MaxVCPUs overrides the host's vCPU limit for gauntlet presets.
	MaxVCPUs = "KTSTR_MAX_VCPUS"
	// Deterministic=1 runs every TCG variant in deterministic mode (-icount).
	Deterministic = "KTSTR_DETERMINISTIC"
	// ICountShift overrides the -icount shift of deterministic mode.
	ICountShift = "KTSTR_ICOUNT_SHIFT"
	// Accel forces the accelerator: kvm or tcg.
	Accel = "KTSTR_ACCEL"
	// BPFStats=1 has the kernel count each sched_ext program's runs and
	// run time (BPF stats), which costs the scheduler's callbacks.
	BPFStats = "KTSTR_BPF_STATS"
)

// Where ktstr keeps and finds things on the host.
const (
	// CacheDir is the kernel cache.
	CacheDir = "KTSTR_CACHE_DIR"
	// SchedDir is the cache of built sched_ext schedulers.
	SchedDir = "KTSTR_SCHED_DIR"
	// Scheduler names a scheduler binary to use instead of a cached build.
	Scheduler = "KTSTR_SCHEDULER"
	// DebianMirror is the Debian archive kernels and sources come from.
	DebianMirror = "KTSTR_DEBIAN_MIRROR"
	// TargetDir is where result files go (under ktstr/).
	TargetDir = "KTSTR_TARGET_DIR"
	// SidecarDir names the exact directory for result files.
	SidecarDir = "KTSTR_SIDECAR_DIR"
	// RunID names the run the result files belong to.
	RunID = "KTSTR_RUN_ID"
	// CI marks a run as a CI run in its result files.
	CI = "KTSTR_CI"
)

// Variables the guest sets when it starts the test binary again for a
// process of its own.
const (
	// Worker runs the binary as a worker process; the value is its job.
	Worker = "KTSTR_WORKER"
	// OpsTimeout runs the binary as the stall watchdog's supervisor; the
	// value is its configuration.
	OpsTimeout = "KTSTR_OPS_TIMEOUT"
)

// Values and line prefixes of the listing contract.
const (
	// ListJSON is the List value of the budget's pre-pass.
	ListJSON = "json"
	// VariantPrefix starts each line of a listing.
	VariantPrefix = "ktstr-variant: "
	// VariantJSONPrefix starts each line of the pre-pass's listing.
	VariantJSONPrefix = "ktstr-variant-json: "
)
