package orchestrator

import (
	"fmt"
	"testing"
)

// TestFoldCacheEvictsOldestOnce: a record dropped (a write conflict) and
// cached again holds one place in the eviction order, so it stays until
// foldCacheSize other jobs have come after it.
func TestFoldCacheEvictsOldestOnce(t *testing.T) {
	c := newFoldCache()
	rec := []byte(`{"id":"a"}`)
	c.put("a", rec, 1)
	c.drop("a")
	c.put("a", rec, 2)
	for i := range foldCacheSize - 1 {
		c.put(fmt.Sprintf("j%d", i), rec, 1)
	}
	if _, rev, ok := c.get("a"); !ok || rev != 2 {
		t.Fatalf("a: cached %v, revision %d; want revision 2 with %d jobs cached", ok, rev, foldCacheSize)
	}
	c.put("one more", rec, 1)
	if _, _, ok := c.get("a"); ok {
		t.Fatal("a is still cached after one job more than the cache holds")
	}
	if _, _, ok := c.get("j0"); !ok {
		t.Fatal("j0 was evicted before a, which is older")
	}
}
