package ktstr

// Hooks for the external test package (faults_test.go), which imports
// packages that import this one.
var (
	ExpectFailure = expectFailure
	InGuest       = inGuest
)
