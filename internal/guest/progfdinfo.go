//go:build linux

package guest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// What a process's /proc/<pid>/fdinfo tells of the BPF objects it holds:
// a program fd and a BPF link that holds a program give a prog_id, a
// struct_ops map and a struct_ops link a map_id (testdata/fdinfo-scx_simple
// is a real one).

// processBPF lists what the fdinfo directory dir (/proc/<pid>/fdinfo)
// shows of BPF objects: the programs of its program fds and of its BPF
// links that hold one, and its sched_ext struct_ops maps (held directly or
// through a struct_ops link); each list sorted, each id once.
func processBPF(dir string) (progs, structOps []uint32, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range ents {
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed since the listing
		}
		fi, err := parseFdinfo(f)
		f.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("%s/%s: %w", dir, e.Name(), err)
		}
		if fi.progID != 0 {
			progs = append(progs, fi.progID)
		}
		if fi.structOpsMap != 0 {
			structOps = append(structOps, fi.structOpsMap)
		}
	}
	slices.Sort(progs)
	slices.Sort(structOps)
	return slices.Compact(progs), slices.Compact(structOps), nil
}

// fdinfo is what one /proc/<pid>/fdinfo/<fd> file tells of BPF objects;
// zero ids for any other fd.
type fdinfo struct {
	// progID is a program fd's program, or the program a BPF link holds.
	progID uint32
	// structOpsMap is a struct_ops map fd's map, or the map a struct_ops
	// link holds.
	structOpsMap uint32
}

// bpfMapTypeStructOps is BPF_MAP_TYPE_STRUCT_OPS, as fdinfo's map_type
// gives it.
const bpfMapTypeStructOps = "26"

// parseFdinfo reads one fdinfo file.
func parseFdinfo(r io.Reader) (fdinfo, error) {
	fields := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok {
			fields[k] = strings.TrimSpace(v)
		}
	}
	if err := sc.Err(); err != nil {
		return fdinfo{}, err
	}
	id := func(key string) (uint32, error) {
		v, ok := fields[key]
		if !ok {
			return 0, nil
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("%s %q: %w", key, v, err)
		}
		return uint32(n), nil
	}
	var fi fdinfo
	var err error
	if fi.progID, err = id("prog_id"); err != nil {
		return fdinfo{}, err
	}
	if fields["map_type"] == bpfMapTypeStructOps || fields["link_type"] == "struct_ops" {
		if fi.structOpsMap, err = id("map_id"); err != nil {
			return fdinfo{}, err
		}
	}
	return fi, nil
}
