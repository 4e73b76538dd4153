package kernel

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Build stages, as kbuild's output shows them, in order.
const (
	stageCompile = "compiling"
	stageLink    = "linking vmlinux"
	stageBTF     = "generating BTF"
	stageImage   = "making bzImage"
)

// stageOrder ranks the stages. Linking goes back and forth between
// linking and BTF (vmlinux is linked three times), and objects of the
// bzImage's decompressor compile after vmlinux: the stage shown only
// moves forward.
var stageOrder = map[string]int{"": 0, stageCompile: 1, stageLink: 2, stageBTF: 3, stageImage: 4}

// buildProgress turns kbuild's quiet output ("  CC      kernel/sched/ext.o")
// into what a person watches. On a terminal it keeps one line, rewritten at
// most ten times a second: the stage, the objects compiled so far and the
// latest. Elsewhere (CI logs) it writes plain lines: one per stage and one
// every reportEvery objects.
type buildProgress struct {
	w        io.Writer
	terminal bool
	start    time.Time
	stage    string
	objects  int
	latest   string
	drawn    time.Time
	dirty    bool // the terminal line needs clearing before other output
}

// reportEvery is how many objects apart the plain-line counter reports.
const reportEvery = 500

func newBuildProgress(w io.Writer, terminal bool) *buildProgress {
	return &buildProgress{w: w, terminal: terminal, start: time.Now()}
}

// classify tells the stage a kbuild line belongs to and whether it
// compiled an object ("" when it says nothing about either).
func classify(line string) (stage string, object string) {
	if strings.HasPrefix(line, "Kernel: ") && strings.Contains(line, "bzImage") {
		return stageImage, ""
	}
	f := strings.Fields(line)
	if len(f) < 2 {
		return "", ""
	}
	tag, path := f[0], f[len(f)-1]
	switch {
	case (tag == "CC" || tag == "AS") && strings.HasSuffix(path, ".o") && !strings.Contains(path, "vmlinux"):
		return stageCompile, path
	case tag == "BTF" || tag == "PAHOLE" || tag == "BTFIDS":
		return stageBTF, ""
	case tag == "BUILD" && strings.HasSuffix(path, "bzImage"), tag == "LD" && strings.Contains(path, "boot/"):
		return stageImage, ""
	case (tag == "LD" || tag == "KSYMS" || tag == "SORTTAB" || tag == "NM") && strings.Contains(path, "vmlinux"):
		return stageLink, ""
	}
	return "", ""
}

// line takes one line of make's output.
func (p *buildProgress) line(l string) {
	stage, obj := classify(l)
	if stage == "" {
		return
	}
	if stageOrder[stage] > stageOrder[p.stage] {
		p.stage = stage
		p.clear()
		fmt.Fprintf(p.w, "%s (at %s)\n", stage, p.elapsed())
	}
	if obj == "" {
		return
	}
	p.objects++
	p.latest = obj
	if !p.terminal {
		if p.objects%reportEvery == 0 {
			fmt.Fprintf(p.w, "  %d objects compiled (at %s)\n", p.objects, p.elapsed())
		}
		return
	}
	if time.Since(p.drawn) >= 100*time.Millisecond {
		p.drawn = time.Now()
		latest := p.latest
		if len(latest) > 60 {
			latest = "…" + latest[len(latest)-59:]
		}
		fmt.Fprintf(p.w, "\r\x1b[K  %d objects compiled, %s  %s", p.objects, p.elapsed(), latest)
		p.dirty = true
	}
}

// clear ends the terminal's progress line.
func (p *buildProgress) clear() {
	if p.dirty {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.dirty = false
	}
}

func (p *buildProgress) elapsed() string {
	return time.Since(p.start).Round(time.Second).String()
}
