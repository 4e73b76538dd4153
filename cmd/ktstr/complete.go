package main

import (
	"slices"

	"github.com/spf13/cobra"

	"github.com/ktstr-go/ktstr/internal/gauntlet"
	"github.com/ktstr-go/ktstr/internal/kernel"
	"github.com/ktstr-go/ktstr/internal/scx"
)

// Shell completion of flag values (ktstr completion bash|zsh|fish), from
// what this machine has: cached kernels, built schedulers, and the
// gauntlet's topology presets. A cache that cannot be read completes to
// nothing; the command itself says why when it runs.

// completeKernels offers the cache keys of the cached kernels.
func completeKernels(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	dir, err := kernel.CacheDir()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	entries, _ := kernel.List(dir)
	var keys []string
	for _, e := range entries {
		if e.Damage == nil {
			keys = append(keys, e.Key)
		}
	}
	// A kernel may also be an image or a source tree.
	return keys, cobra.ShellCompDirectiveDefault
}

// completeSchedulers offers the names of the built schedulers; a path
// completes as files.
func completeSchedulers(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	dir, err := scx.SchedDir()
	if err != nil {
		return nil, cobra.ShellCompDirectiveDefault
	}
	builds, _ := scx.List(dir)
	var names []string
	for _, b := range builds {
		for _, n := range b.Binaries {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	slices.Sort(names)
	return names, cobra.ShellCompDirectiveDefault
}

// completeTopologies offers the gauntlet presets' labels, smallest first.
func completeTopologies(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	var labels []string
	for _, p := range gauntlet.Presets() {
		if l := p.Label(); !slices.Contains(labels, l) {
			labels = append(labels, l)
		}
	}
	return labels, cobra.ShellCompDirectiveNoFileComp
}

// completeVMFlags registers the completions of c's VM flags it has.
func completeVMFlags(c *cobra.Command) {
	for flag, f := range map[string]cobra.CompletionFunc{
		"kernel": completeKernels, "scheduler": completeSchedulers, "topology": completeTopologies,
	} {
		if c.Flags().Lookup(flag) != nil {
			_ = c.RegisterFlagCompletionFunc(flag, f)
		}
	}
}
