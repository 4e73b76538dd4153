// Package scenario declares what happens in a ktstr test body as data:
// cgroups with cpusets and work groups, and steps that change them over
// time. The framework carries the steps out inside the guest, measures every
// worker and checks the result against scheduling properties.
package scenario
