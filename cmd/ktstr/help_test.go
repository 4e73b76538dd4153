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
