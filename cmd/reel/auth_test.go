package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/clientapi"
	"github.com/reel-video/reel/orchestrator"
	"github.com/rs/zerolog"
)

// authRig is a nats-server process with the roles `reel auth init` wrote,
// the four stages and the client API each as their own user.
type authRig struct {
	t    *testing.T
	url  string
	auth string // the auth directory
}

func (r *authRig) creds(user string) []string {
	return []string{"--nats", r.url, "--nats-user", user, "--nats-password-file", filepath.Join(r.auth, user+".password")}
}

func (r *authRig) password(user string) string {
	b, err := os.ReadFile(filepath.Join(r.auth, user+".password"))
	if err != nil {
		r.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// conn connects as user, collecting the server's async errors
// (permission violations) on errs.
func (r *authRig) conn(user, inbox string, errs chan<- error) *nats.Conn {
	r.t.Helper()
	opts := []nats.Option{nats.UserInfo(user, r.password(user)),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err })}
	if inbox != "" {
		opts = append(opts, nats.CustomInboxPrefix(inbox))
	}
	nc, err := nats.Connect(r.url, opts...)
	if err != nil {
		r.t.Fatalf("connect as %s: %v", user, err)
	}
	r.t.Cleanup(nc.Close)
	return nc
}

// violation publishes on subject as nc and reports whether the server
// refused it with a permissions violation.
func violation(t *testing.T, nc *nats.Conn, errs <-chan error, subject string) bool {
	t.Helper()
	if err := nc.Publish(subject, []byte("forged")); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	// The server answers a refused publish with -ERR before the PONG of
	// the flush; the handler runs asynchronously right after.
	select {
	case err := <-errs:
		return errors.Is(err, nats.ErrPermissionViolation) || strings.Contains(err.Error(), "Permissions Violation")
	case <-time.After(2 * time.Second):
		return false
	}
}

