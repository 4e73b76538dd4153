package gotest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ktstr-go/ktstr/internal/env"
)

// List is `ktstr test --list`: it runs the test binaries in list mode and
// prints the variants each would run, by package, in the order they came.
func (s *Session) List(ctx context.Context, environ []string) (int, error) {
	s.run = NewRun()
	variants := map[string][]string{}
	partial := map[string][]byte{}
	code, err := s.Go(ctx, s.Args.Command("./..."), environ, func(ev Event, _ []byte) {
		s.run.Apply(ev)
		if ev.Action != ActionOutput {
			return
		}
		key := ev.Package + "\x00" + ev.Test
		buf := append(partial[key], ev.Output...)
		for {
			i := bytes.IndexByte(buf, '\n')
			if i < 0 {
				break
			}
			line := strings.TrimRight(string(buf[:i]), "\r")
			buf = buf[i+1:]
			if name, ok := strings.CutPrefix(line, env.VariantPrefix); ok {
				variants[ev.Package] = append(variants[ev.Package], strings.TrimSpace(name))
			} else if strings.HasPrefix(line, "ktstr budget: ") {
				fmt.Fprintln(s.Stderr, line)
			}
		}
		partial[key] = buf
	}, func(line []byte, _ bool) {
		fmt.Fprintf(s.Stderr, "%s\n", line)
	})
	if err != nil {
		return 0, err
	}
	pkgs := make([]string, 0, len(variants))
	for p := range variants {
		pkgs = append(pkgs, p)
	}
	slices.Sort(pkgs)
	var b strings.Builder
	for _, p := range pkgs {
		for _, v := range variants[p] {
			b.WriteString(v + "\n")
		}
	}
	io.WriteString(s.Stdout, b.String())
	if code != 0 {
		s.run.Finish()
		rows := s.run.Rows()
		var failed []Row
		for _, r := range rows {
			if r.Status == Failed {
				failed = append(failed, r)
			}
		}
		WriteFailures(s.Stderr, failed)
		fmt.Fprintf(s.Stderr, "ktstr: listing failed (go test exit status %d)\n", code)
		return code, nil
	}
	return 0, nil
}

// countStall is how long one test may run in the listing pass before the
// pass is given up: in list mode nothing boots, so a test that takes this
// long is doing real work (a test library without list mode, or a slow
// plain test), and the count is not worth the wait.
const countStall = 15 * time.Second

// Count runs the listing pass to learn how many variants the run will
// have: the leaf tests of a run in list mode. It returns 0 when that
// fails or stalls (see countStall).
func (s *Session) Count(ctx context.Context, environ []string) int {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.run = NewRun()
	s.run.Now = s.Now
	s.progress = NewProgress(s.Stderr, s.Now, s.Width, 100*time.Millisecond)
	s.progress.Prefix = "ktstr: building and listing the variants…"
	var stalled string
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	ticking := make(chan struct{})
	var ticker sync.WaitGroup
	ticker.Add(1)
	go func() {
		defer ticker.Done()
		for {
			select {
			case <-ticking:
				return
			case <-tick.C:
			}
			s.mu.Lock()
			for _, t := range s.run.Running() {
				if s.Now().Sub(t.Resumed) > countStall && stalled == "" {
					stalled = t.Name
					cancel()
				}
			}
			s.progress.Update(s.run, false)
			s.mu.Unlock()
		}
	}()
	code, err := s.Go(ctx, s.Args.Command("./..."), environ, func(ev Event, _ []byte) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.run.Apply(ev)
		if ev.Action == ActionStart {
			s.progress.Prefix = "ktstr: listing the variants of " + ev.Package + "…"
			s.progress.Update(s.run, false)
		}
	}, func([]byte, bool) {})
	close(ticking)
	ticker.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.progress.Clear()
	s.progress = nil
	total := 0
	for _, p := range s.run.Packages {
		total += len(p.Variants())
	}
	s.run = nil
	switch {
	case stalled != "":
		fmt.Fprintf(s.Stderr, "ktstr: not counting the variants first: %s ran over %v in list mode; the progress shows no total\n", stalled, countStall)
		return 0
	case err != nil || code != 0:
		return 0
	}
	return total
}
