package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// manifests decodes every document of the Kubernetes files.
func manifests(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, f := range []string{"setup.yaml", "stages.yaml", "gateway.yaml"} {
		b, err := os.ReadFile("../../deploy/k8s/" + f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var doc map[string]any
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if doc != nil {
				out = append(out, doc)
			}
		}
	}
	return out
}

// dig walks maps and the first element of lists.
func dig(v any, path ...string) any {
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			if len(x) == 0 {
				return nil
			}
			v = dig(x[0], p)
		default:
			return nil
		}
	}
	return v
}

// The Kubernetes manifests run as written: every reel container probes
// /healthz and /readyz, takes NATS credentials from a Secret as environment
// (no password in its arguments), denoise has resource limits, a Job runs
// `reel setup`, and KEDA scales denoise and vaedecode on their consumers
// through the NATS chart's headless service.
func TestKubernetesManifests(t *testing.T) {
	docs := manifests(t)
	var deployments, scaled []string
	job := false
	for _, d := range docs {
		kind, name := d["kind"], dig(d, "metadata", "name")
		spec := dig(d, "spec", "template", "spec")
		switch kind {
		case "Deployment":
			deployments = append(deployments, name.(string))
			c := dig(spec, "containers")
			for _, probe := range []string{"livenessProbe", "readinessProbe"} {
				if dig(c, probe, "httpGet", "path") == nil {
					t.Errorf("%s: no %s", name, probe)
				}
			}
			if dig(c, "readinessProbe", "httpGet", "path") != "/readyz" {
				t.Errorf("%s: readiness is not /readyz", name)
			}
			if dig(c, "envFrom", "secretRef", "name") != "reel-nats" {
				t.Errorf("%s: NATS credentials not from the reel-nats Secret", name)
			}
			args, _ := dig(c, "args").([]any)
			for _, a := range args {
				if s, _ := a.(string); strings.Contains(s, "password") || strings.Contains(s, "NATS_") {
					t.Errorf("%s: credentials on the command line: %v", name, args)
				}
			}
			if name == "reel-denoise" && (dig(c, "resources", "limits", "memory") == nil || dig(c, "resources", "limits", "cpu") == nil) {
				t.Errorf("reel-denoise: no cpu/memory limits")
			}
		case "Job":
			args, _ := dig(spec, "containers", "args").([]any)
			job = job || (len(args) > 0 && args[0] == "setup")
		case "ScaledObject":
			trig := dig(d, "spec", "triggers")
			if dig(trig, "type") != "nats-jetstream" {
				continue
			}
			ep, _ := dig(trig, "metadata", "natsServerMonitoringEndpoint").(string)
			if !strings.HasPrefix(ep, "nats-headless.") || !strings.HasSuffix(ep, ":8222") {
				t.Errorf("%s: monitoring endpoint %q is not the chart's headless service on 8222", name, ep)
			}
			if c := dig(trig, "metadata", "consumer"); c != name { // ScaledObject reel-X scales consumer reel-X
				t.Errorf("%s: consumer %v", name, c)
			}
			scaled = append(scaled, dig(d, "spec", "scaleTargetRef", "name").(string))
		}
	}
	for _, want := range []string{"reel-textenc", "reel-denoise", "reel-vaedecode", "reel-encode", "reel-gateway"} {
		if !slices.Contains(deployments, want) {
			t.Errorf("no Deployment %s", want)
		}
	}
	for _, want := range []string{"reel-denoise", "reel-vaedecode"} {
		if !slices.Contains(scaled, want) {
			t.Errorf("KEDA does not scale %s", want)
		}
	}
	if !job {
		t.Error("no Job running reel setup")
	}
}

// The image has a writable data volume, a working directory for client
// output, a health check through `reel probe`, and exposes its ports.
func TestDockerfileRuns(t *testing.T) {
	b, err := os.ReadFile("../../deploy/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	for _, re := range []string{
		`(?m)^VOLUME \["/data"\]`, `(?m)^WORKDIR /work`, `(?m)^EXPOSE .*8080`, `(?m)^EXPOSE .*9090`,
		`chown reel:reel /data /work`, `(?m)^ENV .*XDG_DATA_HOME=/data`,
		`(?m)^\s+CMD \["reel", "probe", "http://127.0.0.1:9090/healthz"\]`,
	} {
		if !regexp.MustCompile(re).MatchString(df) {
			t.Errorf("deploy/Dockerfile lacks %s", re)
		}
	}
	// The health check's command exists (hidden).
	root := newRoot()
	if cmd, _, err := root.Find([]string{"probe"}); err != nil || cmd.Name() != "probe" {
		t.Errorf("reel probe: %v", err)
	}
}
