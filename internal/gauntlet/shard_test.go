package gauntlet

import (
	"fmt"
	"testing"
)

func shardVariants(n int, prefix string) []Variant {
	vs := make([]Variant, n)
	for i := range vs {
		vs[i] = Variant{Test: fmt.Sprintf("%s%d", prefix, i), Gauntlet: i%2 == 0, Preset: Preset{Name: "tiny-1llc"}}
	}
	return vs
}

func TestShardOfFNV(t *testing.T) {
	// FNV-1a 64 test vectors: "" = 0xcbf29ce484222325, "a" = 0xaf63dc4c8601ec8c.
	// 0x…25 % 4 = 1 → shard 2; 0x…8c % 4 = 0 → shard 1.
	if ShardOf("", 4) != 2 || ShardOf("a", 4) != 1 || ShardOf("a", 1) != 1 {
		t.Errorf("ShardOf: %d %d", ShardOf("", 4), ShardOf("a", 4))
	}
	if got, want := ShardOf("a", 7), int(uint64(0xaf63dc4c8601ec8c)%7)+1; got != want {
		t.Errorf("ShardOf(a, 7) = %d, want %d", got, want)
	}
}

func TestShardPartition(t *testing.T) {
	vs := shardVariants(500, "Test")
	for n := 1; n <= 7; n++ {
		count := map[string]int{}
		total := 0
		for k := 1; k <= n; k++ {
			part, err := Shard(vs, k, n)
			if err != nil {
				t.Fatal(err)
			}
			total += len(part)
			for _, v := range part {
				count[v.Name()]++
			}
			if n == 4 && (len(part) < 80 || len(part) > 170) {
				t.Errorf("shard %d/4 holds %d of 500: badly balanced", k, len(part))
			}
		}
		if total != len(vs) || len(count) != len(vs) {
			t.Errorf("n=%d: %d variants over the shards, %d distinct; want %d", n, total, len(count), len(vs))
		}
		for name, c := range count {
			if c != 1 {
				t.Errorf("n=%d: %s in %d shards", n, name, c)
			}
		}
	}
}

func TestShardStableUnderAdding(t *testing.T) {
	vs := shardVariants(200, "Test")
	before := map[string]int{}
	for k := 1; k <= 4; k++ {
		part, _ := Shard(vs, k, 4)
		for _, v := range part {
			before[v.Name()] = k
		}
	}
	more := append(shardVariants(50, "TestNew"), vs...) // new variants, and in front
	for k := 1; k <= 4; k++ {
		part, _ := Shard(more, k, 4)
		for _, v := range part {
			if old, ok := before[v.Name()]; ok && old != k {
				t.Errorf("%s moved from shard %d to %d", v.Name(), old, k)
			}
		}
	}
	// Order within a shard follows the input.
	part, _ := Shard(vs, 2, 4)
	last := -1
	for _, v := range part {
		var i int
		fmt.Sscanf(v.Test, "Test%d", &i)
		if i <= last {
			t.Errorf("shard out of input order: %s after Test%d", v.Test, last)
		}
		last = i
	}
}

func TestParseShard(t *testing.T) {
	for in, want := range map[string][2]int{"2/4": {2, 4}, "1/1": {1, 1}, " 4/4 ": {4, 4}, "10/12": {10, 12}} {
		k, n, err := ParseShard(in)
		if err != nil || k != want[0] || n != want[1] {
			t.Errorf("ParseShard(%q) = %d, %d, %v", in, k, n, err)
		}
	}
	for _, bad := range []string{"", "4", "0/4", "5/4", "-1/4", "2/0", "2/-4", "a/b", "2/4/6", "2.0/4", "/4", "2/", "2 / 4"} {
		if _, _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
	for _, kn := range [][2]int{{0, 4}, {5, 4}, {1, 0}, {-1, -1}} {
		if _, err := Shard(nil, kn[0], kn[1]); err == nil {
			t.Errorf("Shard(%d/%d) accepted", kn[0], kn[1])
		}
	}
}

func TestSelectThenShard(t *testing.T) {
	vs := handVariants(t)
	sel := (CostModel{Boot: func(cpus int) float64 { return float64(cpus) / 2 }}).Select(vs, 40)
	total := 0
	for k := 1; k <= 3; k++ {
		part, _ := Shard(sel.Chosen, k, 3)
		total += len(part)
	}
	if total != len(sel.Chosen) {
		t.Errorf("shards of the selection hold %d, selection %d", total, len(sel.Chosen))
	}
}
