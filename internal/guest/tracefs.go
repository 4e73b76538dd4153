package guest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

const tracefs = "/sys/kernel/tracing"

// sched_ext trace events: the exit record (kind and reason) and the debug
// dump, one event per line, which the kernel emits when it ejects a
// scheduler.
var scxEvents = []string{"sched_ext/sched_ext_exit", "sched_ext/sched_ext_dump"}

// enableSchedExtEvents turns the sched_ext trace events on, with a trace
// buffer big enough for a dump. Without tracefs it does nothing: the
// kernel log still has the reason.
func enableSchedExtEvents() {
	for _, e := range scxEvents {
		err := os.WriteFile(filepath.Join(tracefs, "events", e, "enable"), []byte("1"), 0)
		if errors.Is(err, fs.ErrNotExist) && e == scxEvents[0] {
			// 6.12 has the dump event but not the exit record: the
			// reason is still in the kernel log.
			noExitEvent = true
		}
	}
	_ = os.WriteFile(filepath.Join(tracefs, "buffer_size_kb"), []byte("4096"), 0)
}

// noExitEvent tells that this kernel has no sched_ext_exit trace event.
var noExitEvent bool

// schedExtTrace returns the exit records and dump lines traced so far.
func schedExtTrace() (exit, dump []string) {
	b, err := os.ReadFile(filepath.Join(tracefs, "trace"))
	if err != nil {
		return nil, nil
	}
	for _, l := range strings.Split(string(b), "\n") {
		switch {
		case strings.Contains(l, "sched_ext_exit:"):
			exit = append(exit, strings.TrimSpace(l[strings.Index(l, "sched_ext_exit:"):]))
		case strings.Contains(l, "sched_ext_dump:"):
			dump = append(dump, strings.TrimRight(l[strings.Index(l, "sched_ext_dump:")+len("sched_ext_dump:"):], " "))
		}
	}
	return exit, dump
}

// traceDetail renders the traced exit and dump for a failure report.
func traceDetail() string {
	exit, dump := schedExtTrace()
	var b strings.Builder
	switch {
	case len(exit) > 0:
		b.WriteString("\nkernel exit record: " + strings.Join(exit, "; "))
	case noExitEvent && len(dump) > 0:
		b.WriteString("\nkernel exit record: none (this kernel has no sched_ext_exit trace event; the kernel log has the reason)")
	}
	if len(dump) > 0 {
		b.WriteString("\n--- sched_ext dump ---\n" + strings.Join(capDump(dump), "\n"))
	}
	return b.String()
}

// maxDumpLines bounds a sched_ext dump in a report: the CPU states and the
// first tasks tell what the scheduler held; hundreds of further tasks
// only bury the failure.
const maxDumpLines = 200

// capDump cuts a dump to maxDumpLines, saying how much was left out.
func capDump(dump []string) []string {
	if len(dump) <= maxDumpLines {
		return dump
	}
	return append(dump[:maxDumpLines:maxDumpLines], fmt.Sprintf("... (%d more lines of the dump cut)", len(dump)-maxDumpLines))
}
