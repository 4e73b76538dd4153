package kernel

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// cacheOf stores entries with the keys given, the first the oldest, and
// returns the cache directory.
func cacheOf(t *testing.T, keys ...string) string {
	t.Helper()
	dir := t.TempDir()
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i, key := range keys {
		meta := Metadata{Version: "7.3.4", FetchedAt: at.Add(time.Duration(i) * time.Hour)}
		if err := Store(dir, key, meta, writeImage(key)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func listedKeys(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, e := range entries {
		keys = append(keys, e.Key)
	}
	return keys
}

func removedKeys(rs []Removed) []string {
	var keys []string
	for _, r := range rs {
		keys = append(keys, r.Key)
	}
	return keys
}

func TestClean(t *testing.T) {
	keys := []string{"debian-old", "build-mid", "build-new"} // oldest first
	for _, tc := range []struct {
		name        string
		opts        CleanOptions
		removed     []string
		left        []string // newest first
		errContains string
	}{
		{name: "nothing asked", errContains: "--all, or --keep N", left: []string{"build-new", "build-mid", "debian-old"}},
		{name: "by key", opts: CleanOptions{Keys: []string{"debian-old", "build-new", "debian-old"}},
			removed: []string{"debian-old", "build-new"}, left: []string{"build-mid"}},
		{name: "an unknown key removes nothing", opts: CleanOptions{Keys: []string{"build-mid", "nope"}},
			errContains: "no kernel nope", left: []string{"build-new", "build-mid", "debian-old"}},
		{name: "a path is no key", opts: CleanOptions{Keys: []string{"../x"}}, errContains: "invalid cache key",
			left: []string{"build-new", "build-mid", "debian-old"}},
		{name: "all", opts: CleanOptions{All: true}, removed: []string{"build-new", "build-mid", "debian-old"}},
		{name: "keep 1", opts: CleanOptions{Keep: 1, KeepSet: true}, removed: []string{"build-mid", "debian-old"}, left: []string{"build-new"}},
		{name: "keep 0", opts: CleanOptions{KeepSet: true}, removed: []string{"build-new", "build-mid", "debian-old"}},
		{name: "keep more than there are", opts: CleanOptions{Keep: 5, KeepSet: true}, left: []string{"build-new", "build-mid", "debian-old"}},
		{name: "keep -1", opts: CleanOptions{Keep: -1, KeepSet: true}, errContains: "cannot be negative", left: []string{"build-new", "build-mid", "debian-old"}},
		{name: "all and keep", opts: CleanOptions{All: true, Keep: 1, KeepSet: true}, errContains: "not several",
			left: []string{"build-new", "build-mid", "debian-old"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := cacheOf(t, keys...)
			got, err := Clean(dir, tc.opts)
			if tc.errContains != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errContains) {
					t.Errorf("Clean = %v; want an error with %q", err, tc.errContains)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if k := removedKeys(got); !slices.Equal(k, tc.removed) {
				t.Errorf("removed %q, want %q", k, tc.removed)
			}
			for _, r := range got {
				if r.Bytes <= 0 {
					t.Errorf("%s removed with size %d", r.Key, r.Bytes)
				}
			}
			if left := listedKeys(t, dir); !slices.Equal(left, tc.left) {
				t.Errorf("left %q, want %q", left, tc.left)
			}
			if names := dirNames(t, dir); len(names) != len(tc.left) {
				t.Errorf("the cache holds %q, want only the %d entries left", names, len(tc.left))
			}
		})
	}
	if _, err := Clean(t.TempDir(), CleanOptions{}); !errors.Is(err, ErrNothingSelected) {
		t.Errorf("Clean without a selection = %v, want ErrNothingSelected", err)
	}
}

func TestCleanDamaged(t *testing.T) {
	dir := cacheOf(t, "good", "bad")
	os.Remove(filepath.Join(dir, "bad", ImageFile))
	got, err := Clean(dir, CleanOptions{Keys: []string{"bad"}})
	if err != nil || len(got) != 1 || got[0].Damage == nil {
		t.Fatalf("Clean of a damaged entry = %+v, %v", got, err)
	}
	if left := listedKeys(t, dir); !slices.Equal(left, []string{"good"}) {
		t.Errorf("left %q", left)
	}
}

func TestBuildKey(t *testing.T) {
	for _, tc := range []struct{ version, state, hash, want string }{
		{"7.3.4", "g0123456789ab", "fedcba9876543210fedcba", "build-7.3.4-g0123456789ab-config-fedcba987654"},
		{"7.4.0-rc5", "g0123456789ab-dirty-aaaaaaaaaaaa", "0011", "build-7.4.0-rc5-g0123456789ab-dirty-aaaaaaaaaaaa-config-0011"},
		{"7.3.4", "tree-a176722a4746", "89ab89ab89ab89ab", "build-7.3.4-tree-a176722a4746-config-89ab89ab89ab"},
	} {
		got := BuildKey(tc.version, tc.state, tc.hash)
		if got != tc.want {
			t.Errorf("BuildKey(%q, %q, %q) = %q, want %q", tc.version, tc.state, tc.hash, got, tc.want)
		}
		if checkKey(got) != nil {
			t.Errorf("%q is no valid cache key", got)
		}
	}
}
