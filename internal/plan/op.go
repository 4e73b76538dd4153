package plan

import (
	"fmt"

	"github.com/ktstr-go/ktstr/work"
)

// Op is one change a step makes when it begins (and, with an [Every]
// hold, again at every interval). Build one with its constructor:
// [AddCgroup], [RemoveCgroup], [SetCpuset], [ClearCpuset], [SwapCpusets],
// [Spawn], [StopCgroup], [SetAffinity], [SpawnHost], [MoveAllTasks] or
// [Do].
//
// What an Op does lasts until another Op undoes it or the scenario ends:
// a cgroup made by AddCgroup stays, with its workers, across the following
// steps until a RemoveCgroup (unlike a step's Defs, which end with the
// step). Cgroup names are relative to the harness's cgroup parent; an Op
// may name a cgroup of the [Backdrop], one an earlier Op made, or, for
// StopCgroup and SetAffinity, "" for the workers SpawnHost put in the
// parent cgroup.
type Op struct {
	kind     OpKind
	cgroup   string
	other    string
	cpuset   Cpuset
	group    work.Group
	affinity work.Affinity
	desc     string
	fn       func(ctx any) error
}

// OpKind names what an [Op] does.
type OpKind string

// The operation kinds.
const (
	OpAddCgroup    OpKind = "add-cgroup"
	OpRemoveCgroup OpKind = "remove-cgroup"
	OpSetCpuset    OpKind = "set-cpuset"
	OpClearCpuset  OpKind = "clear-cpuset"
	OpSwapCpusets  OpKind = "swap-cpusets"
	OpSpawn        OpKind = "spawn"
	OpStopCgroup   OpKind = "stop-cgroup"
	OpSetAffinity  OpKind = "set-affinity"
	OpSpawnHost    OpKind = "spawn-host"
	OpMoveAllTasks OpKind = "move-all-tasks"
	OpDo           OpKind = "do"
)

// AddCgroup creates cgroup name, with no cpuset and no workers; nested
// names ("a/b") create their parents too.
func AddCgroup(name string) Op { return Op{kind: OpAddCgroup, cgroup: name} }

// RemoveCgroup stops the workers in cgroup name and its children, collects
// their reports and removes the cgroups. Backdrop cgroups cannot be
// removed.
func RemoveCgroup(name string) Op { return Op{kind: OpRemoveCgroup, cgroup: name} }

// SetCpuset sets the cpuset of cgroup name, resolved against the guest's
// topology. Workers already running there are from then on allowed these
// CPUs too, as far as the isolation check is concerned.
func SetCpuset(name string, cpus Cpuset) Op {
	return Op{kind: OpSetCpuset, cgroup: name, cpuset: cpus}
}

// ClearCpuset removes the cpuset of cgroup name: it inherits its parent's.
// Workers that ran there unrestricted are not checked for isolation.
func ClearCpuset(name string) Op { return Op{kind: OpClearCpuset, cgroup: name} }

// SwapCpusets exchanges the cpusets of cgroups a and b (a cgroup without
// one gives the other none).
func SwapCpusets(a, b string) Op { return Op{kind: OpSwapCpusets, cgroup: a, other: b} }

// Spawn starts the workers of g in cgroup name. When the step begins they
// start together with the step's other workers; when an [Every] hold
// repeats the operation, at once. They run until their cgroup is removed,
// a StopCgroup, or the end of the scenario.
func Spawn(name string, g work.Group) Op { return Op{kind: OpSpawn, cgroup: name, group: g} }

// StopCgroup stops the workers in cgroup name (not those of its children)
// and collects their reports; the cgroup stays. "" stops the workers
// SpawnHost started.
func StopCgroup(name string) Op { return Op{kind: OpStopCgroup, cgroup: name} }

// SetAffinity pins the running workers of cgroup name with
// sched_setaffinity, every thread of every worker, to the CPUs a resolves
// to (against the cgroup's cpuset and the guest topology, workers dealt in
// order as at spawn). [work.Inherit] unpins them: every CPU, within the
// cpuset. Work types that set their own affinity (affinity-churn) override
// it. "" pins the workers SpawnHost started.
func SetAffinity(name string, a work.Affinity) Op {
	return Op{kind: OpSetAffinity, cgroup: name, affinity: a}
}

// SpawnHost starts the workers of g in the harness's parent cgroup, outside
// every scenario cgroup and cpuset: host contention. They run until a
// StopCgroup("") or the end of the scenario; their reports form the group
// "" ("(parent)" in messages).
func SpawnHost(g work.Group) Op { return Op{kind: OpSpawnHost, group: g} }

// MoveAllTasks moves every process of cgroup from (workers and whatever
// they forked, not its children's) into cgroup to. The moved workers are
// from then on allowed the CPUs of to's cpuset as well, and belong to to
// for StopCgroup, SetAffinity and removal; their reports stay in the group
// of the cgroup they were spawned in.
func MoveAllTasks(from, to string) Op { return Op{kind: OpMoveAllTasks, cgroup: from, other: to} }

// Do runs f inside the guest as an operation of the step, for what the
// other operations do not cover (freezing a cgroup, writing a sysctl,
// misbehaving on purpose); desc names it in errors and descriptions. An
// error from f stops the scenario.
//
// f gets the context of whoever executes the plan: package scenario, whose
// Do is the one users call, passes its *ktstr.Ctx. The planner only checks
// that f is there; it takes any so that this package need not import the
// root package.
func Do(desc string, f func(ctx any) error) Op { return Op{kind: OpDo, desc: desc, fn: f} }

// Kind returns what the operation does.
func (o Op) Kind() OpKind { return o.kind }

// String describes the operation, e.g. "set-cpuset cg0 llc 1" or
// "move-all-tasks a -> b".
func (o Op) String() string {
	switch o.kind {
	case OpAddCgroup, OpRemoveCgroup, OpClearCpuset:
		return fmt.Sprintf("%s %s", o.kind, o.cgroup)
	case OpStopCgroup:
		return fmt.Sprintf("%s %s", o.kind, opCgroupLabel(o.cgroup))
	case OpSetCpuset:
		return fmt.Sprintf("%s %s %s", o.kind, o.cgroup, o.cpuset)
	case OpSwapCpusets:
		return fmt.Sprintf("%s %s %s", o.kind, o.cgroup, o.other)
	case OpSpawn:
		return fmt.Sprintf("%s %s %v", o.kind, o.cgroup, o.group)
	case OpSetAffinity:
		return fmt.Sprintf("%s %s %v", o.kind, opCgroupLabel(o.cgroup), o.affinity)
	case OpSpawnHost:
		return fmt.Sprintf("%s %v", o.kind, o.group)
	case OpMoveAllTasks:
		return fmt.Sprintf("%s %s -> %s", o.kind, o.cgroup, o.other)
	case OpDo:
		return fmt.Sprintf("%s %q", o.kind, o.desc)
	}
	return "zero op"
}

func opCgroupLabel(name string) string {
	if name == "" {
		return "(parent)"
	}
	return name
}
