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

// processFDs is what a process's fdinfo shows of the BPF objects it
// holds; each list sorted, each id once.
type processFDs struct {
	// progs are the programs of its program fds and of its BPF links
	// that hold one.
	progs []uint32
	// maps are the maps of its map fds and of its struct_ops links.
	maps []uint32
	// structOps are those maps that are sched_ext struct_ops maps.
	structOps []uint32
}

// processBPF lists what the fdinfo directory dir (/proc/<pid>/fdinfo)
// shows of BPF objects.
func processBPF(dir string) (processFDs, error) {
	var p processFDs
	ents, err := os.ReadDir(dir)
	if err != nil {
		return p, err
	}
	for _, e := range ents {
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed since the listing
		}
		fi, err := parseFdinfo(f)
		f.Close()
		if err != nil {
			return processFDs{}, fmt.Errorf("%s/%s: %w", dir, e.Name(), err)
		}
		if fi.progID != 0 {
			p.progs = append(p.progs, fi.progID)
		}
		if fi.mapID != 0 {
			p.maps = append(p.maps, fi.mapID)
		}
		if fi.structOpsMap != 0 {
			p.structOps = append(p.structOps, fi.structOpsMap)
		}
	}
	for _, l := range []*[]uint32{&p.progs, &p.maps, &p.structOps} {
		slices.Sort(*l)
		*l = slices.Compact(*l)
	}
	return p, nil
}

// fdinfo is what one /proc/<pid>/fdinfo/<fd> file tells of BPF objects;
// zero ids for any other fd.
type fdinfo struct {
	// progID is a program fd's program, or the program a BPF link holds.
	progID uint32
	// mapID is a map fd's map, or the map a struct_ops link holds.
	mapID uint32
	// structOpsMap is mapID when that is a struct_ops map.
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
	if _, isMap := fields["map_type"]; isMap || fields["link_type"] == "struct_ops" {
		if fi.mapID, err = id("map_id"); err != nil {
			return fdinfo{}, err
		}
	}
	if fields["map_type"] == bpfMapTypeStructOps || fields["link_type"] == "struct_ops" {
		fi.structOpsMap = fi.mapID
	}
	return fi, nil
}
