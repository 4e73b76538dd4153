package ktstr

// ExpectFailure is expectFailure for the external test package
// (faults_test.go, watchdog_test.go), which imports packages that import
// this one.
var ExpectFailure = expectFailure

// VMTest is vmTest for the external test package: it boots the first
// variant of spec and hands the outcome to judge.
var VMTest = vmTest
