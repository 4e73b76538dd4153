package scenario

import (
	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/internal/plan"
	"github.com/ktstr-go/ktstr/work"
)

// Op is one change a step makes when it begins (and, with an [Every]
// hold, again at every interval). Build one with its constructor:
// [AddCgroup], [RemoveCgroup], [SetCpuset], [ClearCpuset], [SwapCpusets],
// [Spawn], [StopCgroup], [SetAffinity], [SpawnHost], [MoveAllTasks] or
// [Do]. Its Kind method says which ([OpKind]); String describes it
// ("set-cpuset cg0 llc 1").
//
// What an Op does lasts until another Op undoes it or the scenario ends:
// a cgroup made by AddCgroup stays, with its workers, across the following
// steps until a RemoveCgroup (unlike a step's Defs, which end with the
// step). Cgroup names are relative to the harness's cgroup parent; an Op
// may name a cgroup of the [Backdrop], one an earlier Op made, or, for
// StopCgroup and SetAffinity, "" for the workers SpawnHost put in the
// parent cgroup.
type Op = plan.Op

// OpKind names what an [Op] does.
type OpKind = plan.OpKind

// The operation kinds.
const (
	OpAddCgroup    = plan.OpAddCgroup
	OpRemoveCgroup = plan.OpRemoveCgroup
	OpSetCpuset    = plan.OpSetCpuset
	OpClearCpuset  = plan.OpClearCpuset
	OpSwapCpusets  = plan.OpSwapCpusets
	OpSpawn        = plan.OpSpawn
	OpStopCgroup   = plan.OpStopCgroup
	OpSetAffinity  = plan.OpSetAffinity
	OpSpawnHost    = plan.OpSpawnHost
	OpMoveAllTasks = plan.OpMoveAllTasks
	OpDo           = plan.OpDo
)

// AddCgroup creates cgroup name, with no cpuset and no workers; nested
// names ("a/b") create their parents too.
func AddCgroup(name string) Op { return plan.AddCgroup(name) }

// RemoveCgroup stops the workers in cgroup name and its children, collects
// their reports and removes the cgroups. Backdrop cgroups cannot be
// removed.
func RemoveCgroup(name string) Op { return plan.RemoveCgroup(name) }

// SetCpuset sets the cpuset of cgroup name, resolved against the guest's
// topology. Workers already running there are from then on allowed these
// CPUs too, as far as the isolation check is concerned.
func SetCpuset(name string, cpus Cpuset) Op { return plan.SetCpuset(name, cpus) }

// ClearCpuset removes the cpuset of cgroup name: it inherits its parent's.
// Workers that ran there unrestricted are not checked for isolation.
func ClearCpuset(name string) Op { return plan.ClearCpuset(name) }

// SwapCpusets exchanges the cpusets of cgroups a and b (a cgroup without
// one gives the other none).
func SwapCpusets(a, b string) Op { return plan.SwapCpusets(a, b) }

// Spawn starts the workers of g in cgroup name. When the step begins they
// start together with the step's other workers; when an [Every] hold
// repeats the operation, at once. They run until their cgroup is removed,
// a StopCgroup, or the end of the scenario.
func Spawn(name string, g work.Group) Op { return plan.Spawn(name, g) }

// StopCgroup stops the workers in cgroup name (not those of its children)
// and collects their reports; the cgroup stays. "" stops the workers
// SpawnHost started.
func StopCgroup(name string) Op { return plan.StopCgroup(name) }

// SetAffinity pins the running workers of cgroup name with
// sched_setaffinity, every thread of every worker, to the CPUs a resolves
// to (against the cgroup's cpuset and the guest topology, workers dealt in
// order as at spawn). [work.Inherit] unpins them: every CPU, within the
// cpuset. Work types that set their own affinity (affinity-churn) override
// it. "" pins the workers SpawnHost started.
func SetAffinity(name string, a work.Affinity) Op { return plan.SetAffinity(name, a) }

// SpawnHost starts the workers of g in the harness's parent cgroup, outside
// every scenario cgroup and cpuset: host contention. They run until a
// StopCgroup("") or the end of the scenario; their reports form the group
// "" ("(parent)" in messages).
func SpawnHost(g work.Group) Op { return plan.SpawnHost(g) }

// MoveAllTasks moves every process of cgroup from (workers and whatever
// they forked, not its children's) into cgroup to. The moved workers are
// from then on allowed the CPUs of to's cpuset as well, and belong to to
// for StopCgroup, SetAffinity and removal; their reports stay in the group
// of the cgroup they were spawned in.
func MoveAllTasks(from, to string) Op { return plan.MoveAllTasks(from, to) }

// Do runs f inside the guest as an operation of the step, for what the
// other operations do not cover (freezing a cgroup, writing a sysctl,
// misbehaving on purpose); desc names it in errors and descriptions. An
// error from f stops the scenario.
func Do(desc string, f func(ctx *ktstr.Ctx) error) Op {
	if f == nil {
		// Left nil, so that Prepare reports the missing function.
		return plan.Do(desc, nil)
	}
	// The planner keeps the context opaque (it must not import ktstr);
	// the executor hands it the *ktstr.Ctx it runs with.
	return plan.Do(desc, func(ctx any) error { return f(ctx.(*ktstr.Ctx)) })
}
