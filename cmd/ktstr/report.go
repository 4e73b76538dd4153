package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ktstr-go/ktstr/internal/report"
	"github.com/ktstr-go/ktstr/sidecar"
)

// reportCmd is `ktstr report`: one HTML page of a run.
func reportCmd() *cobra.Command {
	var out, run, commit string
	c := &cobra.Command{
		Use:   "report [DIR]",
		Short: "Write one self-contained HTML page of a test run, from its result files",
		Long: `report reads the result files (sidecars) test runs write and makes one
HTML page of them: the run's kernel, commit, host and verdicts, failures
first with their reasons; for each variant its steps, throughput per cgroup
over time, each check's figure against its limit, its workers, the host
monitor's per-CPU heat strips and the scheduler's and kernel's logs.

The page needs nothing but itself (no network, scripts or fonts), so it
opens from a CI artifact. Without DIR it shows the latest run under
` + sidecar.RunsRoot() + `; with DIR every result file under it (any
depth). --run and --commit select by run id or project commit instead.
A file that cannot be read is named on stderr and on the page, and left out.`,
		Example: `  ktstr report -o report.html
  ktstr report ci-artefacts/ -o report.html
  ktstr report --commit abc1234 -o abc1234.html`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("-o FILE is required: where to write the page")
			}
			if err := checkOutputDir(out); err != nil {
				return err
			}
			dir, latest := sidecar.RunsRoot(), true
			if len(args) == 1 {
				dir, latest = args[0], false
			}
			if run != "" || commit != "" {
				latest = false
			}
			rep, err := collectRun(dir, run, commit, latest)
			for _, s := range rep.Skipped {
				fmt.Fprintf(cmd.ErrOrStderr(), "ktstr report: left out %s: %s\n", s.Path, s.Reason)
			}
			if err != nil {
				return err
			}
			if err := report.WriteFile(out, func(w io.Writer) error { return report.WriteRun(w, rep) }); err != nil {
				return err
			}
			p, f, s := rep.Counts()
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %d variants (%d passed, %d failed, %d skipped)\n", out, len(rep.Results), p, f, s)
			return nil
		},
	}
	c.Flags().StringVarP(&out, "output", "o", "", "file to write the page to (required)")
	c.Flags().StringVar(&run, "run", "", "show the run with this id (see ktstr stats list)")
	c.Flags().StringVar(&commit, "commit", "", "show the runs of this project commit (a prefix of 4 or more characters)")
	return c
}

// checkOutputDir fails early, before anything is read, when the page
// could not be written.
func checkOutputDir(path string) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case err != nil:
		return fmt.Errorf("cannot write the report to %s: %w", path, err)
	case !fi.IsDir():
		return fmt.Errorf("cannot write the report to %s: %s is not a directory", path, dir)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("cannot write the report to %s: it is a directory", path)
	}
	return nil
}

// collectRun reads the result files under dir and keeps those of run id
// run, of project commit commit, or of the latest run (the one whose
// newest result is newest). Unreadable files are listed in Skipped; no
// result at all is an error.
func collectRun(dir, run, commit string, latest bool) (*report.Run, error) {
	rep := &report.Run{Generated: time.Now()}
	results, err := sidecar.ReadDir(dir)
	var errs sidecar.ReadErrors
	switch {
	case errors.As(err, &errs):
		for _, e := range errs {
			if errors.Is(e, fs.ErrNotExist) && e.Path == dir {
				return rep, fmt.Errorf("no result files: %s does not exist; run tests first (ktstr test), or name the directory that holds them", dir)
			}
			reason := e.Err.Error()
			if errors.Is(e, sidecar.ErrNewerSchema) {
				reason += "; a newer ktstr wrote it"
			}
			rep.Skipped = append(rep.Skipped, report.Skipped{Path: e.Path, Reason: reason})
		}
	case err != nil:
		return rep, err
	}
	if commit != "" && len(commit) < 4 {
		return rep, fmt.Errorf("--commit %q: give 4 or more characters", commit)
	}
	var newest time.Time
	for _, r := range results {
		if latest && r.Timestamp.After(newest) {
			newest, run = r.Timestamp, r.RunID
		}
	}
	for _, r := range results {
		if (run == "" || r.RunID == run) && (commit == "" || strings.HasPrefix(r.ProjectCommit, commit)) {
			rep.Results = append(rep.Results, r)
		}
	}
	switch {
	case len(rep.Results) > 0:
	case len(results) == 0:
		return rep, fmt.Errorf("no result files under %s: run tests first (ktstr test), or name the directory that holds them", dir)
	case run != "" && !latest:
		return rep, fmt.Errorf("no result files of run %s under %s (ktstr stats list shows the runs)", run, dir)
	default:
		return rep, fmt.Errorf("no result files of commit %s under %s", commit, dir)
	}
	rep.Title = "ktstr run " + rep.Results[0].RunID
	if commit != "" {
		rep.Title = "ktstr runs of commit " + commit
	}
	return rep, nil
}
