// SPDX-License-Identifier: GPL-2.0
/*
 * ktstr: the test harness's own sched_ext scheduler.
 *
 * Policy: weighted virtual time over one shared DSQ (as the kernel's
 * scx_simple in vtime mode). A task waking on an idle CPU goes straight to
 * that CPU's local DSQ; every other task is inserted into the shared DSQ
 * ordered by its virtual time (and an idle CPU it may use is kicked), and a
 * CPU whose task stops or whose slice ends moves the first task it may run
 * to its local DSQ. A task's virtual time advances by the time it ran
 * scaled by 100/weight.
 *
 * Faults, each off unless the loader configures it:
 *   stall_cgid          (a) tasks of this cgroup (or below) are never
 *                           dispatched: the kernel's watchdog ejects the
 *                           scheduler with "runnable task stall".
 *   stop_after_ns       (b) after this long nothing is dispatched any more.
 *   stop_dispatch       (b') while true nothing is dispatched: not set by
 *                           the loader but written from outside while the
 *                           scheduler runs (ktstr's ctx.SchedulerVar), so a
 *                           test turns the stall on at the moment it picks.
 *   escape_cgid         (c) tasks of this cgroup are dispatched to a CPU
 *                           outside their allowed CPUs (their cpuset); the
 *                           kernel refuses such a dispatch and ejects the
 *                           scheduler ("SCX_DSQ_LOCAL[_ON] target CPU N not
 *                           allowed for ...").
 *   pin_cgid            (c') tasks of this cgroup all run on the first CPU
 *                           they are allowed on, the rest of their cpuset
 *                           left idle: the misplacement the kernel allows.
 *   one_cpu             (c'') every task runs on the first CPU it is
 *                           allowed on: inserted, on wake-up and when its
 *                           slice ends alike, straight into that CPU's
 *                           local DSQ, never into the shared DSQ. Per-CPU
 *                           kthreads stay on their CPU; all the rest that
 *                           may run on CPU 0 piles up there, round-robin
 *                           with the default slice, while the other CPUs
 *                           idle (as the kernel's scx_cpu0). Tasks the
 *                           cgroup and weight faults divert are left to
 *                           them.
 *   starve_below_weight (d) tasks of a lower weight (nice 19 is weight 1,
 *                           nice 0 is 100) run only on a CPU that has
 *                           nothing else to run: starved while others are
 *                           runnable. Tasks being killed are let through so
 *                           they can die.
 *   error_after_ns      (e) scx_bpf_error() this long after loading: the
 *                           kernel ejects the scheduler ("runtime error").
 *   exit_after_ns       (e') scx_bpf_exit() this long after loading: the
 *                           scheduler unregisters itself.
 *   slow_ns             (f) a task put back in the queue while still
 *                           runnable (its slice ran out, or it was
 *                           preempted) is dispatched again no earlier than
 *                           this long after: every task, or with slow_cgid
 *                           only that cgroup's. Wake-ups are not held (a Go
 *                           program whose every thread hand-off waits would
 *                           hardly start). Held tasks wait in their own DSQ
 *                           and, once due, join the shared one by their
 *                           virtual time; a BPF timer kicks an idle CPU when
 *                           the first of them is due.
 *
 * ops.exit() records the kernel's exit info (kind, code, reason, message,
 * debug dump) in uei for the loader to report.
 */
#include "ktstr.h"

char _license[] SEC("license") = "GPL";

enum {
	SHARED_DSQ = 0,   /* the policy's queue */
	STALL_DSQ = 1,    /* fault (a): filled, never consumed */
	LOW_DSQ = 2,      /* fault (d): consumed only by an otherwise idle CPU */
	SLOW_DSQ = 3,     /* fault (f): each task held slow_ns */
	MAX_CPUS = 1024,  /* bound of the loops over CPUs */
	CGROUP_DEPTH = 32, /* bound of the walk up the cgroup tree */
	DUMP_LEN = 16384, /* ops.exit_dump_len and the size of uei.dump */
	EXIT_CODE = 3,    /* scx_bpf_exit()'s code for fault (e') */
};

/* Set by the loader before loading. */
const volatile u64 stop_after_ns;
const volatile u64 error_after_ns;
const volatile u64 exit_after_ns;
const volatile u64 slow_ns;
const volatile u32 starve_below_weight;
/* Whether a cgroup fault was asked for; the ids below come later. */
const volatile bool cgroup_faults;
/* Whether slow_ns is for one cgroup's tasks (slow_cgid) only. */
const volatile bool slow_by_cgroup;
/* Fault (c''): every task on the first CPU it may use. */
const volatile bool one_cpu;

