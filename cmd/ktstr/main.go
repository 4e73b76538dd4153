// Command ktstr manages what ktstr tests need on the host: sched_ext
// kernels, for now. Tests themselves run with go test.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ktstr-go/ktstr"
	_ "github.com/ktstr-go/ktstr/internal/shell" // registers the shell's guest programs
)

func main() {
	// In the VM this binary is also the guest's init (ktstr shell, ktstr
	// run), and a worker process: the guest side takes over there and
	// never returns.
	ktstr.MainProgram()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := rootCmd()
	if err := root.ExecuteContext(ctx); err != nil {
		if ctx.Err() != nil {
			// Ctrl-C: what the command made is cleaned up by now.
			fmt.Fprintln(os.Stderr, "ktstr: interrupted")
			os.Exit(130)
		}
		fmt.Fprintln(os.Stderr, "ktstr:", err)
		var bad badInputError
		if errors.As(err, &bad) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// rootCmd is the command tree.
func rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "ktstr",
		Short: "Test Linux process schedulers in real kernels",
		Long: `ktstr tests Linux process schedulers in real kernels booted in QEMU with a
declared CPU topology. It runs Go test suites (test, soak), scenario files
that need no Go (run), a shell or one command in such a VM (shell), and
loads schedulers for their verifier figures (verifier); it manages what
they need (kernel, sched) and reads their results (stats, report).`,
		Example: `  ktstr shell --topology 2n2l2c1t --scheduler scx_simple
  ktstr run examples/scenarios/llc-split.toml --scheduler scx_qmap
  ktstr test -- ./examples/schedulers`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(kernelCmd(), schedCmd(), statsCmd(), reportCmd(), testCmd(), scenariosCmd(),
		soakCmd(), shellCmd(), runCmd(), verifierCmd())
	var complete func(*cobra.Command)
	complete = func(c *cobra.Command) {
		completeVMFlags(c)
		for _, sub := range c.Commands() {
			complete(sub)
		}
	}
	complete(root)
	// Cobra's completion command, made now to give it an example.
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.Example = `  source <(ktstr completion bash)
  ktstr completion zsh > "${fpath[1]}/_ktstr"
  ktstr completion fish > ~/.config/fish/completions/ktstr.fish`
		}
	}
	return root
}

// oneBeforeDash accepts exactly one argument, what, before an optional
// "--" and whatever follows it (the scheduler's arguments).
func oneBeforeDash(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		n := len(args)
		if dash := cmd.ArgsLenAtDash(); dash >= 0 {
			n = dash
		}
		if n != 1 {
			return badInput(fmt.Errorf("want one %s before any \"--\", got %d arguments", what, n))
		}
		return nil
	}
}

// badInputError marks an error in what the user gave (a flag, a file):
// the command exits 2 with it, apart from 1 for a run that failed.
type badInputError struct{ error }

func (e badInputError) Unwrap() error { return e.error }

// badInput marks err as the user's input being wrong.
func badInput(err error) error {
	if err == nil {
		return nil
	}
	return badInputError{err}
}
