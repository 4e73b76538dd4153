package gauntlet

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// ShardOf is the 1-based shard, of n, that owns the variant named name:
// FNV-1a 64 of the name, modulo n, plus 1. It depends on the name alone, so
// adding or removing other variants never moves a variant to another shard.
// An n below 1 counts as 1.
func ShardOf(name string, n int) int {
	n = max(n, 1)
	h := fnv.New64a()
	h.Write([]byte(name))
	return int(h.Sum64()%uint64(n)) + 1
}

// Shard returns, in input order, the variants shard k of n owns (see
// ShardOf). Shards are 1-based, as in --shard 2/4: k runs from 1 to n, and
// the n shards together hold every variant exactly once.
func Shard(vs []Variant, k, n int) ([]Variant, error) {
	if err := checkShard(k, n); err != nil {
		return nil, err
	}
	var out []Variant
	for _, v := range vs {
		if ShardOf(v.Name(), n) == k {
			out = append(out, v)
		}
	}
	return out, nil
}

// ParseShard parses "K/N" (as in --shard 2/4) into 1 ≤ K ≤ N.
func ParseShard(s string) (k, n int, err error) {
	ks, ns, ok := strings.Cut(strings.TrimSpace(s), "/")
	if ok {
		k, err = strconv.Atoi(ks)
		if err == nil {
			n, err = strconv.Atoi(ns)
		}
	}
	if !ok || err != nil {
		return 0, 0, fmt.Errorf("shard %q: want K/N with whole numbers, e.g. 2/4 for the second of four shards", s)
	}
	if err := checkShard(k, n); err != nil {
		return 0, 0, err
	}
	return k, n, nil
}

func checkShard(k, n int) error {
	if n < 1 || k < 1 || k > n {
		return fmt.Errorf("shard %d/%d: want 1 ≤ K ≤ N (shards are numbered from 1)", k, n)
	}
	return nil
}
