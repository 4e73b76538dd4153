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
	root := &cobra.Command{
		Use:   "ktstr",
		Short: "Test Linux process schedulers in real kernels",
		Long: `ktstr runs Go tests that boot real kernels in QEMU with a declared CPU
topology and scheduler. This command manages what those tests need.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(kernelCmd())
	root.AddCommand(schedCmd())
	root.AddCommand(statsCmd())
	root.AddCommand(reportCmd())
	root.AddCommand(testCmd())
	root.AddCommand(scenariosCmd())
	root.AddCommand(soakCmd())
	root.AddCommand(shellCmd())
	root.AddCommand(runCmd())
	root.AddCommand(verifierCmd())
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
