package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ktstr-go/ktstr/internal/catalog"
	"github.com/ktstr-go/ktstr/internal/cputopo"
	"github.com/ktstr-go/ktstr/internal/plan"
	"github.com/ktstr-go/ktstr/internal/topolabel"
)

// scenariosCmd is `ktstr scenarios`: the catalogue of ready scenarios, and
// what one of them does on a topology. It uses the catalogue and the
// planner behind package scenario, not the package itself, which would
// link the root package and the guest runtime into the command.
func scenariosCmd() *cobra.Command {
	var category, topo string
	var duration time.Duration
	c := &cobra.Command{
		Use:   "scenarios [NAME...]",
		Short: "List the catalogue of ready scenarios, or show what one runs on a topology",
		Long: `Without arguments, scenarios lists the catalogue of package scenario:
name, category and a one-line description of each ready scenario. A test
runs one with scenario.Lookup(name) and its Run method.

With names, it shows what each scenario runs on a topology (--topology,
as in test names) for a test of --duration: its steps, cgroups, cpusets
resolved to CPUs, work groups and operations, or why it does not fit.`,
		Example: `  ktstr scenarios
  ktstr scenarios --category cpuset
  ktstr scenarios cpuset/swap --topology 2n2l2c1t`,
		RunE: func(cmd *cobra.Command, names []string) error {
			if len(names) == 0 {
				return listScenarios(category)
			}
			t, err := topolabel.Parse(topo)
			if err != nil {
				return err
			}
			if duration <= 0 {
				return fmt.Errorf("--duration %v: must be positive", duration)
			}
			var errs []error
			for i, name := range names {
				s, err := catalog.Lookup(name)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				if i > 0 {
					fmt.Println()
				}
				fmt.Printf("%s: %s\n", s.Name, s.Description)
				gt := cputopo.Expected(t)
				b, steps := s.Build(gt, duration)
				p, err := plan.Prepare(gt, duration, b, steps...)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s does not fit %s:\n%w", s.Name, t, err))
					continue
				}
				fmt.Printf("on %s, %v:\n%s", t, duration, p)
			}
			return errors.Join(errs...)
		},
	}
	c.Flags().StringVar(&category, "category", "", "list only this category (basic, cpuset, dynamic, affinity, nested, stress, fairness, sched-class)")
	c.Flags().StringVar(&topo, "topology", "1n2l2c1t", "topology to show scenarios on: {nodes}n{llcs}l{cores}c{threads}t")
	c.Flags().DurationVar(&duration, "duration", 2*time.Second, "test duration to show scenarios for")
	return c
}

// listScenarios prints the catalogue as a table.
func listScenarios(category string) error {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tCATEGORY\tDESCRIPTION")
	var cats []string
	n := 0
	for _, s := range catalog.All() {
		if !slices.Contains(cats, s.Category) {
			cats = append(cats, s.Category)
		}
		if category != "" && s.Category != category {
			continue
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", s.Name, s.Category, s.Description)
		n++
	}
	if n == 0 {
		return fmt.Errorf("no scenarios in category %q (have: %s)", category, strings.Join(cats, ", "))
	}
	return w.Flush()
}
