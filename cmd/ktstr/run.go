package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/internal/env"
	"github.com/ktstr-go/ktstr/internal/guest"
	"github.com/ktstr-go/ktstr/internal/scenariofile"
	"github.com/ktstr-go/ktstr/internal/scenariofile/run"
)

// scenarioProgram runs a scenario file in VMs (and on the host): its
// arguments are one JSON-encoded scenarioArgs, so the guest parses the
// very text the host validated.
var scenarioProgram = ktstr.Program{Name: "scenario-file", Make: makeScenario}

func init() { ktstr.RegisterProgram(scenarioProgram) }

// scenarioArgs is what both sides build a scenario file's Spec from.
type scenarioArgs struct {
	// Name is the file's name, as messages give it; Text its contents.
	Name string `json:"name"`
	Text string `json:"text"`
	// Topologies, when set, replace the file's.
	Topologies []string `json:"topologies,omitempty"`
	// Scheduler is the sched_ext scheduler's path or name ("" for
	// EEVDF), with its arguments.
	Scheduler string   `json:"scheduler,omitempty"`
	Args      []string `json:"args,omitempty"`
}

// parse parses and validates the file against each of its topologies.
func (a scenarioArgs) parse() (*scenariofile.File, error) {
	f, err := scenariofile.Parse(a.Name, []byte(a.Text))
	if err != nil {
		return nil, err
	}
	if len(a.Topologies) > 0 {
		f.Topologies = a.Topologies
	}
	return f, nil
}

// makeScenario builds the Spec and body of a scenario file's run.
func makeScenario(args []string) (ktstr.Spec, ktstr.Body, error) {
	if len(args) != 1 {
		return ktstr.Spec{}, nil, fmt.Errorf("scenario-file: want one JSON argument, got %d", len(args))
	}
	var a scenarioArgs
	if err := json.Unmarshal([]byte(args[0]), &a); err != nil {
		return ktstr.Spec{}, nil, fmt.Errorf("scenario-file: %w", err)
	}
	f, err := a.parse()
	if err != nil {
		return ktstr.Spec{}, nil, err
	}
	spec := ktstr.Spec{
		Duration:   f.Duration,
		Assert:     f.Assert,
		NoGauntlet: true,
		// Steps may hold longer than the duration, and catalogue
		// scenarios run one after another: time for all of them, with
		// the margin a test's derived timeout has.
		Timeout: 2*time.Minute + 3*f.RunTime(),
	}
	for _, l := range f.Topologies {
		t, err := ktstr.ParseTopology(l)
		if err != nil {
			return ktstr.Spec{}, nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		spec.Topologies = append(spec.Topologies, t)
	}
	if a.Scheduler != "" {
		spec.Scheduler = ktstr.Scheduler{Name: filepath.Base(a.Scheduler), Path: a.Scheduler, Args: a.Args}
	}
	return spec, run.Body(f), nil
}

// runOptions is a `ktstr run` command line.
type runOptions struct {
	kernel     string
	topologies []string
	scheduler  string
	onHost     bool
}

func runCmd() *cobra.Command {
	var o runOptions
	c := &cobra.Command{
		Use:   "run FILE [--kernel K] [--scheduler PATH] [--topology LABEL]... [--host] [-- SCHEDULER ARGS]",
		Short: "Run a scenario file (TOML) in VMs, or on this machine, with the same workers and checks as tests",
		Long: `run runs a declarative scenario file (TOML; see docs/scenario-files.md):
cgroups with cpusets and work groups, steps that change them, check
overrides, and scenarios of the catalogue by name. No Go is needed.

The file is parsed and validated against each of its topologies before
anything boots; every problem is reported at its line. Then one VM boots
per topology (--topology replaces the file's), with the kernel --kernel
(else $` + env.Kernel + `, else the newest cached) and the sched_ext scheduler
--scheduler (a path, or the name of one ` + "`ktstr sched build`" + ` built; its
arguments after --), exactly as a Go test of the same scenario would: the
same checks, the same report, the same result files (named after the
file, under target/ktstr).

--host runs the file on this machine itself instead, under the scheduler
it runs now: it needs root and cgroup v2, works in a cgroup of its own
(ktstr-host-PID below the cgroup v2 root) and removes it, with every
process in it, at the end and on Ctrl-C.

The exit status is 0 when every run passed, 1 when one failed, 2 for a
bad file or bad flags.`,
		Example: `  ktstr run examples/scenarios/llc-split.toml --scheduler scx_simple
  ktstr run my.toml --topology 1n2l2c1t --topology 2n2l2c1t --scheduler ./scx_mine -- --slice-us 5000
  sudo ktstr run --host my.toml`,
		Args: oneBeforeDash("scenario file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var schedArgs []string
			if dash := cmd.ArgsLenAtDash(); dash >= 0 {
				schedArgs = args[dash:]
			}
			passed, err := runScenarioFile(cmd, &o, args[0], schedArgs)
			if err != nil {
				return err
			}
			if !passed {
				os.Exit(1)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&o.kernel, "kernel", "", "kernel to boot: a cache key, version prefix, image or source tree (default $"+env.Kernel+", else the newest cached)")
	f.StringArrayVar(&o.topologies, "topology", nil, "run on this topology instead of the file's (repeatable)")
	f.StringVar(&o.scheduler, "scheduler", "", "sched_ext scheduler: a path, or the name of one `ktstr sched build` built (default: EEVDF)")
	f.BoolVar(&o.onHost, "host", false, "run on this machine itself, not in a VM (needs root and cgroup v2)")
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return badInput(err) })
	return c
}

// runScenarioFile validates the file and runs it; the error is bad input
// (exit 2) or what prevented a run.
func runScenarioFile(cmd *cobra.Command, o *runOptions, path string, schedArgs []string) (bool, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return false, badInput(fmt.Errorf("reading the scenario file: %w", err))
	}
	a := scenarioArgs{Name: path, Text: string(text), Topologies: o.topologies, Scheduler: o.scheduler, Args: schedArgs}
	if o.scheduler == "" && len(schedArgs) > 0 {
		return false, badInput(fmt.Errorf("scheduler arguments %q but no --scheduler", schedArgs))
	}
	f, err := a.parse()
	if err != nil {
		return false, badInput(err)
	}
	if o.onHost {
		if o.scheduler != "" || len(o.topologies) > 0 || o.kernel != "" {
			return false, badInput(errors.New("--host runs on this machine as it is: its kernel, its topology and the scheduler it runs now; drop --kernel, --topology and --scheduler"))
		}
	} else if err := f.Validate(); err != nil {
		return false, badInput(err)
	}
	enc, err := json.Marshal(a)
	if err != nil {
		return false, err
	}
	opts := ktstr.ProgramOptions{Args: []string{string(enc)}, Kernel: o.kernel, Test: filepath.Base(path), Output: cmd.OutOrStdout()}
	if o.onHost {
		passed, err := ktstr.RunProgramOnHost(cmd.Context(), scenarioProgram, opts)
		if errors.Is(err, guest.ErrHostUnfit) {
			return false, badInput(err)
		}
		return passed, err
	}
	return ktstr.RunProgram(cmd.Context(), scenarioProgram, opts)
}
