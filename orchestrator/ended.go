package orchestrator

import (
	"sync"

	"github.com/reel-video/reel/bus/protocol"
)

// endedRemembered bounds how many ended jobs a Store remembers: enough for
// the jobs whose messages may still be queued behind their end.
const endedRemembered = 4096

// endedJobs remembers the jobs a process has seen end, oldest forgotten
// first (the projection has them long before).
type endedJobs struct {
	mu    sync.Mutex
	limit int
	state map[string]protocol.State
	order []string
}

func newEndedJobs(limit int) *endedJobs {
	return &endedJobs{limit: limit, state: map[string]protocol.State{}}
}

// add remembers the first end of job only: the first ending event wins.
func (e *endedJobs) add(job string, st protocol.State) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.state[job]; ok {
		return
	}
	if len(e.order) >= e.limit {
		delete(e.state, e.order[0])
		e.order = e.order[1:]
	}
	e.state[job] = st
	e.order = append(e.order, job)
}

func (e *endedJobs) get(job string) (protocol.State, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, ok := e.state[job]
	return st, ok
}
