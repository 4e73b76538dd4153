package gauntlet

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// DefaultDuration is the scenario duration of a variant whose Duration is
// zero, as for ktstr.Spec.
const DefaultDuration = 2 * time.Second

// DefaultWorkers is the workers-per-cgroup count of a variant whose Workers
// is zero (the reference's workers_per_cgroup default).
const DefaultWorkers = 2

// Variant is one concrete run of a test: a topology, a flag profile and a
// kernel. Base variants run the test's own topology (Preset may then have an
// empty Name); gauntlet variants run a preset and a profile.
type Variant struct {
	// Test is the Go test's name, e.g. "TestTwoCgroups".
	Test string
	// Preset is the topology; for a base variant, the test's own.
	Preset Preset
	// Profile is the active scheduler flags (gauntlet variants only).
	Profile Profile
	// Kernel is the kernel label as the user gave it (a version, cache key
	// or path), or "" when only one kernel is in play. Name sanitises it.
	Kernel string
	// Scheduler is the scheduler's name ("eevdf" for the kernel default).
	Scheduler string
	// Duration is the scenario duration; 0 means DefaultDuration.
	Duration time.Duration
	// Workers is the workers per cgroup; 0 means DefaultWorkers.
	Workers int
	// Gauntlet marks a gauntlet variant (as opposed to the base test).
	Gauntlet bool
	// RequiredFlags and ExcludedFlags are the test's flag requirements.
	RequiredFlags, ExcludedFlags []string
	// DeclaredFlags is the scheduler's flag names in declaration order. It
	// only feeds budget selection, which numbers flags by this order; when
	// empty, the reference catalog [CatalogFlags] is used.
	DeclaredFlags []string
}

// Name is the variant's subtest path: "TestX/gauntlet/<preset>/<profile>"
// for a gauntlet variant and "TestX" for a base one, each followed by
// "/<kernel>" when Kernel is set (as [KernelName] gives it, the subtest's
// name).
func (v Variant) Name() string {
	var b strings.Builder
	b.WriteString(v.Test)
	if v.Gauntlet {
		b.WriteString("/gauntlet/")
		b.WriteString(v.Preset.Name)
		b.WriteString("/")
		b.WriteString(v.Profile.Name())
	}
	if v.Kernel != "" {
		b.WriteString("/")
		b.WriteString(KernelName(v.Kernel))
	}
	return b.String()
}

// EffectiveDuration is Duration, or DefaultDuration when it is not positive.
func (v Variant) EffectiveDuration() time.Duration {
	if v.Duration <= 0 {
		return DefaultDuration
	}
	return v.Duration
}

// EffectiveWorkers is Workers, or DefaultWorkers when it is not positive.
func (v Variant) EffectiveWorkers() int {
	if v.Workers <= 0 {
		return DefaultWorkers
	}
	return v.Workers
}

// KernelName is how variant names carry the kernel argument k: a path (a
// cache entry, an image, a source tree) by its last element, anything else
// as given, made safe by KernelLabel.
func KernelName(k string) string {
	if strings.Contains(k, "/") {
		k = filepath.Base(filepath.Clean(k))
	}
	return KernelLabel(k)
}

// KernelLabel turns a kernel label into one safe as a Go subtest name
// element and in -run patterns: every character other than ASCII letters,
// digits, '.', '_' and '-' becomes '_', runs of '_' collapse, and leading
// and trailing '_' go. "7.3.4+deb13-amd64" becomes "7.3.4_deb13-amd64",
// "/boot/vmlinuz-6.12" becomes "boot_vmlinuz-6.12"; an empty result is
// "kernel".
func KernelLabel(k string) string {
	var b strings.Builder
	under := false
	for _, r := range k {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-'
		if !ok {
			under = true
			continue
		}
		if under && b.Len() > 0 {
			b.WriteByte('_')
		}
		under = false
		b.WriteRune(r)
	}
	if b.Len() == 0 {
		return "kernel"
	}
	return b.String()
}

// Expand returns base's gauntlet variants: one per preset × profile ×
// kernel, presets outermost and kernels innermost, each a copy of base with
// Preset, Profile, Kernel set and Gauntlet true. With no kernels each
// preset × profile appears once with base.Kernel. Pass the presets Filter
// kept and the profiles Profiles returned.
//
// It fails when two variants would share a name: a preset without a name or
// with '/' in it, a repeated preset or profile name, or two kernels whose
// labels sanitise alike.
func Expand(base Variant, presets []Preset, profiles []Profile, kernels []string) ([]Variant, error) {
	seen := map[string]bool{}
	for _, p := range presets {
		if p.Name == "" || strings.ContainsAny(p.Name, "/ ") {
			return nil, fmt.Errorf("preset %q (%s): a gauntlet preset needs a name without '/' or spaces", p.Name, p.Label())
		}
		if seen[p.Name] {
			return nil, fmt.Errorf("preset %q listed twice", p.Name)
		}
		seen[p.Name] = true
	}
	clear(seen)
	for _, p := range profiles {
		if seen[p.Name()] {
			return nil, fmt.Errorf("profile %q listed twice", p.Name())
		}
		seen[p.Name()] = true
	}
	ks, err := kernelList(base.Kernel, kernels)
	if err != nil {
		return nil, err
	}
	out := make([]Variant, 0, len(presets)*len(profiles)*len(ks))
	for _, p := range presets {
		for _, pr := range profiles {
			for _, k := range ks {
				v := base
				v.Preset, v.Profile, v.Kernel, v.Gauntlet = p, pr, k, true
				out = append(out, clone(v))
			}
		}
	}
	return out, nil
}

// PerKernel returns base once per kernel (base unchanged when kernels is
// empty), for the base variants of a multi-kernel run. It fails on kernels
// whose labels sanitise alike.
func PerKernel(base Variant, kernels []string) ([]Variant, error) {
	ks, err := kernelList(base.Kernel, kernels)
	if err != nil {
		return nil, err
	}
	out := make([]Variant, 0, len(ks))
	for _, k := range ks {
		v := clone(base)
		v.Kernel = k
		out = append(out, v)
	}
	return out, nil
}

func kernelList(def string, kernels []string) ([]string, error) {
	if len(kernels) == 0 {
		return []string{def}, nil
	}
	byLabel := map[string]string{}
	for _, k := range kernels {
		l := KernelLabel(k)
		if prev, dup := byLabel[l]; dup {
			return nil, fmt.Errorf("kernels %q and %q both label as %q; variant names would collide", prev, k, l)
		}
		byLabel[l] = k
	}
	return kernels, nil
}

// clone copies v so variants never share slices.
func clone(v Variant) Variant {
	v.RequiredFlags = slices.Clone(v.RequiredFlags)
	v.ExcludedFlags = slices.Clone(v.ExcludedFlags)
	v.DeclaredFlags = slices.Clone(v.DeclaredFlags)
	v.Profile.Flags = slices.Clone(v.Profile.Flags)
	v.Profile.args = slices.Clone(v.Profile.args)
	return v
}