// Issue 13 item 2: the roles of `reel auth init`, enforced by a real
// nats-server. A client cannot publish on reel.latent.* or reel.frames.*,
// nor touch JetStream, nor read, cancel or download another client's job
// through the client API; a stage cannot publish another stage's outputs; a
// tampered video is an error on download, not a file.
func TestRolesIsolateJobs(t *testing.T) {
	dir := t.TempDir()
	auth := filepath.Join(dir, "auth")
	ctx := bustest.Ctx(t, 3*time.Minute)
	if _, stderr, code := run(t, ctx, "auth", "init", "--dir", auth, "--client", "alice", "--client", "bob"); code != 0 {
		t.Fatalf("auth init: %s", stderr)
	}
	conf, err := os.ReadFile(filepath.Join(auth, "auth.conf")) // include paths are relative to the config
	if err != nil {
		t.Fatal(err)
	}
	c := bustest.NewCluster(t, bustest.ClusterOptions{Nodes: 1, Bin: bustest.NATSServerBin(t, dir), Extra: string(conf)})
	r := &authRig{t: t, url: c.Nodes[0].URL(), auth: auth}
	if _, stderr, code := run(t, ctx, append([]string{"setup", "--max-bytes", "268435456"}, r.creds("admin")...)...); code != 0 {
		t.Fatalf("setup as admin: %s", stderr)
	}
	for _, s := range protocol.Stages() {
		start(t, false, append([]string{"stage", s, "--log-format", "json", "--work-dir", dir}, r.creds(s)...)...)
	}
	start(t, false, append([]string{"client-api", "--log-format", "json"}, r.creds("admin")...)...)

	aliceErrs, bobErrs, stageErrs := make(chan error, 16), make(chan error, 16), make(chan error, 16)
	alice := clientapi.Client{NC: r.conn("alice", bus.ClientInbox("alice"), aliceErrs), Name: "alice"}
	bob := clientapi.Client{NC: r.conn("bob", bus.ClientInbox("bob"), bobErrs), Name: "bob"}
	set := protocol.DefaultSettings()
	set.Frames, set.Steps = 16, 2
	submit := func(c clientapi.Client) string {
		var id string
		err := bus.ClientRetry.Do(ctx, zerolog.Nop(), "submit", func(ctx context.Context) error {
			rep, err := c.Call(ctx, clientapi.OpSubmit, clientapi.Request{Prompt: protocol.Request{Prompt: "a red circle moving right"}, Settings: set})
			id = rep.Job
			return err
		})
		if err != nil {
			t.Fatalf("%s submits: %v", c.Name, err)
		}
		return id
	}
	aj, bj := submit(alice), submit(bob)
	if !strings.HasPrefix(aj, "alice-") || !strings.HasPrefix(bj, "bob-") {
		t.Fatalf("job ids %q %q carry no owner", aj, bj)
	}
	var admin *bus.Bus
	admin, err = bus.Open(ctx, bus.ConnectConfig{URL: r.url, User: "admin", Password: r.password("admin")}, bus.LayoutConfig{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	store := orchestrator.NewStore(admin, zerolog.Nop())
	for _, id := range []string{aj, bj} {
		if j, err := store.Wait(ctx, id); err != nil || j.State != protocol.StateSucceeded {
			t.Fatalf("job %s: %v %v", id, j, err)
		}
		// The client API reads the record, a projection of the events
		// that may trail them by a moment.
		if err := store.Settled(ctx, id); err != nil {
			t.Fatalf("job %s: record: %v", id, err)
		}
	}

	// Alice reads, and downloads, her own job.
	rep, err := alice.Call(ctx, clientapi.OpVideo, clientapi.Request{Job: aj})
	if err != nil || len(rep.Video) == 0 {
		t.Fatalf("alice's own video: %v", err)
	}
	// Bob's job is not hers to read, download or cancel.
	for _, op := range []string{clientapi.OpStatus, clientapi.OpVideo, clientapi.OpCancel} {
		if _, err := alice.Call(ctx, op, clientapi.Request{Job: bj}); err == nil || !strings.Contains(err.Error(), clientapi.ErrNotYours.Error()) {
			t.Errorf("alice %s on bob's job: %v, want %q", op, err, clientapi.ErrNotYours)
		}
	}
	// A client has no stage subjects, no JetStream and no one else's API.
	for _, subj := range []string{protocol.LatentSubject(bj, 0), protocol.FramesSubject(bj, 0), protocol.PromptSubject("alice-x"),
		protocol.VideoSubject(bj), "$JS.API.DIRECT.GET.KV_reel-jobs.$KV.reel-jobs." + bj, "$JS.API.STREAM.PURGE.REEL",
		"$O.reel-blobs.C.x", bus.APISubject("bob", clientapi.OpCancel)} {
		if !violation(t, alice.NC, aliceErrs, subj) {
			t.Errorf("alice may publish on %s", subj)
		}
	}
	// A stage publishes its own outputs only.
	vae := r.conn("vaedecode", "", stageErrs)
	for _, subj := range []string{protocol.VideoSubject(bj), protocol.LatentSubject(bj, 0), protocol.TextSubject(bj), "$JS.API.STREAM.PURGE.REEL"} {
		if !violation(t, vae, stageErrs, subj) {
			t.Errorf("vaedecode may publish on %s", subj)
		}
	}
	if j, _ := store.Get(ctx, bj); j.State != protocol.StateSucceeded {
		t.Fatalf("bob's job after the attempts: %s", j.Summary())
	}

	// The CLI as alice, with --client: submit, watch, status and get go
	// through the client API (the role has no JetStream access); bob's job
	// is not hers to read or cancel.
	asAlice := func(args ...string) (string, string, int) {
		return run(t, ctx, append(append(args, "--client", "alice"), r.creds("alice")...)...)
	}
	stdout, stderr, code := asAlice("submit", "--frames", "16", "--steps", "2", "a red circle moving right")
	cj := strings.TrimSpace(stdout)
	if code != 0 || !strings.HasPrefix(cj, "alice-") {
		t.Fatalf("reel submit --client alice: exit %d %q %s", code, stdout, stderr)
	}
	if stdout, stderr, code := asAlice("watch", cj); code != 0 || !strings.Contains(stdout, cj+" succeeded") {
		t.Fatalf("reel watch --client alice: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if stdout, stderr, code := asAlice("status", cj); code != 0 || !strings.Contains(stdout, "succeeded") {
		t.Errorf("reel status --client alice: exit %d %s %s", code, stdout, stderr)
	}
	cliOut := filepath.Join(dir, "alice-cli.mp4")
	if _, stderr, code := asAlice("get", cj, "-o", cliOut); code != 0 {
		t.Errorf("reel get --client alice: exit %d %s", code, stderr)
	} else if j, err := store.Get(ctx, cj); err != nil || fileSHA256(t, cliOut) != j.Video.SHA256 {
		t.Errorf("reel get --client alice wrote a file that is not the job's video (%v)", err)
	}
	for _, cmd := range []string{"status", "cancel", "get"} {
		if _, stderr, code := asAlice(cmd, bj); code == 0 || !strings.Contains(stderr, clientapi.ErrNotYours.Error()) {
			t.Errorf("reel %s --client alice of bob's job: exit %d %s", cmd, code, stderr)
		}
	}

	// A tampered video: the client API and `reel get` refuse it.
	j, _ := store.Get(ctx, aj)
	if j.Video.SHA256 == "" {
		t.Fatal("no video sha256 in the record")
	}
	if err := admin.PutBlob(ctx, j.Video.Object, []byte("not the video"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Call(ctx, clientapi.OpVideo, clientapi.Request{Job: aj}); err == nil || !strings.Contains(err.Error(), "altered") {
		t.Errorf("tampered video through the client API: %v", err)
	}
	out := filepath.Join(dir, "tampered.mp4")
	if _, stderr, code := run(t, ctx, append([]string{"get", aj, "-o", out}, r.creds("admin")...)...); code == 0 || !strings.Contains(stderr, "altered") {
		t.Errorf("reel get of a tampered video: exit %d %s", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("reel get wrote the tampered video")
	}
	if _, stderr, code := asAlice("get", aj, "-o", out); code == 0 || !strings.Contains(stderr, "altered") {
		t.Errorf("reel get --client alice of a tampered video: exit %d %s", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("reel get --client alice wrote the tampered video")
	}
	_ = bobErrs
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
