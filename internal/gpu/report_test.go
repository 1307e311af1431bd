package gpu

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestReports(t *testing.T) {
	b := newH100(t)
	m, err := Open(t.Context(), b, ParseVisible("1,0", true))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	devs, err := m.Devices(t.Context())
	if err != nil {
		t.Fatal(err)
	}

	var js bytes.Buffer
	if err := WriteJSON(&js, devs); err != nil {
		t.Fatal(err)
	}
	var back []Device
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back) != 2 || back[0].UUID != b.devs[1].UUID || back[0].Memory.Used != 2*gib || back[0].Processes[0].PID != 1001 {
		t.Errorf("JSON round trip = %+v", back)
	}

	var none bytes.Buffer
	if err := WriteJSON(&none, nil); err != nil || strings.TrimSpace(none.String()) != "[]" {
		t.Errorf("no devices: %q, %v; want []", none.String(), err)
	}

	var tab bytes.Buffer
	if err := WriteTable(&tab, devs); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(tab.String(), "\n")
	for _, want := range []struct {
		line int
		has  []string
	}{
		{1, []string{"0", "1", "NVIDIA H100 80GB HBM3", b.devs[1].UUID, "80.0 GiB", "2.0 GiB", "78.0 GiB", "10%", "5%"}},
		{2, []string{"1", "0", b.devs[0].UUID, "1.0 GiB", "79.0 GiB", "0%"}},
		{5, []string{"0", "1001", "2.0 GiB"}},
	} {
		for _, s := range want.has {
			if !strings.Contains(lines[want.line], s) {
				t.Errorf("line %d %q lacks %q\n%s", want.line, lines[want.line], s, tab.String())
			}
		}
	}
}
