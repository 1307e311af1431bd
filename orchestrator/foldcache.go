package orchestrator

import (
	"encoding/json"
	"slices"
	"sync"
)

// foldCacheSize bounds the records a projector keeps: the jobs running at
// once, with room to spare.
const foldCacheSize = 1024

// foldCache keeps the records this projector wrote last, with their KV
// revisions, so that the next event of a job (a sampler's steps come one
// after another) folds into the record without reading it back: a KV get
// was one of the four bus round trips of every event, and the projector
// folds one event at a time for the whole deployment. A record that
// another projector host (or a delete) changed since fails the write's
// revision check and is read again (fold).
type foldCache struct {
	mu    sync.Mutex
	recs  map[string]cachedRecord
	order []string // oldest first, for eviction
}

type cachedRecord struct {
	data []byte // the record as written
	rev  uint64
}

func newFoldCache() *foldCache { return &foldCache{recs: map[string]cachedRecord{}} }

// get returns a copy of job's cached record and its revision.
func (c *foldCache) get(job string) (*Job, uint64, bool) {
	c.mu.Lock()
	r, ok := c.recs[job]
	c.mu.Unlock()
	if !ok {
		return nil, 0, false
	}
	var j Job
	if err := json.Unmarshal(r.data, &j); err != nil {
		return nil, 0, false
	}
	return &j, r.rev, true
}

// put remembers the record written as revision rev.
func (c *foldCache) put(job string, data []byte, rev uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.recs[job]; !ok {
		if len(c.order) >= foldCacheSize {
			delete(c.recs, c.order[0])
			c.order = c.order[1:]
		}
		c.order = append(c.order, job)
	}
	c.recs[job] = cachedRecord{data: data, rev: rev}
}

// drop forgets job's record: it is not the latest any more. Its place in
// the eviction order goes too, or a later put would add a second one (the
// scan is rare: only a write conflict drops).
func (c *foldCache) drop(job string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.recs[job]; !ok {
		return
	}
	delete(c.recs, job)
	c.order = slices.DeleteFunc(c.order, func(j string) bool { return j == job })
}
