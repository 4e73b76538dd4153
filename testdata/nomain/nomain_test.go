// Package nomain is a test package that forgets ktstr.Main in TestMain;
// TestRunWithoutMain runs it to check the error says what to do.
package nomain

import (
	"testing"

	"github.com/ktstr-go/ktstr"
)

func TestForgotMain(t *testing.T) {
	ktstr.Run(t, ktstr.Spec{}, func(*ktstr.Ctx) error { return nil })
}
