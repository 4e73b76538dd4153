package kconfig

import (
	"bytes"
	_ "embed"
)

//go:embed sched_ext.config
var schedExt []byte

// SchedExt returns ktstr's config fragment (sched_ext.config in this
// package's source): what a kernel needs for sched_ext and for the
// harness's guest. Every option is built in, since the guest loads no
// modules.
func SchedExt() []byte { return bytes.Clone(schedExt) }
