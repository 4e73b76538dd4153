// Package plan is the scenario language as data, and its planner: the
// types package scenario re-exports (CgroupDef, Step, Backdrop, Cpuset,
// Hold, Op), their validation against a topology and a test duration
// ([Prepare]), the resolved [Plan] and its description.
//
// Nothing here runs anything. Package scenario carries a Plan out inside
// the guest; the ktstr command prepares and prints plans on the host. So
// that the command need not link the root package (and with it the
// testing package and the guest and host runtimes), this package imports
// neither: topologies are cputopo.Topology, which ktstr.CPUTopology
// aliases, and a [Do] operation's context is opaque.
//
// The user-facing documentation of each type is in package scenario.
package plan
