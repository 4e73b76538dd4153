package ktstr

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/ktstr-go/ktstr/internal/gauntlet"
)

// selectVariants applies KTSTR_BUDGET_SECS and KTSTR_SHARD: it lists every
// variant of this test binary without booting anything (a pre-pass of the
// binary itself with KTSTR_LIST=json and the same flags), selects by
// budget, then shards, and records the chosen names. With neither set it
// does nothing.
func selectVariants() error {
	budgetStr, shardStr := os.Getenv(BudgetEnv), os.Getenv(ShardEnv)
	if (budgetStr == "" && shardStr == "") || os.Getenv(ListEnv) == listJSON {
		return nil
	}
	listed, err := listAllVariants()
	if err != nil {
		return err
	}
	vs := make([]gauntlet.Variant, len(listed))
	nameOf := map[string]string{} // gauntlet's name → the subtest's name
	for i, l := range listed {
		vs[i] = l.Variant
		nameOf[l.Variant.Name()] = l.Name
	}
	var why []string
	if budgetStr != "" {
		budget, err := gauntlet.ParseBudget(budgetStr)
		if err != nil {
			return fmt.Errorf("%s: %w", BudgetEnv, err)
		}
		sel := gauntlet.Select(vs, budget)
		fmt.Fprintln(os.Stderr, sel.Summary())
		vs = sel.Chosen
		why = append(why, fmt.Sprintf("outside the %gs budget", budget))
	}
	if shardStr != "" {
		k, n, err := gauntlet.ParseShard(shardStr)
		if err != nil {
			return fmt.Errorf("%s: %w", ShardEnv, err)
		}
		if vs, err = gauntlet.Shard(vs, k, n); err != nil {
			return err
		}
		why = append(why, fmt.Sprintf("in another shard than %d/%d", k, n))
	}
	names := map[string]bool{}
	for _, v := range vs {
		if n, ok := nameOf[v.Name()]; ok {
			names[n] = true
		} else {
			names[v.Name()] = true
		}
	}
	selection.Lock()
	selection.names, selection.why = names, strings.Join(why, " or ")
	selection.Unlock()
	return nil
}

// listAllVariants runs this binary in list mode and parses what it prints.
func listAllVariants() ([]listedVariant, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var args []string
	for _, a := range os.Args[1:] {
		// The pre-pass must not write profiles or coverage of its own.
		if strings.HasPrefix(a, "-test.coverprofile") || strings.HasPrefix(a, "-test.cpuprofile") ||
			strings.HasPrefix(a, "-test.memprofile") || strings.HasPrefix(a, "-test.trace") {
			continue
		}
		args = append(args, a)
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), ListEnv+"="+listJSON)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("listing the variants of %s: %v\n%s", self, err, stderr.String())
	}
	var listed []listedVariant
	sc := bufio.NewScanner(&out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		i := strings.Index(line, listJSONPrefix)
		if i < 0 {
			continue
		}
		var l listedVariant
		if err := json.Unmarshal([]byte(line[i+len(listJSONPrefix):]), &l); err != nil {
			return nil, fmt.Errorf("listing the variants: %w", err)
		}
		listed = append(listed, l)
	}
	return listed, sc.Err()
}
