package sidecar

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ktstr-go/ktstr/internal/cachedir"
)

// Files a run directory holds besides the sidecars.
const (
	// LockFile is flocked: exclusively to clear the directory, shared to
	// write a sidecar.
	LockFile = ".ktstr.lock"
	// RunMarkerFile holds the id of the run whose sidecars the directory
	// holds.
	RunMarkerFile = ".ktstr-run"
)

// lockTimeout bounds the wait for the directory's lock.
var lockTimeout = 30 * time.Second

// Writer writes the sidecars of one run into one directory. It is safe for
// concurrent use; several Writers, in one process or many, may share a
// directory.
type Writer struct {
	// Dir is the directory sidecars are written to; Write creates it.
	Dir string
	// RunID identifies the run. It fills results without one and decides
	// whether the directory holds an older run.
	RunID string
	// Clear makes the first Write of this Writer remove the directory's
	// sidecars of other runs: under the directory's lock, unless the run
	// marker file names RunID already, every *.ktstr.json in Dir (not in
	// subdirectories) is removed and the marker set to RunID. So the
	// first process of a run to write clears, and later ones of the same
	// run do not.
	Clear bool
	// ProjectCommit, when set, fills results without one.
	ProjectCommit string
	// Host, when set, fills results without one.
	Host *Host

	mu      sync.Mutex
	checked bool
}

// NewWriter returns a Writer into dir for the run runID (RunID() when
// empty) that clears the directory of other runs' sidecars.
func NewWriter(dir, runID string) *Writer {
	if runID == "" {
		runID = RunID()
	}
	return &Writer{Dir: dir, RunID: runID, Clear: true}
}

// DefaultWriter returns the Writer for this process's results on kernel (a
// kernel version, "" when unknown), set up from the environment: the
// directory of Dir (not cleared when it is $KTSTR_SIDECAR_DIR), RunID(),
// and the working directory's project commit and this host's HostContext
// as defaults.
func DefaultWriter(kernel string) *Writer {
	dir, exact := Dir(kernel)
	w := NewWriter(dir, "")
	w.Clear = !exact
	w.ProjectCommit = processCommit()
	w.Host = localHost()
	return w
}

// Path returns the file Write writes r to.
func (w *Writer) Path(r *Result) string { return filepath.Join(w.Dir, FileName(r)) }

// Write writes r as Dir/FileName(r), atomically: readers see the old file
// or the new one, never part of one. It sets Schema to SchemaVersion and
// fills an empty RunID, RunSource (RunSource()), Timestamp (now),
// ProjectCommit and Host from the Writer. Metric values that are not
// finite numbers (NaN, ±Inf, which JSON cannot hold) are left out.
func (w *Writer) Write(r Result) error {
	r.Schema = SchemaVersion
	if r.RunID == "" {
		r.RunID = w.RunID
	}
	if r.RunSource == "" {
		r.RunSource = RunSource()
	}
	if r.Timestamp.IsZero() {
		r.Timestamp = time.Now().UTC()
	}
	if r.ProjectCommit == "" {
		r.ProjectCommit = w.ProjectCommit
	}
	if r.Host == nil {
		r.Host = w.Host
	}
	r.Stats.Overall = finite(r.Stats.Overall)
	if r.Stats.Cgroups != nil {
		cg := make(map[string]Metrics, len(r.Stats.Cgroups))
		for k, m := range r.Stats.Cgroups {
			cg[k] = finite(m)
		}
		r.Stats.Cgroups = cg
	}
	r.PayloadMetrics = finite(r.PayloadMetrics)
	data, err := json.MarshalIndent(&r, "", "  ")
	if err != nil {
		return fmt.Errorf("sidecar %s: %w", r.TestName, err)
	}
	data = append(data, '\n')

	if err := os.MkdirAll(w.Dir, 0o755); err != nil {
		return fmt.Errorf("sidecar directory: %w", err)
	}
	if err := w.prepare(); err != nil {
		return err
	}
	if w.Clear {
		unlock, err := lockDir(w.Dir, false)
		if err != nil {
			return err
		}
		defer unlock()
	}
	return writeAtomic(w.Path(&r), data)
}

