package kernel

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ktstr-go/ktstr/internal/cachedir"
)

// CleanOptions say which cache entries Clean removes: the entries named by
// Keys, or All of them, or all but the newest Keep. Exactly one of the
// three must be given.
type CleanOptions struct {
	// Keys names entries to remove.
	Keys []string
	// All removes every entry.
	All bool
	// Keep, when KeepSet, removes all but the newest Keep entries.
	Keep    int
	KeepSet bool
}

// Removed is an entry Clean took out of the cache.
type Removed struct {
	Entry
	// Bytes is the size of its files.
	Bytes int64
}

// ErrNothingSelected is Clean's error when the options select nothing to
// remove: removing the whole cache must be asked for.
var ErrNothingSelected = errors.New("say which kernels to remove: their keys (as `ktstr kernel list` shows them), --all, or --keep N to keep the newest N")

// Clean removes cache entries as opts selects and returns them: named
// ones in the order given, else in the cache's order (newest first). Every key is checked before anything is
// removed, so a mistyped key removes nothing. Damaged entries are removed
// like intact ones. An entry being used by a running test stays readable
// to it (see cachedir.Remove).
func Clean(cacheDir string, opts CleanOptions) ([]Removed, error) {
	given := 0
	for _, b := range []bool{len(opts.Keys) > 0, opts.All, opts.KeepSet} {
		if b {
			given++
		}
	}
	switch {
	case given == 0:
		return nil, ErrNothingSelected
	case given > 1:
		return nil, errors.New("pass either keys, --all or --keep N, not several")
	case opts.KeepSet && opts.Keep < 0:
		return nil, fmt.Errorf("--keep %d: the number of kernels to keep cannot be negative", opts.Keep)
	}
	for _, k := range opts.Keys {
		if err := checkKey(k); err != nil {
			return nil, err
		}
	}
	entries, err := List(cacheDir)
	if err != nil {
		return nil, err
	}
	var doomed []Entry
	switch {
	case opts.All:
		doomed = entries
	case opts.KeepSet:
		if opts.Keep < len(entries) {
			doomed = entries[opts.Keep:]
		}
	default:
		byKey := map[string]Entry{}
		for _, e := range entries {
			byKey[e.Key] = e
		}
		var unknown, seen []string
		for _, k := range opts.Keys {
			e, ok := byKey[k]
			switch {
			case !ok:
				unknown = append(unknown, k)
			case !slices.Contains(seen, k):
				seen = append(seen, k)
				doomed = append(doomed, e)
			}
		}
		if len(unknown) > 0 {
			return nil, fmt.Errorf("no kernel %s in %s; nothing removed (`ktstr kernel list` shows the keys)", strings.Join(unknown, ", "), cacheDir)
		}
	}
	var out []Removed
	for _, e := range doomed {
		size := cachedir.DirSize(e.Dir)
		if err := cachedir.Remove(cacheDir, e.Key); err != nil {
			return out, fmt.Errorf("remove kernel %s: %w", e.Key, err)
		}
		out = append(out, Removed{Entry: e, Bytes: size})
	}
	// Also what crashed fetches and builds left, once old enough.
	cachedir.Sweep(cacheDir)
	return out, nil
}
