package host

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// The host's scratch directory holds this process's initramfs archives and
// VM sockets. It is created on first use and removed when Main returns or
// the process is interrupted.
var scratch struct {
	mu    sync.Mutex
	build sync.Mutex // held while an archive is built
	dir   string
	// initrds caches built archives by content digest: every variant of a
	// test binary with the same scheduler boots the same archive.
	initrds map[string]*builtInitrd
}

func scratchDir() (string, error) {
	scratch.mu.Lock()
	defer scratch.mu.Unlock()
	if scratch.dir == "" {
		d, err := os.MkdirTemp("", fmt.Sprintf("ktstr-%d-", os.Getpid()))
		if err != nil {
			return "", fmt.Errorf("scratch directory: %w", err)
		}
		scratch.dir = d
	}
	return scratch.dir, nil
}

// sweepStaleScratch removes scratch directories of ktstr processes that are
// gone: a process killed with SIGKILL or crashed by a panic in a test never
// got to clean up.
func sweepStaleScratch() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "ktstr-*-*"))
	for _, d := range dirs {
		pid, err := strconv.Atoi(strings.Split(filepath.Base(d), "-")[1])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if !processAlive(pid) {
			os.RemoveAll(d)
		}
	}
}

func cleanupScratch() {
	scratch.mu.Lock()
	defer scratch.mu.Unlock()
	if scratch.dir != "" {
		os.RemoveAll(scratch.dir)
		scratch.dir = ""
		scratch.initrds = nil
	}
}

// processAlive tells whether pid is a live process; a zombie is dead.
func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z'
	}
	return true
}
