package mem

import (
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func TestCheck(t *testing.T) {
	est := Estimate{What: "decode one chunk", Resident: 50 * MiB, Peak: 100 * MiB}
	tests := []struct {
		name                  string
		budget, held, largest int64
		wantErr               error
		wantText              string
	}{
		{"fits", GiB, 0, 0, nil, ""},
		{"fits exactly", 100 * MiB, 0, 0, nil, ""},
		{"fits beside running requests", GiB, 500 * MiB, 2 * GiB, nil, ""},
		{"held fills the budget", 120 * MiB, 50 * MiB, 0, ErrRetryLater, "held by running requests"},
		{"small worker, bigger one exists", 80 * MiB, 0, GiB, ErrRetryLater, "another worker has 1.0 GiB"},
		{"no worker is big enough", 80 * MiB, 0, 90 * MiB, ErrTooBig, "needs 100.0 MiB, the largest budget is 90.0 MiB"},
		{"largest unknown: own budget", 80 * MiB, 0, 0, ErrTooBig, "the largest budget is 80.0 MiB"},
		{"stale largest below own budget", GiB, 0, 10 * MiB, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(est, tt.budget, tt.held, tt.largest)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("Check = %v, want %v containing %q", err, tt.wantErr, tt.wantText)
			}
			if errors.Is(err, ErrRetryLater) && errors.Is(err, ErrTooBig) {
				t.Fatalf("Check = %v: both retry and too big", err)
			}
		})
	}
}

func TestGate(t *testing.T) {
	est := Estimate{What: "x", Resident: 50 * MiB, Peak: 80 * MiB} // 30 MiB transient
	largest := int64(0)
	g := NewGate(130 * MiB)

	r1, err := g.Acquire(est, largest)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := g.Acquire(est, largest) // 80 + 30 held = 110 ≤ 130
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Acquire(est, largest); !errors.Is(err, ErrRetryLater) { // 80 + 60 held > 130
		t.Fatalf("third Acquire = %v, want ErrRetryLater", err)
	}
	if g.Held() != 60*MiB {
		t.Fatalf("held = %s, want 60 MiB", FormatSize(g.Held()))
	}
	released := g.Released()
	r1()
	select {
	case <-released:
	default:
		t.Fatal("Released not closed by a release")
	}
	r1() // idempotent
	if g.Held() != 30*MiB {
		t.Fatalf("held after one release = %s, want 30 MiB", FormatSize(g.Held()))
	}
	r3, err := g.Acquire(est, largest)
	if err != nil {
		t.Fatal(err)
	}
	r2()
	r3()
	if g.Held() != 0 {
		t.Fatalf("held after all releases = %s", FormatSize(g.Held()))
	}

	big := Estimate{What: "huge", Resident: 50 * MiB, Peak: GiB}
	if _, err := g.Acquire(big, largest); !errors.Is(err, ErrTooBig) {
		t.Fatalf("Acquire(huge) = %v, want ErrTooBig", err)
	}
	largest = 2 * GiB // a bigger worker appears in the heartbeats
	if _, err := g.Acquire(big, largest); !errors.Is(err, ErrRetryLater) {
		t.Fatalf("Acquire(huge) with a 2 GiB worker = %v, want ErrRetryLater", err)
	}
}

// TestGateConcurrent: however Acquire calls interleave, what the admitted
// requests hold never exceeds the budget, and everything is given back.
func TestGateConcurrent(t *testing.T) {
	est := Estimate{What: "x", Resident: 10 * MiB, Peak: 20 * MiB}
	g := NewGate(60 * MiB) // room for 5 at once
	var wg sync.WaitGroup
	var mu sync.Mutex
	admitted, refused := 0, 0
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, err := g.Acquire(est, 0)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if !errors.Is(err, ErrRetryLater) {
					t.Errorf("Acquire = %v, want ErrRetryLater", err)
				}
				refused++
				return
			}
			admitted++
			if held := g.Held(); est.Resident+held > g.Budget() {
				t.Errorf("resident %s + held %s over the budget %s", FormatSize(est.Resident), FormatSize(held), FormatSize(g.Budget()))
			}
			go release()
		}()
	}
	wg.Wait()
	for g.Held() != 0 {
		runtime.Gosched() // the last releases run in their own goroutines
	}
	if admitted == 0 {
		t.Fatalf("nothing admitted (%d refused)", refused)
	}
}
