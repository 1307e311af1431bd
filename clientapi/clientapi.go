// Package clientapi serves clients that hold only the client role: each
// client talks to it on its own subjects, reel.api.<client>.<op>, which
// the NATS server lets no one else publish on, and the client API serves it
// only its own jobs (ids "<client>-..."). Clients get no JetStream access:
// the records, events and object store of every job are readable by
// anyone who can read them at all, since NATS permissions cannot match
// part of a subject token and object chunks carry no job in their
// subjects.
package clientapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/orchestrator"
	"github.com/rs/zerolog"
)

// Operations (the last subject token).
const (
	OpSubmit = "submit"
	OpStatus = "status"
	OpCancel = "cancel"
	OpVideo  = "video"
)

// ErrNotYours is the answer for another client's job.
var ErrNotYours = errors.New("not your job")

// Request is a client API request (JSON).
type Request struct {
	// Job: the job of status, cancel and video; on submit, optionally the
	// new job's id ("<client>-...": a retry with the same id resumes).
	Job      string            `json:"job,omitempty"`
	Prompt   protocol.Request  `json:"prompt,omitempty"`
	Settings protocol.Settings `json:"settings,omitempty"`
	Deadline time.Duration     `json:"deadline,omitempty"`
}

// Reply is a client API reply (JSON).
type Reply struct {
	Error string            `json:"error,omitempty"`
	Job   string            `json:"job,omitempty"`
	Rec   *orchestrator.Job `json:"record,omitempty"`
	Video []byte            `json:"video,omitempty"` // the MP4, checked against the record's sha256
}

// Server answers the clients' requests.
type Server struct {
	Bus   *bus.Bus
	Store *orchestrator.Store
	Log   zerolog.Logger
}

// Run serves until ctx ends (a queue group: run as many as you like).
func (s *Server) Run(ctx context.Context) error {
	sub, err := s.Bus.NC.QueueSubscribe(bus.APIFilter, "reel-client-api", func(m *nats.Msg) {
		rep := s.serve(ctx, m.Subject, m.Data)
		data, _ := json.Marshal(rep)
		if err := m.Respond(data); err != nil {
			s.Log.Warn().Err(err).Str("subject", m.Subject).Msg("client API reply")
		}
	})
	if err != nil {
		return fmt.Errorf("client api: %w", err)
	}
	<-ctx.Done()
	return sub.Drain()
}

// Owns reports whether job belongs to client.
func Owns(client, job string) bool { return strings.HasPrefix(job, client+"-") }

func (s *Server) serve(ctx context.Context, subject string, data []byte) Reply {
	parts := strings.Split(subject, ".")
	if len(parts) != 4 {
		return Reply{Error: "bad subject"}
	}
	client, op := parts[2], parts[3]
	var req Request
	if err := json.Unmarshal(data, &req); err != nil {
		return Reply{Error: "bad request: " + err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if op == OpSubmit {
		// A client may pick its job's id (one of its own), so that a retry
		// after a lost reply resumes the same job instead of adding one.
		o := orchestrator.SubmitOptions{ID: req.Job, Deadline: req.Deadline, Resume: req.Job != ""}
		if o.ID == "" {
			o.ID = client + "-" + orchestrator.NewJobID(time.Now())
		} else if !Owns(client, o.ID) {
			return Reply{Error: fmt.Sprintf("%v: %s (a client's job ids start with %q)", ErrNotYours, o.ID, client+"-")}
		}
		id, err := s.Store.Submit(ctx, req.Prompt, req.Settings, o)
		if err != nil {
			return Reply{Error: err.Error()}
		}
		return Reply{Job: id}
	}
	if !Owns(client, req.Job) {
		return Reply{Error: fmt.Sprintf("%v: %s", ErrNotYours, req.Job)}
	}
	switch op {
	case OpStatus:
		j, err := s.Store.Get(ctx, req.Job)
		if err != nil {
			return Reply{Error: err.Error()}
		}
		return Reply{Job: j.ID, Rec: j}
	case OpCancel:
		if err := s.Store.Cancel(ctx, req.Job, "cancelled by "+client); err != nil {
			return Reply{Error: err.Error()}
		}
		return Reply{Job: req.Job}
	case OpVideo:
		j, err := s.Store.Get(ctx, req.Job)
		if err != nil {
			return Reply{Error: err.Error()}
		}
		if j.State != protocol.StateSucceeded || j.Video == nil {
			return Reply{Error: fmt.Sprintf("job %s is %s, it has no video", j.ID, j.State)}
		}
		data, err := s.Bus.GetBlob(ctx, j.Video.Object)
		if err != nil {
			return Reply{Error: err.Error()}
		}
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); got != j.Video.SHA256 {
			return Reply{Error: fmt.Sprintf("%s: sha256 %s, the job recorded %s: the stored object was altered", j.Video.Object, got, j.Video.SHA256)}
		}
		return Reply{Job: j.ID, Video: data}
	}
	return Reply{Error: "unknown operation " + op}
}

// Client calls the client API as client over nc (connected with the inbox
// prefix bus.ClientInbox(client)).
type Client struct {
	NC   *nats.Conn
	Name string
}

// Call sends one request and returns the reply, or its error.
func (c Client) Call(ctx context.Context, op string, req Request) (Reply, error) {
	data, err := json.Marshal(req)
	if err != nil {
		return Reply{}, err
	}
	m, err := c.NC.RequestWithContext(ctx, bus.APISubject(c.Name, op), data)
	if err != nil {
		return Reply{}, fmt.Errorf("client api %s: %w", op, err)
	}
	var rep Reply
	if err := json.Unmarshal(m.Data, &rep); err != nil {
		return Reply{}, fmt.Errorf("client api %s: %w", op, err)
	}
	if rep.Error != "" {
		return rep, fmt.Errorf("client api %s: %s", op, rep.Error)
	}
	return rep, nil
}
