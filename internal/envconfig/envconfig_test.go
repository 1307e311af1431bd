package envconfig

import (
	"os"
	"strings"
	"testing"
)

func TestBool(t *testing.T) {
	for _, c := range []struct {
		value string
		set   bool
		want  bool
	}{
		{"", false, false}, {"", true, false}, {"1", true, true}, {"true", true, true},
		{"0", true, false}, {"false", true, false}, {"yes", true, true}, {" 1 ", true, true},
	} {
		if c.set {
			t.Setenv(GPULive, c.value)
		} else {
			t.Setenv(GPULive, "x")
			os.Unsetenv(GPULive)
		}
		if got := Bool(GPULive); got != c.want {
			t.Errorf("%s=%q (set %v): %v, want %v", GPULive, c.value, c.set, got, c.want)
		}
	}
}

func TestAccessorsReadAtCallTime(t *testing.T) {
	t.Setenv(NATS, "")
	if got := NATSURL(); got != DefaultNATSURL {
		t.Errorf("NATSURL() with REEL_NATS empty = %q", got)
	}
	t.Setenv(NATS, "nats://a:4222,nats://b:4222")
	if got := NATSURL(); got != "nats://a:4222,nats://b:4222" {
		t.Errorf("NATSURL() = %q", got)
	}
	t.Setenv(LoadJobs, "17")
	if got := Int(LoadJobs, DefaultLoadJobs); got != 17 {
		t.Errorf("Int = %d", got)
	}
	t.Setenv(LoadJobs, "many")
	if got := Int(LoadJobs, DefaultLoadJobs); got != DefaultLoadJobs {
		t.Errorf("Int of a non-number = %d, want the default", got)
	}
	t.Setenv(XDGDataHome, "relative/dir")
	if got := DataHome(); got != "" {
		t.Errorf("DataHome with a relative path = %q, want ignored", got)
	}
	t.Setenv(XDGDataHome, "/data")
	if got := DataHome(); got != "/data" {
		t.Errorf("DataHome = %q", got)
	}
	t.Setenv(CUDAVisible, "")
	if v, ok := CUDAVisibleDevices(); !ok || v != "" {
		t.Errorf("CUDA_VISIBLE_DEVICES set empty: %q, %v (set but empty hides every device)", v, ok)
	}
	t.Setenv(GoMemLimitVar, "1GiB")
	if !GoMemLimitSet() {
		t.Error("GOMEMLIMIT set, GoMemLimitSet false")
	}
}

func TestVarsDeclaredOnce(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range Vars() {
		if v.Name == "" || v.Help == "" || v.UsedBy == "" || v.Scope == "" {
			t.Errorf("incomplete declaration %+v", v)
		}
		if seen[v.Name] {
			t.Errorf("%s declared twice", v.Name)
		}
		seen[v.Name] = true
		if got, ok := Lookup(v.Name); !ok || got != v {
			t.Errorf("Lookup(%s) = %+v, %v", v.Name, got, ok)
		}
	}
	if _, ok := Lookup("REEL_NOPE"); ok {
		t.Error("Lookup found an undeclared variable")
	}
}

// The README's table is Markdown(): `reel env --markdown` regenerates it.
func TestREADMETable(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	i := strings.Index(readme, "## Environment variables\n")
	if i < 0 {
		t.Fatal("README has no Environment variables section")
	}
	section := readme[i:]
	if j := strings.Index(section[1:], "\n## "); j >= 0 {
		section = section[:j+1]
	}
	if !strings.Contains(section, Markdown()) {
		t.Errorf("README's environment table differs from internal/envconfig; paste `reel env --markdown`:\n%s", Markdown())
	}
}

func TestWriteTextMarksSetVariables(t *testing.T) {
	t.Setenv(DiT, "/w/dit.safetensors")
	t.Setenv(VAE, "x")
	os.Unsetenv(VAE)
	var b strings.Builder
	if err := WriteText(&b, Runtime); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) > 1 && f[0] == DiT && f[1] != "yes":
			t.Errorf("REEL_DIT set but not marked: %q", line)
		case len(f) > 1 && f[0] == VAE && f[1] == "yes":
			t.Errorf("REEL_VAE unset but marked: %q", line)
		}
	}
	if strings.Contains(out, "/w/dit.safetensors") || strings.Contains(out, GPULive) {
		t.Errorf("printed a value or a test variable:\n%s", out)
	}
}
