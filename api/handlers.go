package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/orchestrator"
)

// model returns the manifest a job is served by (the default model until
// settings carry one).
func (s *Server) model() protocol.Manifest {
	if len(s.cfg.Models) > 0 {
		return s.cfg.Models[0]
	}
	return protocol.Manifest{}
}

func (s *Server) video(j *orchestrator.Job) Video { return toVideo(j, s.model(), s.cfg.Retention) }

// owned returns the job if the caller may see it: without keys every job,
// with keys only the jobs its key created. Anything else is a 404, as for
// a job that does not exist.
func (s *Server) owned(ctx context.Context, id string) (*orchestrator.Job, error) {
	if protocol.ValidJobID(id) != nil {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	if err := s.mayAccess(ctx, id); err != nil {
		return nil, err
	}
	j, err := s.cfg.Backend.Job(ctx, id)
	if errors.Is(err, orchestrator.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return j, err
}

func (s *Server) mayAccess(ctx context.Context, id string) error {
	if s.cfg.Keys.Len() == 0 {
		return nil
	}
	o, err := s.cfg.Backend.Owner(ctx, id)
	if err != nil {
		return err
	}
	if o != ownerOf(ctx) {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return nil
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) error {
	f, err := readForm(r, s.cfg.MaxBodyBytes, createFields)
	if err != nil {
		return err
	}
	c, err := parseCreate(f, s.served(r.Context()))
	if err != nil {
		return err
	}
	return s.newVideo(w, r, "created", func(ctx context.Context, id string) (*orchestrator.Job, error) {
		err := s.cfg.Backend.Submit(ctx, Submission{ID: id, Request: c.Request, Settings: c.Settings})
		if errors.Is(err, orchestrator.ErrQueueFull) {
			w.Header().Set("Retry-After", "5")
			return nil, newError(http.StatusTooManyRequests, "requests", "queue_full", err.Error())
		}
		if err != nil {
			return nil, err
		}
		return queuedJob(id, c.Request, c.Settings), nil
	})
}

func (s *Server) retrieve(w http.ResponseWriter, r *http.Request) error {
	j, err := s.owned(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.video(j))
	return nil
}

// listPage is OpenAI's cursor page (ConversationCursorPage).
type listPage struct {
	Object  string  `json:"object"`
	Data    []Video `json:"data"`
	FirstID *string `json:"first_id"`
	LastID  *string `json:"last_id"`
	HasMore bool    `json:"has_more"`
}

// Limits of GET /v1/videos?limit=.
const (
	defaultListLimit = 20
	maxListLimit     = 100
)

func (s *Server) list(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit := defaultListLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListLimit {
			return paramError("limit", fmt.Sprintf("limit: %q is not an integer in 1..%d", v, maxListLimit))
		}
		limit = n
	}
	order := q.Get("order")
	if order == "" {
		order = "desc"
	}
	if order != "asc" && order != "desc" {
		return paramError("order", fmt.Sprintf("order: %q is not asc or desc", order))
	}
	ctx := r.Context()
	jobs, err := s.cfg.Backend.Jobs(ctx) // newest first
	if err != nil {
		return err
	}
	if order == "asc" {
		slices.Reverse(jobs)
	}
	if after := q.Get("after"); after != "" {
		i := slices.IndexFunc(jobs, func(j *orchestrator.Job) bool { return j.ID == after })
		if i < 0 {
			return paramError("after", fmt.Sprintf("after: no video %q", after))
		}
		jobs = jobs[i+1:]
	}
	page := listPage{Object: "list", Data: []Video{}}
	for _, j := range jobs {
		if err := s.mayAccess(ctx, j.ID); err != nil {
			if errors.Is(err, ErrNotFound) {
				continue
			}
			return err
		}
		if len(page.Data) == limit {
			page.HasMore = true
			break
		}
		page.Data = append(page.Data, s.video(j))
	}
	if n := len(page.Data); n > 0 {
		page.FirstID, page.LastID = &page.Data[0].ID, &page.Data[n-1].ID
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	j, err := s.owned(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.cfg.Backend.Delete(ctx, j); err != nil {
		return err
	}
	s.cfg.Log.Info().Str("job", j.ID).Msg("api: video deleted")
	writeJSON(w, http.StatusOK, map[string]any{"id": j.ID, "object": "video.deleted", "deleted": true})
	return nil
}

func (s *Server) cancel(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	j, err := s.owned(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	if j.State.Terminal() {
		return newError(http.StatusConflict, typeInvalidRequest, "already_ended", fmt.Sprintf("video %s already %s", j.ID, j.State))
	}
	if err := s.cfg.Backend.Cancel(ctx, j.ID, "cancelled through the API"); err != nil {
		return err
	}
	if j, err = s.cfg.Backend.Job(ctx, j.ID); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.video(j))
	return nil
}

// variants of GET /v1/videos/{id}/content: the blob and its media type.
func variant(name string, v *protocol.VideoInfo) (blob, mediaType string, err error) {
	switch name {
	case "", "video":
		return v.Object, "video/mp4", nil
	case "thumbnail":
		return v.Poster, "image/png", nil
	case "spritesheet":
		return v.GIF, "image/gif", nil
	}
	return "", "", paramError("variant", fmt.Sprintf("variant: %q is not video, thumbnail or spritesheet", name))
}

func (s *Server) content(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	j, err := s.owned(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	if j.State != protocol.StateSucceeded || j.Video == nil {
		return newError(http.StatusNotFound, typeInvalidRequest, "video_not_ready",
			fmt.Sprintf("video %s is %s; its content is there once it is completed", j.ID, status(j.State)))
	}
	name := r.URL.Query().Get("variant")
	blob, mediaType, err := variant(name, j.Video)
	if err != nil {
		return err
	}
	if blob == "" {
		return newError(http.StatusNotFound, typeInvalidRequest, "variant_missing",
			fmt.Sprintf("video %s has no %s (encoder %s)", j.ID, name, j.Video.Encoder))
	}
	data, err := s.cfg.Backend.Blob(ctx, blob)
	if errors.Is(err, protocol.ErrMissing) {
		return newError(http.StatusNotFound, typeInvalidRequest, "expired", err.Error())
	}
	if err != nil {
		return err
	}
	var mod time.Time
	if j.Finished != nil {
		mod = *j.Finished
	}
	w.Header().Set("Content-Type", mediaType)
	if j.Video.FramesSHA256 != "" {
		w.Header().Set("ETag", strconv.Quote(j.Video.FramesSHA256+"-"+name))
	}
	// ServeContent answers Range and conditional requests (browsers seek in
	// an MP4 with ranges).
	http.ServeContent(w, r, "", mod, bytes.NewReader(data))
	return nil
}

func (s *Server) models(w http.ResponseWriter, r *http.Request) error {
	type model struct {
		ID       string            `json:"id"`
		Object   string            `json:"object"`
		Created  int64             `json:"created"`
		OwnedBy  string            `json:"owned_by"`
		Manifest protocol.Manifest `json:"reel_manifest"`
	}
	out := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list", Data: []model{}}
	for _, m := range s.served(r.Context()) {
		out.Data = append(out.Data, model{ID: m.Model, Object: "model", OwnedBy: "reel", Manifest: m})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) workers(w http.ResponseWriter, r *http.Request) error {
	ws, err := s.cfg.Backend.Workers(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": ws})
	return nil
}
