package runner_test

import (
	"reflect"
	"testing"

	"github.com/reel-video/reel/runner"
)

func TestParseSpecs(t *testing.T) {
	stages := []string{"textenc", "denoise", "vaedecode"}
	goS, torch := runner.Spec{Kind: runner.KindGo}, runner.Spec{Kind: runner.KindTorch}
	for _, tc := range []struct {
		in   string
		want map[string]runner.Spec
		bad  bool
	}{
		{in: "", want: map[string]runner.Spec{"textenc": goS, "denoise": goS, "vaedecode": goS}},
		{in: "torch", want: map[string]runner.Spec{"textenc": torch, "denoise": torch, "vaedecode": torch}},
		{in: "vaedecode=torch,denoise=go", want: map[string]runner.Spec{"textenc": goS, "denoise": goS, "vaedecode": torch}},
		{in: "torch,denoise=go", want: map[string]runner.Spec{"textenc": torch, "denoise": goS, "vaedecode": torch}},
		{in: "vaedecode=exec:/opt/r --gpu 1", want: map[string]runner.Spec{"textenc": goS, "denoise": goS,
			"vaedecode": {Kind: runner.KindExec, Command: []string{"/opt/r", "--gpu", "1"}}}},
		{in: "exec:/opt/r --fail=x,denoise=exec:/opt/d --a=b", want: map[string]runner.Spec{"textenc": {Kind: runner.KindExec, Command: []string{"/opt/r", "--fail=x"}},
			"denoise": {Kind: runner.KindExec, Command: []string{"/opt/d", "--a=b"}}, "vaedecode": {Kind: runner.KindExec, Command: []string{"/opt/r", "--fail=x"}}}},
		{in: "cuda", bad: true},
		{in: "exec:", bad: true},
		{in: "encode=torch", bad: true},
		{in: "vaedecode=jax", bad: true},
	} {
		got, err := runner.ParseSpecs(tc.in, stages)
		if tc.bad {
			if err == nil {
				t.Errorf("%q: no error, got %v", tc.in, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}
