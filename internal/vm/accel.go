package vm

import (
	"fmt"
	"os"
	"strings"

	"github.com/ktstr-go/ktstr/internal/env"
)

// Accel is the QEMU accelerator a VM runs on.
type Accel string

// The accelerators.
const (
	// KVM is hardware virtualisation through /dev/kvm.
	KVM Accel = "kvm"
	// TCG is QEMU's software emulation, single-threaded: multi-threaded TCG
	// crashes guests when sched_ext patches static keys (see FIELD-NOTES).
	TCG Accel = "tcg"
)

// AccelEnv names the environment variable that forces an accelerator.
const AccelEnv = env.Accel

// ChooseAccel picks the accelerator: the value of $KTSTR_ACCEL when set, else
// KVM when a vendor KVM module is loaded and /dev/kvm opens, else TCG. A bare
// /dev/kvm is not enough: some machines expose a software KVM on which real
// kernels do not boot, and trusting the device node hangs the boot.
func ChooseAccel() (Accel, string, error) {
	switch v := strings.ToLower(strings.TrimSpace(os.Getenv(AccelEnv))); v {
	case "":
	case "kvm":
		return KVM, AccelEnv + "=kvm", nil
	case "tcg":
		return TCG, AccelEnv + "=tcg", nil
	default:
		return "", "", fmt.Errorf("%s=%q: want kvm or tcg (or unset it to detect)", AccelEnv, v)
	}
	return detectAccel("/sys/module", "/dev/kvm")
}

func detectAccel(sysModule, devKVM string) (Accel, string, error) {
	vendor := ""
	for _, m := range []string{"kvm_intel", "kvm_amd"} {
		if _, err := os.Stat(sysModule + "/" + m); err == nil {
			vendor = m
			break
		}
	}
	if vendor == "" {
		return TCG, "no kvm_intel or kvm_amd module loaded", nil
	}
	f, err := os.OpenFile(devKVM, os.O_RDWR, 0)
	if err != nil {
		return TCG, fmt.Sprintf("%s loaded but %v", vendor, err), nil
	}
	f.Close()
	return KVM, vendor + " loaded and " + devKVM + " opens", nil
}
