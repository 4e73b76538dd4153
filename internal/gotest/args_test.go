package gotest

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	for _, c := range []struct {
		in                       string
		flags, pkgs, bin         string
		verbose, json, dashdashA bool
		command                  string
	}{
		{in: "", command: "test -json ./..."},
		{in: "./examples/demo/", pkgs: "./examples/demo/", command: "test -json ./examples/demo/"},
		{
			in:    "-run TestX -v -count=1 ./a ./b/...",
			flags: "-run TestX -v -count=1", pkgs: "./a ./b/...", verbose: true,
			command: "test -json -run TestX -v -count=1 ./a ./b/...",
		},
		{
			// A value that looks like a package is still the flag's.
			in:    "-run ./x -timeout 30m -tags netgo ./pkg",
			flags: "-run ./x -timeout 30m -tags netgo", pkgs: "./pkg",
			command: "test -json -run ./x -timeout 30m -tags netgo ./pkg",
		},
		{
			in:    "-json -v=false -test.run=TestA -test.v ./p",
			flags: "-json -v=false -test.run=TestA -test.v", pkgs: "./p", json: true, verbose: true,
			command: "test -json -json -v=false -test.run=TestA -test.v ./p",
		},
		{in: "-v=false", flags: "-v=false", command: "test -json -v=false ./..."},
		{in: "--json=false", flags: "--json=false", command: "test -json --json=false ./..."},
		{
			// Packages after flags, and -args for the test binary.
			in:    "./p -short -args -kernel x ./notapkg",
			flags: "-short", pkgs: "./p", bin: "-kernel x ./notapkg", dashdashA: true,
			command: "test -json -short ./p -args -kernel x ./notapkg",
		},
		{
			in:        "-args",
			dashdashA: true,
			command:   "test -json ./... -args",
		},
		{
			// -C must come first of go's flags.
			in:    "-run X -C sub ./p",
			flags: "-run X", pkgs: "./p",
			command: "test -C sub -json -run X ./p",
		},
	} {
		a := ParseArgs(strings.Fields(c.in))
		check := func(what string, got []string, want string) {
			if strings.Join(got, " ") != want {
				t.Errorf("%q: %s = %q, want %q", c.in, what, got, want)
			}
		}
		check("flags", a.Flags, c.flags)
		check("packages", a.Packages, c.pkgs)
		check("binary args", a.BinaryArgs, c.bin)
		if a.Verbose != c.verbose || a.JSON != c.json || a.HasArgs != c.dashdashA {
			t.Errorf("%q: verbose=%v json=%v args=%v", c.in, a.Verbose, a.JSON, a.HasArgs)
		}
		check("command", a.Command("./..."), c.command)
	}
}

func TestParseArgsKeepsWords(t *testing.T) {
	// Words with spaces pass through as one.
	in := []string{"-run", "TestX/1n2l2c1t$", "-ldflags", "-X main.v=1 -s", "./p"}
	a := ParseArgs(in)
	if want := []string{"test", "-json", "-run", "TestX/1n2l2c1t$", "-ldflags", "-X main.v=1 -s", "./p"}; !reflect.DeepEqual(a.Command(), want) {
		t.Errorf("%q", a.Command())
	}
}
