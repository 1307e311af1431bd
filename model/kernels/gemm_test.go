package kernels

import "testing"

func TestRowTiles(t *testing.T) {
	for _, mr := range []int{4, 6} {
		for m := 1; m < 100; m++ {
			ts := rowTiles(m, mr)
			sum := 0
			for _, h := range ts {
				if h < 1 || h > mr || (m >= mr && h < mr/2) {
					t.Fatalf("rowTiles(%d, %d) = %v", m, mr, ts)
				}
				sum += h
			}
			if sum != m || len(ts) > m/mr+2 {
				t.Fatalf("rowTiles(%d, %d) = %v", m, mr, ts)
			}
		}
	}
}

func TestKcFor(t *testing.T) {
	for _, nr := range []int{8, 16, 32} {
		for k := 1; k < 5000; k += 7 {
			kc := kcFor(k, nr)
			nb := (k + kc - 1) / kc
			if kc*nr > 10240 || kc < 1 || nb*kc-k >= nb {
				t.Fatalf("kcFor(%d, %d) = %d", k, nr, kc)
			}
		}
	}
}
