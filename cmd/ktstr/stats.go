package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ktstr-go/ktstr/internal/report"
	"github.com/ktstr-go/ktstr/internal/stats"
	"github.com/ktstr-go/ktstr/sidecar"
)

// statsCmd is `ktstr stats`: listing, inspecting and comparing the
// sidecars test runs leave.
func statsCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "stats",
		Short: "List, inspect and compare test runs (their sidecar result files)",
		Long: `Every test variant writes a sidecar, {test}-{hash}.ktstr.json, into
{KTSTR_TARGET_DIR or <module root>/target}/ktstr/{kernel}-{project commit}/
(or $KTSTR_SIDECAR_DIR). These commands read them: by default every run
under the target directory, or the directories given with --dir (any
depth, so several CI jobs' downloaded artefacts read as one run).

Compare two sides, e.g. kernels:

  ktstr stats compare --a-kernel 7.2 --b-kernel 7.3

exits with status 1 when any metric regressed.`,
		Example: `  ktstr stats list
  ktstr stats compare --a-kernel 7.2 --b-kernel 7.3
  ktstr stats compare --a-flags none --b-flags short-slice --html cmp.html`,
	}
	c.AddCommand(statsListCmd(), statsListMetricsCmd(), statsListValuesCmd(), statsShowHostCmd(), statsCompareCmd())
	return c
}

// statsDirFlag adds the repeatable --dir flag.
func statsDirFlag(c *cobra.Command, dirs *[]string) {
	c.Flags().StringArrayVar(dirs, "dir", nil, "directory of sidecars, read recursively (repeatable; default: "+sidecar.RunsRoot()+")")
}

// statsRead reads the sidecars under dirs (the runs root when none). Files
// that cannot be read are reported on stderr and skipped, but a file of a
// newer schema is an error: comparing without it would mislead.
func statsRead(cmd *cobra.Command, dirs []string) ([]sidecar.Result, error) {
	if len(dirs) == 0 {
		dirs = []string{sidecar.RunsRoot()}
	}
	results, err := sidecar.ReadDir(dirs...)
	if err != nil {
		if errors.Is(err, sidecar.ErrNewerSchema) {
			return nil, err
		}
		var errs sidecar.ReadErrors
		if errors.As(err, &errs) {
			for _, e := range errs {
				if errors.Is(e, fs.ErrNotExist) && len(results) == 0 {
					continue // reported below as "no sidecars"
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "ktstr stats: skipped %v\n", e)
			}
		} else {
			return nil, err
		}
	}
	return results, nil
}

// statsNoSidecars is the error (or hint) when dirs hold no sidecars.
func statsNoSidecars(dirs []string) error {
	if len(dirs) == 0 {
		dirs = []string{sidecar.RunsRoot()}
	}
	return fmt.Errorf("no sidecars in %s: run tests first, or give --dir", strings.Join(dirs, ", "))
}

func statsJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func statsListCmd() *cobra.Command {
	var dirs []string
	var asJSON bool
	c := &cobra.Command{
		Use:   "list",
		Short: "List runs (directories of sidecars), newest first",
		Long: `list shows each run under the target directory (or --dir): its kernel,
project commit, when it ran, and how many variants passed, failed and were
skipped.`,
		Example: `  ktstr stats list
  ktstr stats list --dir ci-artefacts/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			results, err := statsRead(cmd, dirs)
			if err != nil {
				return err
			}
			runs := stats.Runs(results)
			if asJSON {
				return statsJSON(cmd.OutOrStdout(), runs)
			}
			if len(runs) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), statsNoSidecars(dirs))
				return nil
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "RUN\tTESTS\tPASSED\tFAILED\tSKIPPED\tDATE\tARCH\tDIR")
			for _, r := range runs {
				date := stats.None
				if !r.First.IsZero() {
					date = r.First.Local().Format("2006-01-02 15:04:05")
				}
				fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n", r.Name, r.Tests, r.Passed, r.Failed, r.Skipped, date, r.Arch, r.Dir)
			}
			return w.Flush()
		},
	}
	statsDirFlag(c, &dirs)
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func statsListMetricsCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "list-metrics",
		Short: "List the metric registry: polarity, thresholds and unit of each metric",
		Long: `list-metrics shows how compare judges each metric: a change counts only
when it passes both the absolute threshold (in the metric's unit) and the
relative one, as a regression in the bad direction. Payload metrics are
compared as payload.<name> with the default policy shown last, unless a
--policy file says otherwise.`,
		Example: `  ktstr stats list-metrics`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			reg := stats.Registry()
			def := stats.DefaultPolicy
			def.Name = stats.PayloadPrefix + "*"
			def.Doc = "payload metrics and unregistered statistics (default policy)"
			reg = append(reg, def)
			if asJSON {
				return statsJSON(cmd.OutOrStdout(), reg)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "METRIC\tBETTER\tABS\tREL\tUNIT\tDESCRIPTION")
			for _, m := range reg {
				unit := m.Unit
				if unit == "" {
					unit = stats.None
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s%%\t%s\t%s\n", m.Name, m.Polarity, stats.FormatNumber(m.Abs),
					stats.FormatNumber(m.Rel*100), unit, m.Doc)
			}
			return w.Flush()
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func statsListValuesCmd() *cobra.Command {
	var dirs []string
	var asJSON bool
	c := &cobra.Command{
		Use:   "list-values",
		Short: "List the distinct values of each dimension compare can select by",
		Long: `list-values shows, for each dimension compare selects sides by (kernel,
project commit, scheduler, flags, topology, run, ...), the values the
result files hold, so that a --a-KIND/--b-KIND value can be copied.`,
		Example: `  ktstr stats list-values`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			results, err := statsRead(cmd, dirs)
			if err != nil {
				return err
			}
			if len(results) == 0 {
				return statsNoSidecars(dirs)
			}
			vals := stats.Values(results)
			if asJSON {
				return statsJSON(cmd.OutOrStdout(), vals)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "DIMENSION\tFLAG\tVALUES")
			for _, d := range stats.Dims {
				fmt.Fprintf(w, "%s\t--%s\t%s\n", d, stats.FlagName(d), strings.Join(vals[d], "  "))
			}
			return w.Flush()
		},
	}
	statsDirFlag(c, &dirs)
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func statsShowHostCmd() *cobra.Command {
	var dirs []string
	var run string
	var asJSON bool
	c := &cobra.Command{
		Use:   "show-host",
		Short: "Show the host context (CPU, memory, kernel, sched tunables) a run recorded",
		Long: `show-host prints what each run recorded of the machine it ran on: CPU
model and count, memory, kernel, the scheduler tunables, and whether it was
a CI run, so that two runs' figures can be judged against their hosts.`,
		Example: `  ktstr stats show-host
  ktstr stats show-host --dir target/ktstr/7.3.4+deb13-amd64-abc1234`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			results, err := statsRead(cmd, dirs)
			if err != nil {
				return err
			}
			if len(results) == 0 {
				return statsNoSidecars(dirs)
			}
			sel := stats.SelectRun(results, run)
			if len(sel) == 0 {
				return fmt.Errorf("no run %q: see ktstr stats list", run)
			}
			var host *sidecar.Result
			for i := range sel {
				if r := &sel[i]; r.Host != nil && (host == nil || r.Timestamp.After(host.Timestamp)) {
					host = r
				}
			}
			if host == nil {
				return fmt.Errorf("run %q recorded no host context", run)
			}
			if asJSON {
				return statsJSON(cmd.OutOrStdout(), host.Host)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "# %s (run %s, %s)\n", host.Path, host.RunID, host.Timestamp.Local().Format("2006-01-02 15:04:05"))
			for _, f := range host.Host.Fields() {
				v := f.Value
				if v == "" {
					v = "(unknown)"
				}
				fmt.Fprintf(out, "%s: %s\n", f.Name, v)
			}
			return nil
		},
	}
	statsDirFlag(c, &dirs)
	c.Flags().StringVar(&run, "run", "", "run directory name or path, or run id (default: the newest run)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func statsCompareCmd() *cobra.Command {
	var dirs []string
	var both, sideA, sideB = map[stats.Dim]*[]string{}, map[stats.Dim]*[]string{}, map[stats.Dim]*[]string{}
	var threshold float64
	var policyFile, test, color, html string
	var asJSON, all bool
	c := &cobra.Command{
		Use:   "compare",
		Short: "Compare two sides of the runs; exit status 1 on any regression",
		Long: `compare selects side A and side B of the sidecars by the dimensions
kernel, commit (of the project), kernel-commit, scheduler, topology,
work-type, flags and source (local or ci). --X selects on both sides,
--a-X and --b-X on one (replacing --X); a flag given several times matches
any of its values. Dimensions that differ between the sides slice; the
test name and the other dimensions pair A's rows with B's.

Each side is averaged per row over its passing sidecars (failed and
skipped ones are excluded and counted). A metric's change counts only when
it passes both its absolute and its relative threshold (see
ktstr stats list-metrics), as a regression in its bad direction and an
improvement in its good one. --threshold sets the relative threshold of
every metric; --policy FILE overrides per metric:

  {"default_percent": 10, "per_metric_percent": {"worst_spread": 5},
   "metrics": {"payload.iops": {"polarity": "higher", "percent": 5, "abs": 100}}}

Matching: a kernel version prefix matches at a component boundary (7.3
matches 7.3.4+deb13-amd64); a commit prefix of 4 or more characters
matches (abc1234 matches abc1234-dirty); flags are a set (a,b = b,a; none
for no flags); "-" matches an unknown value.`,
		Example: `  ktstr stats compare --a-kernel 7.2 --b-kernel 7.3
  ktstr stats compare --a-commit abc1234 --b-commit def5678 --scheduler scx_simple
  ktstr stats compare --a-flags none --b-flags llc,steal --threshold 5 --json
  ktstr stats compare --a-source ci --b-source local --dir ci-artefacts/ --dir target/ktstr`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if html != "" {
				if err := checkOutputDir(html); err != nil {
					return fmt.Errorf("--html: %w", err)
				}
			}
			opt := stats.Options{A: stats.Filter{}, B: stats.Filter{}, Test: test}
			for _, d := range stats.Dims {
				a, b := *both[d], *both[d]
				if len(*sideA[d]) > 0 {
					a = *sideA[d]
				}
				if len(*sideB[d]) > 0 {
					b = *sideB[d]
				}
				if len(a) > 0 {
					opt.A[d] = a
				}
				if len(b) > 0 {
					opt.B[d] = b
				}
			}
			if cmd.Flags().Changed("threshold") {
				if threshold < 0 {
					return fmt.Errorf("--threshold %v: want a percentage ≥ 0", threshold)
				}
				opt.Thresholds.Percent = &threshold
			}
			if policyFile != "" {
				p, err := stats.LoadPolicy(policyFile)
				if err != nil {
					return err
				}
				opt.Thresholds.Policy = p
			}
			var useColor bool
			switch color {
			case "auto":
				f, ok := cmd.OutOrStdout().(*os.File)
				useColor = ok && term.IsTerminal(int(f.Fd())) && os.Getenv("NO_COLOR") == ""
			case "always":
				useColor = true
			case "never":
			default:
				return fmt.Errorf("--color %q: want auto, always or never", color)
			}

			results, err := statsRead(cmd, dirs)
			if err != nil {
				return err
			}
			if len(results) == 0 {
				return statsNoSidecars(dirs)
			}
			rep, err := stats.Compare(results, opt)
			if err != nil {
				return err
			}
			if html != "" {
				err := report.WriteFile(html, func(w io.Writer) error {
					return report.WriteCompare(w, rep, "ktstr comparison: "+opt.A.String()+" against "+opt.B.String(), all, time.Now())
				})
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "ktstr stats compare: wrote %s\n", html)
			}
			if asJSON {
				err = statsJSON(cmd.OutOrStdout(), rep)
			} else {
				err = rep.WriteText(cmd.OutOrStdout(), stats.TextOptions{Color: useColor, All: all})
			}
			if err != nil {
				return err
			}
			return rep.Err()
		},
	}
	f := c.Flags()
	for _, d := range stats.Dims {
		both[d], sideA[d], sideB[d] = new([]string), new([]string), new([]string)
		name := stats.FlagName(d)
		f.StringArrayVar(both[d], name, nil, "select "+name+" on both sides (repeatable: any of)")
		f.StringArrayVar(sideA[d], "a-"+name, nil, "select "+name+" on side A (replaces --"+name+")")
		f.StringArrayVar(sideB[d], "b-"+name, nil, "select "+name+" on side B (replaces --"+name+")")
	}
	statsDirFlag(c, &dirs)
	f.Float64Var(&threshold, "threshold", 0, "relative threshold of every metric, in percent (overrides the registry)")
	f.StringVar(&policyFile, "policy", "", "JSON file of per-metric thresholds and polarities")
	f.StringVar(&test, "test", "", "compare only tests whose name contains this")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.BoolVar(&all, "all", false, "list unchanged metrics too")
	f.StringVar(&html, "html", "", "also write the comparison as a self-contained HTML page to this file")
	f.StringVar(&color, "color", "auto", "mark regressions red and improvements green: auto (on a terminal), always, never")
	return c
}
