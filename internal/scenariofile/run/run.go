// Package run runs a parsed scenario file inside a ktstr test body. It is
// apart from package scenariofile because it needs the root package and
// package scenario, which the ktstr command, parsing and validating the
// same files on the host, must not link.
package run

import (
	"errors"
	"fmt"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/scenariofile"
	"github.com/ktstr-go/ktstr/scenario"
)

// Body returns the test body that runs f in the guest: its steps with its
// backdrop, as scenario.RunWith does, then its catalogue scenarios one
// after another, as scenario.RunCatalogue does. The file's checks are
// merged over ctx.Assert first, so that they rule the steps' verdict and
// lie under each catalogue scenario's own layer (which switches off what
// cannot apply to it).
//
// The test's ktstr.Spec should carry f's topologies, its Duration and its
// Assert (Spec.Assert), where the host's monitor checks see it: the body
// cannot reach those. A scheduler that died in the steps leaves the
// catalogue scenarios unrun, as RunCatalogue does between scenarios.
func Body(f *scenariofile.File) ktstr.Body {
	return func(ctx *ktstr.Ctx) error {
		ctx.Assert = check.Merge(ctx.Assert, f.Assert)
		var errs []error
		if len(f.Steps) > 0 {
			// The checks' verdict is in the test's result already; the
			// error says the scenario could not be carried out.
			if _, err := scenario.RunWith(ctx, f.Backdrop, f.Steps...); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", f.Name, err))
			}
			if err := ctx.SchedulerAlive(); err != nil {
				return errors.Join(append(errs, fmt.Errorf("after the steps of %s: %w", f.Name, err))...)
			}
		}
		if len(f.Catalogue) > 0 {
			if err := scenario.RunCatalogue(ctx, f.Catalogue...); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
}