/*
 * Written by the loader while the scheduler runs: the cgroup ids (inode
 * numbers) of the cgroups the faults name, 0 while a cgroup does not exist.
 */
volatile u64 stall_cgid;
volatile u64 escape_cgid;
volatile u64 pin_cgid;
volatile u64 slow_cgid;

/* Fault (b'): written from outside, through the .bss map. */
volatile bool stop_dispatch;

u64 start_ns;
u64 vtime_now;

struct ktstr_stats {
	u64 enqueued;
	u64 direct;
	u64 dispatched;
	u64 stalled;
	u64 escaped;
	u64 pinned;
	u64 one_cpu;
	u64 starved;
	u64 released;
	u64 held;
	u64 unheld;
	u64 kicks;
	u64 timer_errors;
};
struct ktstr_stats stats;

struct ktstr_exit_info {
	s32 kind;
	s32 exit_cpu;
	s64 exit_code;
	char reason[128];
	char msg[1024];
	char dump[DUMP_LEN];
};
struct ktstr_exit_info uei;

/* Fault (f): when each held task was enqueued. */
struct task_ctx {
	u64 enq_at;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_ctx);
} task_ctxs SEC(".maps");

/* Fault (f): one timer per CPU, kicking it when its queue head is due. */
struct kick_timer {
	struct bpf_timer timer;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_CPUS);
	__type(key, u32);
	__type(value, struct kick_timer);
} kick_timers SEC(".maps");

#define count(field) __sync_fetch_and_add(&stats.field, 1)

enum task_class {
	CLASS_NORMAL,
	CLASS_STALL,
	CLASS_ESCAPE,
	CLASS_PIN,
	CLASS_ONE_CPU,
	CLASS_LOW,
	CLASS_SLOW,
};

static __always_inline u64 since_start(void)
{
	return bpf_ktime_get_ns() - start_ns;
}

static __always_inline bool stopped(void)
{
	return stop_dispatch || (stop_after_ns && since_start() >= stop_after_ns);
}

/* time_faults raises faults (e) and (e') once their time has come. */
static __always_inline void time_faults(void)
{
	u64 t;

	if (!error_after_ns && !exit_after_ns)
		return;
	t = since_start();
	if (error_after_ns && t >= error_after_ns)
		scx_bpf_error("ktstr: injected error %llu ms after loading (--error-after)",
			      error_after_ns / 1000000);
	if (exit_after_ns && t >= exit_after_ns)
		scx_bpf_exit(EXIT_CODE, "ktstr: injected exit %llu ms after loading (--exit-after)",
			     exit_after_ns / 1000000);
}

/* cgroup_class reports which of the cgroup faults' cgroups p is in, if any. */
static int cgroup_class(struct task_struct *p)
{
	u64 stall = stall_cgid, escape = escape_cgid, pin = pin_cgid, slow = slow_cgid;
	struct cgroup *cg;
	int i;

	if (!stall && !escape && !pin && !slow)
		return CLASS_NORMAL;
	cg = p->cgroups->dfl_cgrp;
	for (i = 0; i < CGROUP_DEPTH && cg; i++) {
		u64 id = cg->kn->id;

		if (stall && id == stall)
			return CLASS_STALL;
		if (escape && id == escape)
			return CLASS_ESCAPE;
		if (pin && id == pin)
			return CLASS_PIN;
		if (slow_ns && slow && id == slow)
			return CLASS_SLOW;
		if (!cg->self.parent)
			break;
		cg = cg->self.parent->cgroup;
	}
	return CLASS_NORMAL;
}

static __always_inline bool dying(struct task_struct *p)
{
	return p->pending.signal.sig[0] & (1UL << (SIGKILL - 1));
}

static __always_inline int classify(struct task_struct *p)
{
	int c = CLASS_NORMAL;

	if (cgroup_faults)
		c = cgroup_class(p);
	if (c == CLASS_NORMAL && starve_below_weight && p->scx.weight < starve_below_weight &&
	    !dying(p))
		c = CLASS_LOW;
	/*
	 * Before the slow fault for every task: one_cpu takes every task there
	 * is, and a task held in SLOW_DSQ would later join the shared DSQ,
	 * which one_cpu's tasks never use. (The loader refuses the two
	 * together.)
	 */
	if (c == CLASS_NORMAL && one_cpu)
		c = CLASS_ONE_CPU;
	if (c == CLASS_NORMAL && slow_ns && !slow_by_cgroup)
		c = CLASS_SLOW;
	return c;
}

