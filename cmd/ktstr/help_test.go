package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandHasHelp walks the command tree: every command a user can
// run has a one-line summary, a long description and an example of its
// use, which --help shows.
func TestEveryCommandHasHelp(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if c.Hidden || c.Name() == "help" || (c.Parent() != nil && c.Parent().Name() == "completion") {
			return
		}
		if c.Short == "" || c.Long == "" || !strings.Contains(c.Example, "ktstr ") {
			t.Errorf("%q: Short %q, Long %d bytes, Example %q; want all three, the example a ktstr command line", c.CommandPath(), c.Short, len(c.Long), c.Example)
		}
	}
	walk(rootCmd())
}

// TestCompletion asks the command tree for completions as a shell does
// (cobra's hidden __complete command): topology flags offer the gauntlet's
// presets, and every VM command's --kernel and --scheduler complete.
func TestCompletion(t *testing.T) {
	complete := func(args ...string) string {
		root := rootCmd()
		var out strings.Builder
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(append([]string{cobra.ShellCompRequestCmd}, args...))
		if err := root.Execute(); err != nil {
			t.Fatalf("__complete %q: %v", args, err)
		}
		return out.String()
	}
	for _, cmd := range []string{"shell", "run", "verifier"} {
		if out := complete(cmd, "--topology", ""); !strings.Contains(out, "1n2l2c1t\n") {
			t.Errorf("%s --topology completes to %q; want the presets", cmd, out)
		}
	}
	for _, c := range [][]string{{"shell", "--kernel", ""}, {"run", "--scheduler", ""}, {"test", "--kernel", ""}} {
		if out := complete(c...); strings.Contains(out, "ShellCompDirectiveError") {
			t.Errorf("%q: %s", c, out)
		}
	}
}
