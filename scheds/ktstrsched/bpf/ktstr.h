/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few declarations ktstr.bpf.c needs beyond vmlinux.h: section and map
 * macros, the BPF helpers and the sched_ext kfuncs it calls.
 *
 * The kernel tree's own sched_ext headers (tools/sched_ext/include) are not
 * used: their compat fallbacks declare the same kfuncs twice, which
 * github.com/cilium/ebpf v0.22.0 rejects. Each kfunc here is declared with
 * the kernel's own prototype (from its BTF). Where the kernel has both a
 * plain and a "___v2" version of a kfunc, cilium/ebpf's BTF lookup reports
 * "multiple matching types" for the plain name, so the ___v2 one is used.
 */
#ifndef KTSTR_H
#define KTSTR_H

#include "vmlinux.h"

#define SEC(name) __attribute__((section(name), used))
#define __ksym __attribute__((section(".ksyms")))
#define __always_inline inline __attribute__((always_inline))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

#ifndef NULL
#define NULL ((void *)0)
#endif

#define CLOCK_MONOTONIC 1
#define SIGKILL 9

/* BPF helpers, by their numbers in include/uapi/linux/bpf.h. */
static void *(*const bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static __u64 (*const bpf_ktime_get_ns)(void) = (void *)5;
static __u32 (*const bpf_get_smp_processor_id)(void) = (void *)8;
static long (*const bpf_probe_read_kernel_str)(void *dst, __u32 size, const void *unsafe_ptr) = (void *)115;
static long (*const bpf_timer_init)(struct bpf_timer *timer, void *map, __u64 flags) = (void *)169;
static long (*const bpf_timer_set_callback)(struct bpf_timer *timer, void *callback_fn) = (void *)170;
static long (*const bpf_timer_start)(struct bpf_timer *timer, __u64 nsecs, __u64 flags) = (void *)171;
static void *(*const bpf_task_storage_get)(void *map, struct task_struct *task, void *value, __u64 flags) = (void *)156;

/* sched_ext kfuncs, as 7.3's BTF declares them. */
s32 scx_bpf_create_dsq(u64 dsq_id, s32 node) __ksym;
s32 scx_bpf_select_cpu_dfl(struct task_struct *p, s32 prev_cpu, u64 wake_flags, bool *is_idle) __ksym;
bool scx_bpf_dsq_insert___v2(struct task_struct *p, u64 dsq_id, u64 slice, u64 enq_flags) __ksym;
void scx_bpf_dsq_insert_vtime(struct task_struct *p, u64 dsq_id, u64 slice, u64 vtime, u64 enq_flags) __ksym;
bool scx_bpf_dsq_move_to_local___v2(u64 dsq_id, u64 enq_flags) __ksym;
bool scx_bpf_dsq_move(struct bpf_iter_scx_dsq *it__iter, struct task_struct *p, u64 dsq_id, u64 enq_flags) __ksym;
bool scx_bpf_dsq_move_vtime(struct bpf_iter_scx_dsq *it__iter, struct task_struct *p, u64 dsq_id, u64 enq_flags) __ksym;
void scx_bpf_dsq_move_set_vtime(struct bpf_iter_scx_dsq *it__iter, u64 vtime) __ksym;
s32 scx_bpf_dsq_nr_queued(u64 dsq_id) __ksym;
int bpf_iter_scx_dsq_new(struct bpf_iter_scx_dsq *it, u64 dsq_id, u64 flags) __ksym;
struct task_struct *bpf_iter_scx_dsq_next(struct bpf_iter_scx_dsq *it) __ksym;
void bpf_iter_scx_dsq_destroy(struct bpf_iter_scx_dsq *it) __ksym;
bool scx_bpf_task_set_dsq_vtime(struct task_struct *p, u64 vtime) __ksym;
void scx_bpf_kick_cpu(s32 cpu, u64 flags) __ksym;
s32 scx_bpf_pick_idle_cpu(const struct cpumask *cpus_allowed, u64 flags) __ksym;
u32 scx_bpf_nr_cpu_ids(void) __ksym;
void scx_bpf_error_bstr(char *fmt, unsigned long long *data, u32 data__sz) __ksym;
void scx_bpf_exit_bstr(s64 exit_code, char *fmt, unsigned long long *data, u32 data__sz) __ksym;
void scx_bpf_dump_bstr(char *fmt, unsigned long long *data, u32 data__sz) __ksym;
bool bpf_cpumask_test_cpu(u32 cpu, const struct cpumask *cpumask) __ksym;

/*
 * The kfuncs that take a format take its arguments as an array of u64; at
 * least one argument is required here.
 */
#define KTSTR_BSTR(kfunc, fmt, args...)                                          \
	({                                                                       \
		static char ___fmt[] = fmt;                                      \
		unsigned long long ___param[] = { args };                        \
		kfunc(___fmt, ___param, sizeof(___param));                       \
	})

#define scx_bpf_error(fmt, args...) KTSTR_BSTR(scx_bpf_error_bstr, fmt, args)
#define scx_bpf_dump(fmt, args...) KTSTR_BSTR(scx_bpf_dump_bstr, fmt, args)
#define scx_bpf_exit(code, fmt, args...)                                         \
	({                                                                       \
		static char ___fmt[] = fmt;                                      \
		unsigned long long ___param[] = { args };                        \
		scx_bpf_exit_bstr(code, ___fmt, ___param, sizeof(___param));     \
	})

/*
 * A struct_ops program gets its arguments as an array of u64; BPF_PROG
 * unpacks them into typed parameters (as libbpf's bpf_tracing.h does).
 */
#define ___ktstr_concat(a, b) a##b
#define ___ktstr_apply(fn, n) ___ktstr_concat(fn, n)
#define ___ktstr_nth(_, _1, _2, _3, _4, N, ...) N
#define ___ktstr_narg(...) ___ktstr_nth(_, ##__VA_ARGS__, 4, 3, 2, 1, 0)
#define ___ktstr_cast0() ctx
#define ___ktstr_cast1(x) ___ktstr_cast0(), (void *)ctx[0]
#define ___ktstr_cast2(x, args...) ___ktstr_cast1(args), (void *)ctx[1]
#define ___ktstr_cast3(x, args...) ___ktstr_cast2(args), (void *)ctx[2]
#define ___ktstr_cast4(x, args...) ___ktstr_cast3(args), (void *)ctx[3]
#define ___ktstr_cast(args...) ___ktstr_apply(___ktstr_cast, ___ktstr_narg(args))(args)

#define BPF_PROG(name, args...)                                                  \
	name(unsigned long long *ctx);                                           \
	static __always_inline typeof(name(0)) ____##name(unsigned long long *ctx, ##args); \
	typeof(name(0)) name(unsigned long long *ctx)                            \
	{                                                                        \
		_Pragma("GCC diagnostic push")                                   \
		_Pragma("GCC diagnostic ignored \"-Wint-conversion\"")          \
		return ____##name(___ktstr_cast(args));                          \
		_Pragma("GCC diagnostic pop")                                    \
	}                                                                        \
	static __always_inline typeof(name(0)) ____##name(unsigned long long *ctx, ##args)

#define BPF_STRUCT_OPS(name, args...) SEC("struct_ops/" #name) BPF_PROG(name, ##args)
#define BPF_STRUCT_OPS_SLEEPABLE(name, args...) SEC("struct_ops.s/" #name) BPF_PROG(name, ##args)

#endif /* KTSTR_H */
