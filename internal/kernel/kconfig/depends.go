package kconfig

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Definition is what one Kconfig file says about an option, as far as
// explaining why it did not get the value asked for goes.
type Definition struct {
	// DependsOn lists the conditions the option needs: its own "depends
	// on" lines and those of the if, menu and choice blocks around it.
	DependsOn []string
	// Prompt reports that the option has a prompt a config can set; one
	// without is only ever selected by other options.
	Prompt bool
}

// blockKeywords start an entry or a block at the top level of a Kconfig
// file; each ends the entry before it.
var blockKeywords = []string{"config", "menuconfig", "choice", "endchoice", "menu", "endmenu", "if", "endif", "source", "comment", "mainmenu"}

// promptTypes are the types whose line may carry a prompt.
var promptTypes = []string{"bool", "tristate", "int", "hex", "string", "prompt"}

// Define looks up the definitions of option name (without CONFIG_) in
// the text of one Kconfig file. It understands the common shapes only:
// "config NAME" entries with "depends on" and a typed prompt, and if,
// menu and choice blocks with their own conditions. Help text is skipped.
func Define(kconfig []byte, name string) []Definition {
	type block struct {
		kind string // "if", "menu", "choice"
		cond []string
	}
	var (
		stack   []block
		out     []Definition
		cur     *Definition // the entry for name being read
		inEntry bool        // reading some entry's attributes (name's or another's)
		inHelp  bool
		helpInd int
	)
	conds := func() []string {
		var c []string
		for _, b := range stack {
			c = append(c, b.cond...)
		}
		return c
	}
	finish := func() {
		if cur != nil {
			out = append(out, *cur)
			cur = nil
		}
		inEntry = false
	}
	lines(kconfig, func(raw string) {
		line := strings.TrimSpace(raw)
		if inHelp {
			if line == "" || indent(raw) > helpInd {
				return
			}
			inHelp = false
		}
		if line == "" || strings.HasPrefix(line, "#") {
			return
		}
		word, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		if slices.Contains(blockKeywords, word) {
			finish()
			switch word {
			case "config", "menuconfig":
				inEntry = true
				if rest == name {
					cur = &Definition{DependsOn: conds()}
				}
			case "if":
				stack = append(stack, block{kind: "if", cond: []string{rest}})
			case "menu", "choice":
				stack = append(stack, block{kind: word})
			case "endif", "endmenu", "endchoice":
				if len(stack) > 0 {
					stack = stack[:len(stack)-1]
				}
			}
			return
		}
		switch {
		case word == "help" || word == "---help---":
			inHelp, helpInd = true, indent(raw)
		case word == "depends" && strings.HasPrefix(rest, "on "):
			cond := strings.TrimSpace(strings.TrimPrefix(rest, "on "))
			if cur != nil {
				cur.DependsOn = append(cur.DependsOn, cond)
			} else if !inEntry && len(stack) > 0 && stack[len(stack)-1].kind != "if" {
				// A menu's or choice's own condition.
				stack[len(stack)-1].cond = append(stack[len(stack)-1].cond, cond)
			}
		case cur != nil && slices.Contains(promptTypes, word) && strings.HasPrefix(rest, `"`):
			cur.Prompt = true
		}
	})
	finish()
	return out
}

// indent counts the leading whitespace of a line, a tab as 8 columns.
func indent(s string) int {
	n := 0
	for _, c := range s {
		switch c {
		case ' ':
			n++
		case '\t':
			n += 8 - n%8
		default:
			return n
		}
	}
	return n
}

// symbolRe matches an option name in a dependency expression. Compiled on
// first use, not at init: test binaries link this package and start as PID
// 1 of an emulated guest, where init-time work slows every boot.
var symbolRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\b[A-Z][A-Z0-9_]*\b`) })

// Symbols returns the option names an expression mentions, in order,
// without repeats.
func Symbols(expr string) []string {
	var out []string
	for _, s := range symbolRe().FindAllString(expr, -1) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// Explain says why m did not hold, given the option's definitions in the
// tree's Kconfig files and the final config: what it depends on and what
// those options are now, or that this kernel has no such option.
func Explain(m Mismatch, defs []Definition, final []byte) string {
	head := fmt.Sprintf("CONFIG_%s=%s asked, ", m.Name, m.Want)
	if m.Got == "n" {
		head += "not set"
	} else {
		head += "got " + m.Got
	}
	if len(defs) == 0 {
		if m.Absent {
			return head + ": this kernel has no such option (renamed or removed?)"
		}
		return head
	}
	var deps []string
	for _, d := range defs {
		for _, c := range d.DependsOn {
			if strings.Contains(c, "||") {
				c = "(" + c + ")" // joined with &&, it would read otherwise
			}
			if !slices.Contains(deps, c) {
				deps = append(deps, c)
			}
		}
	}
	prompt := slices.ContainsFunc(defs, func(d Definition) bool { return d.Prompt })
	const noPrompt = "it has no prompt: Kconfig sets it from its default or from the options that select it"
	if len(deps) == 0 {
		if !prompt {
			return head + ": " + noPrompt
		}
		return head
	}
	values := Values(final)
	var now []string
	for _, s := range Symbols(strings.Join(deps, " ")) {
		v, ok := values[s]
		if !ok {
			v = "n"
		}
		now = append(now, s+"="+v)
	}
	msg := head + ": depends on " + strings.Join(deps, " && ") + " (now " + strings.Join(now, ", ") + ")"
	if !prompt {
		msg += "; " + noPrompt
	}
	return msg
}
