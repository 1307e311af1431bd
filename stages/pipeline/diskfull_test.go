package pipeline_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/internal/envconfig"
	"github.com/reel-video/reel/internal/tooltest"
	"github.com/reel-video/reel/orchestrator"
)

// diskSize is the filesystem the server's store lives on: far below the
// stream limits the test asks for (64 MiB each) and the server's JetStream
// limit (1 GiB), the way a default install meets a small disk.
const diskSize = 16 << 20

// Issue 13 item 4, on a real full disk: the store lives on a 16 MiB tmpfs,
// mounted in a mount namespace of its own (`unshare -rm` re-executes this
// test). Jobs run one after another until intake refuses one with "store
// full"; every accepted job succeeds; JetStream is still up (before, the
// disk filled under limits that did not fit it: the server logged "no space
// left on device", disabled JetStream, and jobs hung until a restart);
// deleting the jobs frees the space and the next submit works.
func TestStoreOnASmallDiskRefusesJobsBeforeItFills(t *testing.T) {
	if !envconfig.Bool(envconfig.DiskFullChild) {
		unshare := tooltest.Look(t, "unshare", "util-linux")
		cmd := exec.Command(unshare, "-rm", os.Args[0], "-test.run", "^"+t.Name()+"$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), envconfig.DiskFullChild+"=1")
		out, err := cmd.CombinedOutput()
		// A kernel or container that allows no mount namespace (or no
		// tmpfs in one) is not a missing tool: the test cannot run here.
		if err != nil && strings.Contains(string(out), "unshare failed") || strings.Contains(string(out), "--- SKIP") {
			t.Skipf("no mount namespace with a tmpfs here (run as root or allow unprivileged user namespaces): %v\n%s", err, out)
		}
		if err != nil || !strings.Contains(string(out), "--- PASS") {
			t.Fatalf("child in its own mount namespace: %v\n%s", err, out)
		}
		t.Logf("child:\n%s", out[max(0, len(out)-2000):])
		return
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+strconv.Itoa(diskSize)); err != nil {
		t.Skipf("mount a %d-byte tmpfs: %v", diskSize, err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	_, b := bustest.Start(t, bustest.Options{DataDir: filepath.Join(dir, "store"), Layout: bus.LayoutConfig{MaxDeliver: 2}})
	serve(t, b, all(1))
	store := orchestrator.NewStore(b, bustest.Logger(t))
	set := small()
	set.Frames, set.Steps = 64, 1 // ~1 MiB of messages a job
	accepted, succeeded := 0, 0
	for i := 0; ; i++ {
		if i == 24 {
			t.Fatalf("%d jobs of ~1 MiB accepted on a %d MiB disk, none refused", accepted, diskSize>>20)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		id, err := store.Submit(ctx, protocol.Request{Prompt: "a red circle moving right"}, set, orchestrator.SubmitOptions{})
		if errors.Is(err, bus.ErrStoreFull) {
			cancel()
			t.Logf("job %d refused: %v", i, err)
			break
		}
		if err != nil {
			cancel()
			t.Fatalf("submit %d: %v", i, err)
		}
		j, err := store.Wait(ctx, id)
		cancel()
		if err != nil {
			t.Fatalf("job %d (%s) never ended: %v", i, id, err)
		}
		// A job accepted just below the high-water mark may still not fit
		// the room left: it fails with the limit's reason, it does not hang.
		switch {
		case j.State == protocol.StateSucceeded:
			succeeded++
		case j.State != protocol.StateFailed || !strings.Contains(j.Error, "maximum bytes"):
			t.Fatalf("job %d: %s", i, j.Summary())
		}
		accepted++
	}
	if succeeded == 0 {
		t.Fatalf("no job succeeded on an empty %d MiB disk (%d accepted)", diskSize>>20, accepted)
	}
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d jobs accepted, %d succeeded; %d of %d bytes free", accepted, succeeded, fs.Bavail*uint64(fs.Bsize), diskSize)
	ctx := bustest.Ctx(t, 2*time.Minute)
	jobs, err := store.List(ctx)
	if err != nil {
		t.Fatalf("list after the refusal (JetStream down?): %v", err)
	}
	for _, j := range jobs {
		if err := store.Delete(ctx, j.ID); err != nil {
			t.Fatalf("delete %s: %v", j.ID, err)
		}
	}
	if j := submitWait(t, store, "after the delete", set); j.State != protocol.StateSucceeded {
		t.Fatalf("after space returned: %s", j.Summary())
	}
}
