package plan

import "errors"

// Problem is one thing [Prepare] found wrong, with where it is in the
// scenario as indices, so that a caller holding the scenario's source (a
// scenario file) can point at the line that declared it. Prepare joins
// its problems with errors.Join; each is a *Problem unless it concerns the
// scenario as a whole ("no steps"). Error is the message, naming the step
// and the cgroup or operation as a Go programmer wrote them.
type Problem struct {
	// Step is the step's number from 1; 0 is the backdrop.
	Step int
	// Def is the number from 1 of the cgroup in the step's (or the
	// backdrop's) Defs, or 0.
	Def int
	// Op is the number from 1 of the operation in the step's Ops, or 0.
	Op int
	// Field is what is wrong in the def, the operation or the step:
	// "name", "cpuset", "work" (a work group, or the group a Spawn or
	// SpawnHost starts), "affinity" (a SetAffinity's) or "hold"; "" for
	// the def or the operation as a whole (a cgroup that does not exist).
	Field string
	// Work is the number from 1 of the work group in the def's Work when
	// Field is "work", or 0 when the def declares none and the default
	// group is at fault.
	Work int
	// Repeat marks an operation that fails only when an Every hold runs
	// it again.
	Repeat bool
	// Err is what is wrong, without the location.
	Err error

	msg string
}

// Error returns the message: the location in the words of package
// scenario ("step 2 \"grow\": cgroup cg1: ..."), then Err.
func (p *Problem) Error() string { return p.msg }

// Unwrap returns Err.
func (p *Problem) Unwrap() error { return p.Err }

// fieldError marks an operation's error as the fault of one of its
// fields, for [Problem.Field].
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

// opField returns the field an operation's error blames, or "".
func opField(err error) string {
	var fe *fieldError
	if errors.As(err, &fe) {
		return fe.field
	}
	return ""
}
