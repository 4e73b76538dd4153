package vm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDetectAccel runs detection against fake /sys/module trees and a fake
// /dev/kvm: KVM needs both a vendor module and a device that opens.
func TestDetectAccel(t *testing.T) {
	tests := []struct {
		name    string
		modules []string // directories under /sys/module
		dev     bool     // whether /dev/kvm exists (as a plain, openable file)
		want    Accel
		why     []string // in the reason
	}{
		{
			name: "no modules",
			dev:  true,
			want: TCG,
			why:  []string{"no kvm_intel or kvm_amd module loaded"},
		},
		{
			// A bare kvm module with /dev/kvm is the software KVM on which
			// real kernels do not boot.
			name:    "generic kvm module only",
			modules: []string{"kvm", "virtio_net"},
			dev:     true,
			want:    TCG,
			why:     []string{"no kvm_intel or kvm_amd module loaded"},
		},
		{
			name:    "kvm_intel and device",
			modules: []string{"kvm", "kvm_intel"},
			dev:     true,
			want:    KVM,
			why:     []string{"kvm_intel loaded and ", "kvm opens"},
		},
		{
			name:    "kvm_amd and device",
			modules: []string{"kvm", "kvm_amd"},
			dev:     true,
			want:    KVM,
			why:     []string{"kvm_amd loaded and "},
		},
		{
			name:    "both vendor modules",
			modules: []string{"kvm_amd", "kvm_intel"},
			dev:     true,
			want:    KVM,
			why:     []string{"kvm_intel loaded"},
		},
		{
			name:    "vendor module but no device",
			modules: []string{"kvm", "kvm_amd"},
			want:    TCG,
			why:     []string{"kvm_amd loaded but ", "no such file or directory"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			sysModule := filepath.Join(dir, "sys/module")
			if err := os.MkdirAll(sysModule, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, m := range tt.modules {
				if err := os.MkdirAll(filepath.Join(sysModule, m, "parameters"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			dev := filepath.Join(dir, "dev/kvm")
			if tt.dev {
				if err := os.MkdirAll(filepath.Dir(dev), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(dev, nil, 0o666); err != nil {
					t.Fatal(err)
				}
			}
			accel, why, err := detectAccel(sysModule, dev)
			if err != nil {
				t.Fatalf("detectAccel: %v", err)
			}
			if accel != tt.want {
				t.Errorf("accel %q (%s), want %q", accel, why, tt.want)
			}
			for _, s := range tt.why {
				if !strings.Contains(why, s) {
					t.Errorf("reason %q lacks %q", why, s)
				}
			}
		})
	}
}

// TestChooseAccelEnv checks that $KTSTR_ACCEL overrides detection and that a
// bad value is an error naming the variable and the accepted values.
func TestChooseAccelEnv(t *testing.T) {
	tests := []struct {
		env     string
		want    Accel
		why     string
		wantErr []string
	}{
		{env: "kvm", want: KVM, why: "KTSTR_ACCEL=kvm"},
		{env: "tcg", want: TCG, why: "KTSTR_ACCEL=tcg"},
		{env: " KVM\n", want: KVM, why: "KTSTR_ACCEL=kvm"},
		{env: "TCG", want: TCG, why: "KTSTR_ACCEL=tcg"},
		{env: "bogus", wantErr: []string{"KTSTR_ACCEL", `"bogus"`, "want kvm or tcg"}},
		{env: "hvf", wantErr: []string{"KTSTR_ACCEL", `"hvf"`}},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			t.Setenv(AccelEnv, tt.env)
			accel, why, err := ChooseAccel()
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("no error; got %q (%s)", accel, why)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q lacks %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if accel != tt.want || why != tt.why {
				t.Errorf("got %q (%s), want %q (%s)", accel, why, tt.want, tt.why)
			}
		})
	}
}