/* cpu_outside returns a CPU p may not run on, or -1. */
static s32 cpu_outside(struct task_struct *p)
{
	u32 n = scx_bpf_nr_cpu_ids();
	u32 cpu;

	for (cpu = 0; cpu < MAX_CPUS && cpu < n; cpu++)
		if (!bpf_cpumask_test_cpu(cpu, p->cpus_ptr))
			return cpu;
	return -1;
}

/* first_allowed returns the lowest CPU p may run on, or -1. */
static s32 first_allowed(struct task_struct *p)
{
	u32 n = scx_bpf_nr_cpu_ids();
	u32 cpu;

	for (cpu = 0; cpu < MAX_CPUS && cpu < n; cpu++)
		if (bpf_cpumask_test_cpu(cpu, p->cpus_ptr))
			return cpu;
	return -1;
}

/* vtime_of is p's virtual time, with at most one slice of credit. */
static __always_inline u64 vtime_of(struct task_struct *p)
{
	u64 vtime = p->scx.dsq_vtime;

	if ((s64)(vtime - (vtime_now - SCX_SLICE_DFL)) < 0)
		vtime = vtime_now - SCX_SLICE_DFL;
	return vtime;
}

/*
 * kick_idle wakes an idle CPU p may run on, if there is one, to take p from
 * the shared DSQ: a task queued there does not by itself wake idle CPUs.
 */
static __always_inline void kick_idle(struct task_struct *p)
{
	s32 cpu = scx_bpf_pick_idle_cpu(p->cpus_ptr, 0);

	if (cpu >= 0)
		scx_bpf_kick_cpu(cpu, SCX_KICK_IDLE);
}

s32 BPF_STRUCT_OPS(ktstr_select_cpu, struct task_struct *p, s32 prev_cpu, u64 wake_flags)
{
	bool is_idle = false;
	s32 cpu;
	int c;

	/*
	 * Fault (c''): wake the task on the CPU ktstr_enqueue() will queue it
	 * on, so that it is not moved twice. scx_bpf_select_cpu_dfl() is not
	 * asked first: it would claim an idle CPU that then stays unused.
	 */
	if (one_cpu && classify(p) == CLASS_ONE_CPU) {
		cpu = first_allowed(p);
		if (cpu >= 0)
			return cpu;
	}

	cpu = scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &is_idle);
	if (!is_idle || stopped())
		return cpu;
	/* A wake-up: the slow fault does not hold it. */
	c = classify(p);
	if (c == CLASS_NORMAL || c == CLASS_SLOW) {
		scx_bpf_dsq_insert___v2(p, SCX_DSQ_LOCAL, SCX_SLICE_DFL, 0);
		count(direct);
	}
	return cpu;
}

