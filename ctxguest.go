package ktstr

import (
	"fmt"
	"runtime/debug"
	"time"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/guest"
	"github.com/ktstr-go/ktstr/internal/wire"
)

// guestBody is a test body and its Ctx as the guest runtime runs them
// (guest.RunVariant).
type guestBody struct {
	ctx  *Ctx
	body Body
}

// newGuestBody returns the guest runtime's constructor of body's run in
// spec: the Ctx is made once the scheduler under test runs.
func newGuestBody(spec Spec, body Body) func(*guest.Env) guest.Body {
	return func(env *guest.Env) guest.Body {
		ctx := &Ctx{
			Topology:  newCPUTopology(env.Topology),
			Duration:  env.Request.Duration,
			Scheduler: spec.Scheduler.String(),
			Assert:    env.Request.Assert,
			sched:     env.Scheduler,
			start:     guest.Monotonic(),
		}
		ctx.Cgroups = &Cgroups{m: env.Cgroups, ctx: ctx}
		if env.Scheduler != nil {
			ctx.SchedulerPID = env.Scheduler.PID()
		}
		return &guestBody{ctx: ctx, body: body}
	}
}

// Run runs the body, turning an error or a panic into a failure.
func (b *guestBody) Run() (f *wire.Failure) {
	defer func() {
		if r := recover(); r != nil {
			f = &wire.Failure{Kind: check.Body, Message: fmt.Sprint("test body panicked: ", r), Detail: string(debug.Stack())}
		}
	}()
	if err := b.body(b.ctx); err != nil {
		return &wire.Failure{Kind: check.Body, Message: err.Error()}
	}
	return nil
}

// Phase names the body's current phase.
func (b *guestBody) Phase() (string, time.Duration) {
	c := b.ctx
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := len(c.timeline); n > 0 {
		return c.timeline[n-1].Name, c.Elapsed()
	}
	return "", c.Elapsed()
}

// Finish cleans up after the body and records what it did in res.
func (b *guestBody) Finish(res *wire.Result) {
	c := b.ctx
	c.recordPayloads(res)
	left, err := c.finish()
	res.Leftovers = append(res.Leftovers, left...)
	if err != nil {
		res.Failures = append(res.Failures, wire.Failure{Kind: check.Guest, Message: "cleaning up after the body: " + err.Error()})
	}
	res.Workers = c.all
	res.Timeline = c.timeline
	res.BodyStart = c.start
	if c.checks != nil {
		res.Checks = c.checks
		for _, f := range c.checks.Failures {
			res.Failures = append(res.Failures, wire.Failure{Kind: f.Kind, Message: f.Message})
		}
	}
}
