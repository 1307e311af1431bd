package bus

import (
	"fmt"

	"github.com/reel-video/reel/bus/protocol"
)

// Roles: who may publish and subscribe to what on a reel NATS server. The
// server enforces them (deploy/nats/auth.conf, written by `reel auth
// init`); a subject is what permissions see, so the job a message belongs
// to is always its subject's, never a header's.
const (
	RoleAdmin  = "admin"
	RoleClient = "client"
)

// Permissions are one NATS user's publish and subscribe rules.
type Permissions struct {
	PubAllow, PubDeny, SubAllow, SubDeny []string
}

// APISubject is the request subject of gateway operation op for client
// (the client's name is a subject token, so the server can restrict each
// client to its own).
func APISubject(client, op string) string { return "reel.api." + client + "." + op }

// APIFilter is what the client API serves: reel.api.<client>.<op>.
const APIFilter = "reel.api.*.*"

// ClientInbox is client's reply-subject prefix: a client may subscribe to
// its own inbox only, so no one reads another client's replies.
func ClientInbox(client string) string { return "_INBOX_" + client }

// kindSubjects are the subjects of a message kind on stream REEL.
func kindSubjects(kind string) string { return protocol.SubjectPrefix + "." + kind + ".>" }

// RolePermissions returns the permissions of a role: RoleAdmin, a stage
// name, or RoleClient for the client named client.
//
// A stage may use the JetStream API (its consumer, the job records, the
// blobs, ordered followers) but publish only its own outputs, events and
// worker heartbeats; it may not provision, purge or delete. A client has
// no JetStream access at all: it talks to the client API on its own
// reel.api.<client>.* subjects, and the client API serves it only jobs whose
// id starts with "<client>-" (NATS permissions cannot match part of a
// token, and object store chunks carry no job in their subjects, so
// per-job reads cannot be left to the server).
func RolePermissions(role, client string) (Permissions, error) {
	switch role {
	case RoleAdmin:
		return Permissions{PubAllow: []string{">"}, SubAllow: []string{">"}}, nil
	case RoleClient:
		if err := protocol.ValidJobID(client); err != nil || client == "" {
			return Permissions{}, fmt.Errorf("client name %q: %w", client, err)
		}
		return Permissions{
			PubAllow: []string{"reel.api." + client + ".*"},
			SubAllow: []string{ClientInbox(client) + ".>"},
		}, nil
	}
	spec, err := protocol.Spec(role)
	if err != nil {
		return Permissions{}, fmt.Errorf("role %q: want %s, %s or a stage: %w", role, RoleAdmin, RoleClient, err)
	}
	p := Permissions{
		PubAllow: []string{"$JS.API.>", "$JS.ACK.>", "$JS.FC.>", "$KV." + protocol.JobsBucket + ".>",
			"$KV." + protocol.WorkersBucket + "." + role + ".>", "$O." + protocol.BlobsBucket + ".>", protocol.EventsPrefix + ".*"},
		// Object store puts purge an object's old chunks, so only the
		// streams holding work and history are protected from purges.
		PubDeny: []string{"$JS.API.STREAM.CREATE.>", "$JS.API.STREAM.UPDATE.>", "$JS.API.STREAM.DELETE.>",
			"$JS.API.STREAM.PURGE." + protocol.StreamName, "$JS.API.STREAM.PURGE." + protocol.EventsStreamName,
			"$JS.API.STREAM.PURGE." + protocol.DLQStreamName, "$JS.API.STREAM.MSG.DELETE.>"},
		SubAllow: []string{"_INBOX.>"},
	}
	for _, k := range spec.Outputs {
		p.PubAllow = append(p.PubAllow, kindSubjects(k))
	}
	for _, k := range []string{protocol.KindPrompt, protocol.KindText, protocol.KindLatent, protocol.KindFrames, protocol.KindVideo} {
		own := false
		for _, o := range spec.Outputs {
			own = own || o == k
		}
		if !own {
			p.PubDeny = append(p.PubDeny, kindSubjects(k))
		}
	}
	return p, nil
}
