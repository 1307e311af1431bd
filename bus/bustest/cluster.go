package bustest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// NATSServerBin builds the nats-server of the module reel depends on into
// dir and returns its path (a real server process, to kill -9 and SIGSTOP).
func NATSServerBin(t testing.TB, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "nats-server")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/nats-io/nats-server/v2").CombinedOutput()
	if err != nil {
		t.Fatalf("go build nats-server: %v\n%s", err, out)
	}
	return bin
}

// Cluster is a cluster of nats-server processes on loopback with routes
// and JetStream; each node keeps its ports and store across restarts.
type Cluster struct {
	t     testing.TB
	bin   string
	Nodes []*Node
}

// Node is one nats-server process of a Cluster.
type Node struct {
	Name                 string
	Port, Route, HTTP    int
	conf, store, logPath string
	cmd                  *exec.Cmd
	exited               chan struct{}
}

// ClusterOptions configure NewCluster.
type ClusterOptions struct {
	Nodes int    // default 3
	Bin   string // nats-server binary (NATSServerBin)
	// Extra is appended to every node's configuration (accounts, limits).
	Extra string
	// MaxFileStore is each node's JetStream disk limit, default 1 GiB.
	MaxFileStore int64
}

// NewCluster starts the nodes and waits until JetStream has a meta leader;
// every node is killed when the test ends.
func NewCluster(t testing.TB, o ClusterOptions) *Cluster {
	t.Helper()
	if o.Nodes == 0 {
		o.Nodes = 3
	}
	if o.MaxFileStore == 0 {
		o.MaxFileStore = 1 << 30
	}
	dir := t.TempDir()
	c := &Cluster{t: t, bin: o.Bin}
	ports := freePorts(t, 3*o.Nodes)
	var routes []string
	for i := range o.Nodes {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", ports[3*i+1]))
	}
	for i := range o.Nodes {
		n := &Node{Name: fmt.Sprintf("n%d", i+1), Port: ports[3*i], Route: ports[3*i+1], HTTP: ports[3*i+2]}
		n.store = filepath.Join(dir, n.Name)
		n.conf = filepath.Join(dir, n.Name+".conf")
		n.logPath = filepath.Join(dir, n.Name+".log")
		conf := fmt.Sprintf(`server_name: %s
listen: 127.0.0.1:%d
http: 127.0.0.1:%d
max_payload: 1MB
jetstream { store_dir: %q, max_file_store: %d, max_memory_store: 268435456 }
`, n.Name, n.Port, n.HTTP, n.store, o.MaxFileStore)
		if o.Nodes > 1 { // a single node runs without a cluster block
			conf += fmt.Sprintf("cluster { name: reel, listen: 127.0.0.1:%d, routes: [%s] }\n", n.Route, strings.Join(routes, ", "))
		}
		conf += o.Extra + "\n"
		if err := os.WriteFile(n.conf, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		c.Nodes = append(c.Nodes, n)
	}
	for _, n := range c.Nodes {
		c.Start(n)
	}
	t.Cleanup(func() {
		for _, n := range c.Nodes {
			c.Kill(n)
		}
		if t.Failed() {
			for _, n := range c.Nodes {
				if b, err := os.ReadFile(n.logPath); err == nil {
					t.Logf("%s log tail:\n%s", n.Name, tail(string(b), 3000))
				}
			}
		}
	})
	if o.Nodes > 1 {
		c.WaitMetaLeader(60 * time.Second)
	}
	return c
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// freePorts reserves n distinct loopback ports (kept fixed across node
// restarts, unlike Port -1).
func freePorts(t testing.TB, n int) []int {
	var ls []net.Listener
	var out []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return out
}

// URLs is the comma-separated client URL list of every node.
func (c *Cluster) URLs() string {
	var u []string
	for _, n := range c.Nodes {
		u = append(u, n.URL())
	}
	return strings.Join(u, ",")
}

// URL is the node's client URL.
func (n *Node) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.Port) }

// Start starts (or restarts) the node's process and waits until it answers
// /healthz on its monitoring port.
func (c *Cluster) Start(n *Node) {
	c.t.Helper()
	logf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		c.t.Fatal(err)
	}
	n.cmd = exec.Command(c.bin, "-c", n.conf)
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	if err := n.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	n.exited = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}(n.cmd, n.exited)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/varz", n.HTTP))
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(n.logPath)
			c.t.Fatalf("node %s did not start: %v\n%s", n.Name, err, tail(string(b), 2000))
		}
		time.Sleep(50 * time.Millisecond) // the process has no readiness signal but its port
	}
}

// Kill sends SIGKILL (kill -9) and waits for the process to exit.
func (c *Cluster) Kill(n *Node) {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	select {
	case <-n.exited:
		return
	default:
	}
	_ = n.cmd.Process.Signal(syscall.SIGCONT) // a stopped process dies only once continued
	_ = n.cmd.Process.Kill()
	<-n.exited
}

// Stop freezes the node (SIGSTOP); Cont resumes it.
func (c *Cluster) Stop(n *Node) { _ = n.cmd.Process.Signal(syscall.SIGSTOP) }

// Cont resumes a node frozen by Stop.
func (c *Cluster) Cont(n *Node) { _ = n.cmd.Process.Signal(syscall.SIGCONT) }

// jsz is the part of /jsz the harness reads.
type jsz struct {
	Meta *struct {
		Leader string `json:"leader"`
	} `json:"meta_cluster"`
}

// MetaLeader is the JetStream meta leader as a live node reports it ("" if
// none knows one).
func (c *Cluster) MetaLeader() *Node {
	cl := http.Client{Timeout: time.Second}
	for _, n := range c.Nodes {
		resp, err := cl.Get(fmt.Sprintf("http://127.0.0.1:%d/jsz", n.HTTP))
		if err != nil {
			continue
		}
		var j jsz
		err = json.NewDecoder(resp.Body).Decode(&j)
		resp.Body.Close()
		if err == nil && j.Meta != nil && j.Meta.Leader != "" {
			return c.Node(j.Meta.Leader)
		}
	}
	return nil
}

// WaitMetaLeader waits until the cluster has a meta leader.
func (c *Cluster) WaitMetaLeader(d time.Duration) *Node {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		if n := c.MetaLeader(); n != nil {
			return n
		}
		select {
		case <-ctx.Done():
			c.t.Fatalf("no JetStream meta leader after %s", d)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Node returns the node named name (nil if none).
func (c *Cluster) Node(name string) *Node {
	for _, n := range c.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// WaitHealthy waits until the node's /healthz says ok: JetStream enabled
// and every stream and consumer it holds current with its peers (a node
// just restarted is still catching up until then).
func (c *Cluster) WaitHealthy(n *Node, d time.Duration) {
	c.t.Helper()
	cl := http.Client{Timeout: time.Second}
	deadline := time.Now().Add(d)
	for {
		resp, err := cl.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", n.HTTP))
		if err == nil {
			ok := resp.StatusCode == http.StatusOK
			resp.Body.Close()
			if ok {
				return
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("node %s not healthy after %s", n.Name, d)
		}
		time.Sleep(100 * time.Millisecond) // /healthz is polled; the server pushes nothing
	}
}
