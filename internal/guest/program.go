package guest

import (
	"fmt"
	"sync"
)

// A Program is what a guest binary that is not a test binary runs when the
// host asks for it by name (wire.Request.Program): the ktstr command's
// shell, say. It gets what a test body gets (the guest set up, the topology
// checked, the body's cgroups, the scheduler under test attached) and
// returns the body to run.
type Program func(env *Env) Body

var programs struct {
	sync.Mutex
	byName map[string]Program
}

// RegisterProgram makes p runnable by name in this binary's guest. Call it
// before [Init], typically from an init function, as image formats and
// database drivers register themselves. Registering a name twice panics:
// it is a programming error.
func RegisterProgram(name string, p Program) {
	programs.Lock()
	defer programs.Unlock()
	if programs.byName == nil {
		programs.byName = map[string]Program{}
	}
	if _, dup := programs.byName[name]; dup {
		panic(fmt.Sprintf("guest: program %q registered twice", name))
	}
	programs.byName[name] = p
}

func lookupProgram(name string) (Program, bool) {
	programs.Lock()
	defer programs.Unlock()
	p, ok := programs.byName[name]
	return p, ok
}
