package gpu

import (
	"slices"
	"testing"
)

func TestResolveVisible(t *testing.T) {
	uuids := []string{
		"GPU-aaaa1111-0000-0000-0000-000000000000",
		"GPU-aaaa2222-0000-0000-0000-000000000000",
		"GPU-bbbb0000-0000-0000-0000-000000000000",
		"GPU-cccc0000-0000-0000-0000-000000000000",
	}
	tests := []struct {
		name  string
		value string
		set   bool
		want  []int
	}{
		{"unset: all", "", false, []int{0, 1, 2, 3}},
		{"empty: none", "", true, nil},
		{"-1: none", "-1", true, nil},
		{"one", "2", true, []int{2}},
		{"order kept", "2,1", true, []int{2, 1}},
		{"stops at invalid", "0,2,-1,1", true, []int{0, 2}},
		{"stops at out of range", "1,4,0", true, []int{1}},
		{"stops at empty entry", "1,,2", true, []int{1}},
		{"spaces", " 3 , 0 ", true, []int{3, 0}},
		{"repeat ends list", "1,1,2", true, []int{1}},
		{"full uuid", uuids[3], true, []int{3}},
		{"uuid prefix", "GPU-bbbb", true, []int{2}},
		{"uuid prefix lower-case", "gpu-CCCC", true, []int{3}},
		{"ambiguous prefix", "GPU-aaaa,0", true, nil},
		{"unknown uuid", "GPU-dddd", true, nil},
		{"mixed", "GPU-cccc,0", true, []int{3, 0}},
		{"MIG not placed on", "MIG-aaaa1111", true, nil},
		{"garbage", "x", true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseVisible(tt.value, tt.set).Resolve(uuids)
			if !slices.Equal(got, tt.want) {
				t.Errorf("CUDA_VISIBLE_DEVICES=%q (set %v): got %v, want %v", tt.value, tt.set, got, tt.want)
			}
		})
	}
}
