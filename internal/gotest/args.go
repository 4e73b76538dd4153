package gotest

import (
	"strconv"
	"strings"
)

// Args is a go test command line (what follows "go test") taken apart.
type Args struct {
	// Flags are the flags for go test and the test binaries, in order,
	// each with its value when it takes one as a separate word.
	Flags []string
	// Packages are the package patterns.
	Packages []string
	// Chdir is -C with its value, which go wants before every other flag.
	Chdir []string
	// BinaryArgs follow -args: they go to the test binaries unread.
	BinaryArgs []string
	// HasArgs says -args was given (even with nothing after it).
	HasArgs bool
	// Verbose is -v; JSON is -json.
	Verbose, JSON bool
}

// valueFlags are the go test flags, build and test, that take a value;
// given as "-flag value" the value is the next word. Every other flag is
// taken for a boolean one. Test flags may also be spelt "-test.flag".
var valueFlags = map[string]bool{
	// build flags (go help build)
	"C": true, "p": true, "asmflags": true, "buildmode": true, "compiler": true,
	"gccgoflags": true, "gcflags": true, "installsuffix": true, "ldflags": true,
	"mod": true, "modfile": true, "overlay": true, "pgo": true, "pkgdir": true,
	"tags": true, "toolexec": true, "covermode": true, "coverpkg": true,
	// go test's own (go help test)
	"exec": true, "o": true, "vet": true,
	// test binary flags (go help testflag)
	"bench": true, "benchtime": true, "count": true, "cpu": true, "fuzz": true,
	"fuzztime": true, "fuzzminimizetime": true, "list": true, "parallel": true,
	"run": true, "skip": true, "shuffle": true, "timeout": true,
	"coverprofile": true, "blockprofile": true, "blockprofilerate": true,
	"cpuprofile": true, "memprofile": true, "memprofilerate": true,
	"mutexprofile": true, "mutexprofilefraction": true, "outputdir": true,
	"trace": true,
}

// ParseArgs takes a go test command line apart. Words that are not flags
// or flag values are package patterns; "-args" ends the line for go test.
func ParseArgs(args []string) Args {
	var a Args
	for i := 0; i < len(args); i++ {
		w := args[i]
		if w == "-args" || w == "--args" {
			a.HasArgs = true
			a.BinaryArgs = append([]string(nil), args[i+1:]...)
			break
		}
		if len(w) < 2 || w[0] != '-' || w == "--" {
			a.Packages = append(a.Packages, w)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(w, "-"), "=")
		name = strings.TrimPrefix(name, "test.")
		flags := &a.Flags
		if name == "C" {
			flags = &a.Chdir
		}
		*flags = append(*flags, w)
		switch {
		case valueFlags[name]:
			if !hasValue && i+1 < len(args) {
				i++
				*flags = append(*flags, args[i])
			}
		case name == "v":
			// -test.v=test2json also means verbose.
			a.Verbose = !hasValue || value == "test2json" || parseBool(value)
		case name == "json":
			a.JSON = !hasValue || parseBool(value)
		}
	}
	return a
}

func parseBool(s string) bool {
	b, err := strconv.ParseBool(s)
	return err == nil && b
}

// Command returns the arguments of "go" that run the tests with -json:
// "test", -C when given (go wants it first), "-json", the other flags, the
// packages (defaults when there are none) and -args with what follows it.
func (a Args) Command(defaults ...string) []string {
	out := []string{"test"}
	out = append(out, a.Chdir...)
	out = append(out, "-json")
	out = append(out, a.Flags...)
	if len(a.Packages) > 0 {
		out = append(out, a.Packages...)
	} else {
		out = append(out, defaults...)
	}
	if a.HasArgs {
		out = append(out, "-args")
		out = append(out, a.BinaryArgs...)
	}
	return out
}
