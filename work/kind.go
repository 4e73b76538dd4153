package work

// Kind names a work type.
type Kind string

// The work types.
const (
	SpinKind            Kind = "spin"             // tight CPU loop
	YieldHeavyKind      Kind = "yield-heavy"      // sched_yield every iteration
	MixedKind           Kind = "mixed"            // spin, then yield
	IOSyncKind          Kind = "io-sync"          // small writes to tmpfs + short sleep
	BurstyKind          Kind = "bursty"           // spin X, sleep Y
	PipePingPongKind    Kind = "pipe-ping-pong"   // pairs bounce a byte over pipes
	FutexPingPongKind   Kind = "futex-ping-pong"  // pairs wake each other on a futex
	CachePressureKind   Kind = "cache-pressure"   // strided read-modify-write over a buffer
	CacheYieldKind      Kind = "cache-yield"      // cache pressure + yield
	CachePipeKind       Kind = "cache-pipe"       // cache pressure + pipe exchange in pairs
	FutexFanOutKind     Kind = "futex-fan-out"    // one waker, N sleepers
	FanOutComputeKind   Kind = "fan-out-compute"  // waker stamps time; sleepers measure, then compute
	ForkExitKind        Kind = "fork-exit"        // fork a child that exits, reap it
	NiceSweepKind       Kind = "nice-sweep"       // cycle through nice levels
	AffinityChurnKind   Kind = "affinity-churn"   // re-pin to a random CPU of the cpuset
	PolicyChurnKind     Kind = "policy-churn"     // cycle scheduling policies
	PageFaultChurnKind  Kind = "page-fault-churn" // fault pages in, drop them
	MutexContentionKind Kind = "mutex-contention" // N contenders on one futex lock
	SequenceKind        Kind = "sequence"         // phases of spin/sleep/yield/io
	CustomKind          Kind = "custom"           // a registered Go function
)