// prepare clears the directory of other runs' sidecars, once per Writer.
func (w *Writer) prepare() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.Clear || w.checked {
		return nil
	}
	unlock, err := lockDir(w.Dir, true)
	if err != nil {
		return err
	}
	defer unlock()
	marker := filepath.Join(w.Dir, RunMarkerFile)
	if b, err := os.ReadFile(marker); err == nil && strings.TrimSpace(string(b)) == w.RunID {
		w.checked = true
		return nil
	}
	ents, err := os.ReadDir(w.Dir)
	if err != nil {
		return fmt.Errorf("sidecar directory: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		// Under the exclusive lock nobody is writing, so temporary files
		// are leftovers of crashed writers.
		if e.Type().IsRegular() && (strings.HasSuffix(name, FileSuffix) || cachedir.IsTempFile(name)) {
			if err := os.Remove(filepath.Join(w.Dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("clearing old sidecars: %w", err)
			}
		}
	}
	if err := writeAtomic(marker, []byte(w.RunID+"\n")); err != nil {
		return err
	}
	w.checked = true
	return nil
}

// lockDir takes the directory's lock file, exclusively or shared, waiting
// up to lockTimeout, and returns its release.
func lockDir(dir string, exclusive bool) (func(), error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("sidecar lock: %w", err)
	}
	deadline := time.Now().Add(lockTimeout)
	for {
		ok, err := tryLock(f, exclusive)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("sidecar lock %s: %w", path, err)
		}
		if ok {
			return func() { f.Close() }, nil
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("sidecar lock %s: still held by another process after %v", path, lockTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// writeAtomic writes data over path whole or not at all.
func writeAtomic(path string, data []byte) error {
	err := cachedir.WriteFile(path, 0o644, func(w io.Writer) error { _, err := w.Write(data); return err })
	if err != nil {
		return fmt.Errorf("sidecar: %w", err)
	}
	return nil
}

// finite returns m without its non-finite values (m itself when all are
// finite).
func finite(m map[string]float64) map[string]float64 {
	for _, v := range m {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			out := make(map[string]float64, len(m))
			for k, v := range m {
				if !math.IsNaN(v) && !math.IsInf(v, 0) {
					out[k] = v
				}
			}
			return out
		}
	}
	return m
}

// RunID returns this process's run id, the same on every call: $KTSTR_RUN_ID
// when set (ktstr test sets it for all the go test processes it starts);
// else, when the parent process is the go command, an id naming that
// process ("go-{boot id}-{pid}-{start time}"), so the package test binaries
// one go test starts share a run; else a new id (NewRunID).
func RunID() string { return runID() }

var runID = sync.OnceValue(func() string {
	if id := os.Getenv(EnvRunID); id != "" {
		return id
	}
	if id := goParentRunID("/proc", os.Getppid()); id != "" {
		return id
	}
	return NewRunID()
})

// goParentRunID returns the run id derived from process ppid when it is the
// go command, "" otherwise.
func goParentRunID(proc string, ppid int) string {
	pdir := filepath.Join(proc, strconv.Itoa(ppid))
	if readLine(filepath.Join(pdir, "comm")) != "go" {
		return ""
	}
	stat := readLine(filepath.Join(pdir, "stat"))
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(stat[i+1:])
	// Fields from the state on: the start time is field 22 of stat, the
	// 20th after the command name.
	if len(f) < 20 {
		return ""
	}
	boot := strings.ReplaceAll(readLine(filepath.Join(proc, "sys/kernel/random/boot_id")), "-", "")
	if len(boot) > 8 {
		boot = boot[:8]
	}
	return fmt.Sprintf("go-%s-%d-%s", boot, ppid, f[19])
}

// NewRunID returns a new run id: the UTC time, the process id and random
// hex ("20260427T101500Z-4242-9f3ac1d2").
func NewRunID() string {
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", time.Now().UTC().Format("20060102T150405Z"), os.Getpid(), hex.EncodeToString(b[:]))
}

// RunSource returns SourceCI when $KTSTR_CI or $CI is set to something
// other than "", "0" or "false", else SourceLocal.
func RunSource() string {
	for _, env := range []string{EnvCI, "CI"} {
		switch strings.ToLower(strings.TrimSpace(os.Getenv(env))) {
		case "", "0", "false":
		default:
			return SourceCI
		}
	}
	return SourceLocal
}

// Prefetch starts computing, in the background, what DefaultWriter fills
// results with (the project's commit, from git, and the host context), so
// that the first result written after a run does not wait for them. A
// test binary calls it before booting its first VM.
func Prefetch() {
	go func() {
		processCommit()
		localHost()
	}()
}