void BPF_STRUCT_OPS(ktstr_enqueue, struct task_struct *p, u64 enq_flags)
{
	struct task_ctx *tctx;
	s32 cpu;

	time_faults();
	count(enqueued);
	switch (classify(p)) {
	case CLASS_STALL:
		scx_bpf_dsq_insert___v2(p, STALL_DSQ, SCX_SLICE_DFL, enq_flags);
		count(stalled);
		return;
	case CLASS_ESCAPE:
		cpu = cpu_outside(p);
		if (cpu >= 0) {
			count(escaped);
			scx_bpf_dsq_insert___v2(p, SCX_DSQ_LOCAL_ON | cpu, SCX_SLICE_DFL, enq_flags);
			return;
		}
		break;
	case CLASS_PIN:
		cpu = first_allowed(p);
		if (cpu >= 0) {
			count(pinned);
			scx_bpf_dsq_insert___v2(p, SCX_DSQ_LOCAL_ON | cpu, SCX_SLICE_DFL, enq_flags);
			return;
		}
		break;
	case CLASS_ONE_CPU:
		/*
		 * Wake-ups and expired slices alike: the first allowed CPU's
		 * local DSQ is a FIFO served round-robin with the default
		 * slice, so every task there, one with SIGKILL pending too,
		 * runs within (tasks queued) x slice: slow, but no stall for
		 * the watchdog and no task unable to die. Exiting and
		 * migration-disabled tasks never get here: without
		 * SCX_OPS_ENQ_EXITING and SCX_OPS_ENQ_MIGRATION_DISABLED in
		 * the ops, the kernel puts them on their own CPU's local DSQ
		 * itself (moving a migration-disabled task elsewhere would get
		 * the scheduler ejected).
		 */
		cpu = first_allowed(p);
		if (cpu >= 0) {
			count(one_cpu);
			scx_bpf_dsq_insert___v2(p, SCX_DSQ_LOCAL_ON | cpu, SCX_SLICE_DFL, enq_flags);
			return;
		}
		break;
	case CLASS_LOW:
		count(starved);
		scx_bpf_dsq_insert_vtime(p, LOW_DSQ, SCX_SLICE_DFL, p->scx.dsq_vtime, enq_flags);
		return;
	case CLASS_SLOW:
		if (enq_flags & SCX_ENQ_WAKEUP)
			break;
		tctx = bpf_task_storage_get(&task_ctxs, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (tctx) {
			tctx->enq_at = bpf_ktime_get_ns();
			/* Queued in arrival order, never at the head. */
			scx_bpf_dsq_insert___v2(p, SLOW_DSQ, SCX_SLICE_DFL, enq_flags & ~SCX_ENQ_HEAD);
			return;
		}
		break;
	}

	/* A task that slept long gets at most one slice of credit. */
	scx_bpf_dsq_insert_vtime(p, SHARED_DSQ, SCX_SLICE_DFL, vtime_of(p), enq_flags);
	kick_idle(p);
}

/* release_dying moves killed low-weight tasks to cpu so that they can exit. */
static void release_dying(s32 cpu)
{
	struct bpf_iter_scx_dsq it;
	struct task_struct *p;

	if (bpf_iter_scx_dsq_new(&it, LOW_DSQ, 0) == 0) {
		while ((p = bpf_iter_scx_dsq_next(&it))) {
			if (dying(p) && bpf_cpumask_test_cpu(cpu, p->cpus_ptr) &&
			    scx_bpf_dsq_move(&it, p, SCX_DSQ_LOCAL, 0))
				count(released);
		}
	}
	bpf_iter_scx_dsq_destroy(&it);
}

static int kick_fn(void *map, int *key, struct kick_timer *kt)
{
	count(kicks);
	scx_bpf_kick_cpu(*key, SCX_KICK_IDLE);
	return 0;
}

/*
 * release_due moves the held tasks that have waited slow_ns to the shared
 * DSQ, where they compete by virtual time with the rest, and kicks an idle
 * CPU for each. While tasks are still held it arms cpu's
 * timer for when the first of them will be due.
 */
static void release_due(s32 cpu)
{
	struct bpf_iter_scx_dsq it;
	struct task_struct *p;
	u64 now = bpf_ktime_get_ns(), wait = 0;

	if (bpf_iter_scx_dsq_new(&it, SLOW_DSQ, 0) == 0) {
		while ((p = bpf_iter_scx_dsq_next(&it))) {
			struct task_ctx *tctx = bpf_task_storage_get(&task_ctxs, p, 0, 0);
			u64 due = tctx ? tctx->enq_at + slow_ns : 0;

			if (due > now) {
				if (!wait || due - now < wait)
					wait = due - now;
				continue;
			}
			scx_bpf_dsq_move_set_vtime(&it, vtime_of(p));
			if (scx_bpf_dsq_move_vtime(&it, p, SHARED_DSQ, 0)) {
				count(unheld);
				kick_idle(p);
			}
		}
	}
	bpf_iter_scx_dsq_destroy(&it);

	if (wait) {
		u32 key = cpu;
		struct kick_timer *kt = bpf_map_lookup_elem(&kick_timers, &key);

		count(held);
		if (!kt || bpf_timer_start(&kt->timer, wait, 0))
			count(timer_errors);
	}
}

void BPF_STRUCT_OPS(ktstr_dispatch, s32 cpu, struct task_struct *prev)
{
	time_faults();
	if (stopped())
		return;
	if (starve_below_weight)
		release_dying(cpu);
	if (slow_ns)
		release_due(cpu);
	if (scx_bpf_dsq_move_to_local___v2(SHARED_DSQ, 0)) {
		count(dispatched);
		return;
	}
	if (starve_below_weight) {
		/* Low-weight tasks only get a CPU nothing else wants. */
		if (prev && (prev->scx.flags & SCX_TASK_QUEUED))
			return;
		if (scx_bpf_dsq_move_to_local___v2(LOW_DSQ, 0))
			count(dispatched);
	}
}

void BPF_STRUCT_OPS(ktstr_tick, struct task_struct *p)
{
	time_faults();
}

void BPF_STRUCT_OPS(ktstr_running, struct task_struct *p)
{
	if ((s64)(p->scx.dsq_vtime - vtime_now) > 0)
		vtime_now = p->scx.dsq_vtime;
}

void BPF_STRUCT_OPS(ktstr_stopping, struct task_struct *p, bool runnable)
{
	u64 used;

	used = p->scx.slice < SCX_SLICE_DFL ? SCX_SLICE_DFL - p->scx.slice : 0;
	scx_bpf_task_set_dsq_vtime(p, p->scx.dsq_vtime + used * 100 / p->scx.weight);
}

void BPF_STRUCT_OPS(ktstr_enable, struct task_struct *p)
{
	scx_bpf_task_set_dsq_vtime(p, vtime_now);
}

void BPF_STRUCT_OPS(ktstr_dump, struct scx_dump_ctx *dctx)
{
	scx_bpf_dump("ktstr: queued: shared %d, stalled %d, low-weight %d, held %d\n",
		     scx_bpf_dsq_nr_queued(SHARED_DSQ), scx_bpf_dsq_nr_queued(STALL_DSQ),
		     scx_bpf_dsq_nr_queued(LOW_DSQ), scx_bpf_dsq_nr_queued(SLOW_DSQ));
	scx_bpf_dump("ktstr: faults: stall cgroup %llu, escape cgroup %llu, pin cgroup %llu, slow cgroup %llu\n",
		     stall_cgid, escape_cgid, pin_cgid, slow_cgid);
	scx_bpf_dump("ktstr: faults: stop after %llu ns, stop dispatch %d, starve below weight %u, slow %llu ns, one cpu %d\n",
		     stop_after_ns, stop_dispatch, starve_below_weight, slow_ns, one_cpu);
}

s32 BPF_STRUCT_OPS_SLEEPABLE(ktstr_init)
{
	s32 ret;
	u32 i, n;

	start_ns = bpf_ktime_get_ns();
	ret = scx_bpf_create_dsq(SHARED_DSQ, -1);
	if (ret)
		return ret;
	ret = scx_bpf_create_dsq(STALL_DSQ, -1);
	if (ret)
		return ret;
	ret = scx_bpf_create_dsq(LOW_DSQ, -1);
	if (ret)
		return ret;
	ret = scx_bpf_create_dsq(SLOW_DSQ, -1);
	if (ret)
		return ret;
	if (slow_ns) {
		n = scx_bpf_nr_cpu_ids();
		for (i = 0; i < MAX_CPUS && i < n; i++) {
			u32 key = i;
			struct kick_timer *kt = bpf_map_lookup_elem(&kick_timers, &key);

			if (!kt)
				return -22; /* EINVAL: more CPUs than MAX_CPUS */
			if (bpf_timer_init(&kt->timer, &kick_timers, CLOCK_MONOTONIC) ||
			    bpf_timer_set_callback(&kt->timer, kick_fn))
				count(timer_errors);
		}
	}
	return 0;
}

void BPF_STRUCT_OPS(ktstr_exit, struct scx_exit_info *ei)
{
	bpf_probe_read_kernel_str(uei.reason, sizeof(uei.reason), ei->reason);
	bpf_probe_read_kernel_str(uei.msg, sizeof(uei.msg), ei->msg);
	bpf_probe_read_kernel_str(uei.dump, sizeof(uei.dump), ei->dump);
	uei.exit_code = ei->exit_code;
	uei.exit_cpu = ei->exit_cpu;
	/* Last: the loader takes a non-zero kind as "the rest is written". */
	__sync_val_compare_and_swap(&uei.kind, uei.kind, ei->kind);
}

SEC(".struct_ops.link")
struct sched_ext_ops ktstr_ops = {
	.select_cpu = (void *)ktstr_select_cpu,
	.enqueue = (void *)ktstr_enqueue,
	.dispatch = (void *)ktstr_dispatch,
	.tick = (void *)ktstr_tick,
	.running = (void *)ktstr_running,
	.stopping = (void *)ktstr_stopping,
	.enable = (void *)ktstr_enable,
	.dump = (void *)ktstr_dump,
	.init = (void *)ktstr_init,
	.exit = (void *)ktstr_exit,
	.exit_dump_len = DUMP_LEN,
	.name = "ktstr",
};
