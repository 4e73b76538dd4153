package host

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"

	"github.com/ktstr-go/ktstr/internal/env"
	"github.com/ktstr-go/ktstr/internal/gauntlet"
)

// selectVariants applies KTSTR_ONLY, or KTSTR_BUDGET_SECS and KTSTR_SHARD:
// KTSTR_ONLY names the variants to run outright. Otherwise it lists every
// variant of this test binary without booting anything (a pre-pass of the
// binary itself with KTSTR_LIST=json and the same flags), selects by
// budget, then shards, and records the chosen names. With neither set it
// does nothing.
func selectVariants() error {
	if only := os.Getenv(env.Only); only != "" {
		names := map[string]bool{}
		for _, n := range strings.Split(only, "\n") {
			if n = strings.TrimSpace(n); n != "" {
				names[n] = true
			}
		}
		selection.Lock()
		selection.names, selection.why = names, "not among the variants "+env.Only+" names"
		selection.Unlock()
		return nil
	}
	budgetStr, shardStr := os.Getenv(env.BudgetSecs), os.Getenv(env.Shard)
	if (budgetStr == "" && shardStr == "") || os.Getenv(env.List) == env.ListJSON {
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
			return fmt.Errorf("%s: %w", env.BudgetSecs, err)
		}
		sel := gauntlet.Select(vs, budget)
		fmt.Fprintln(os.Stderr, sel.Summary())
		vs = sel.Chosen
		why = append(why, fmt.Sprintf("outside the %gs budget", budget))
	}
	if shardStr != "" {
		k, n, err := gauntlet.ParseShard(shardStr)
		if err != nil {
			return fmt.Errorf("%s: %w", env.Shard, err)
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
	cmd.Env = append(os.Environ(), env.List+"="+env.ListJSON)
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
		i := strings.Index(line, env.VariantJSONPrefix)
		if i < 0 {
			continue
		}
		var l listedVariant
		if err := json.Unmarshal([]byte(line[i+len(env.VariantJSONPrefix):]), &l); err != nil {
			return nil, fmt.Errorf("listing the variants: %w", err)
		}
		listed = append(listed, l)
	}
	return listed, sc.Err()
}

// selection holds the names of the variants a budget or shard chose; nil
// means every variant runs.
var selection struct {
	sync.Mutex
	names map[string]bool
	why   string
}

// selected reports whether the variant called name runs, and why not.
func selected(name string) (bool, string) {
	selection.Lock()
	defer selection.Unlock()
	if selection.names == nil {
		return true, ""
	}
	return selection.names[name], selection.why
}

// listing reports whether this process only lists variants.
func listing() bool { return os.Getenv(env.List) != "" }

// listVariant prints a variant for `ktstr test --list` (env.VariantPrefix
// and its name) or, for the budget's pre-pass, its description as JSON.
func listVariant(name string, gv gauntlet.Variant) {
	if os.Getenv(env.List) == env.ListJSON {
		b, _ := json.Marshal(listedVariant{Name: name, Variant: gv})
		fmt.Printf("%s%s\n", env.VariantJSONPrefix, b)
		return
	}
	fmt.Printf("%s%s\n", env.VariantPrefix, name)
}

// listedVariant is one line of the pre-pass.
type listedVariant struct {
	Name    string           `json:"name"`
	Variant gauntlet.Variant `json:"variant"`
}
