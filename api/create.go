package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/reel-video/reel/bus/protocol"
)

// createFields are the fields POST /v1/videos takes: OpenAI's and reel's own.
var createFields = []string{"prompt", "model", "seconds", "size", "input_reference",
	"negative_prompt", "seed", "steps", "guidance", "shift", "frames"}

// readForm reads a request body as field → value, from JSON (numbers or
// strings; an object such as {"video": {"id": ...}} stays its JSON text) or
// from multipart/form-data and urlencoded forms (what the SDKs send; an
// object is sent as video[id]). A field not in fields is a 400 naming it.
func readForm(r *http.Request, limit int64, fields []string) (map[string]string, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	out := map[string]string{}
	switch ct {
	case "application/json", "":
		var raw map[string]json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
			return nil, bodyError(err)
		}
		for k, v := range raw {
			var s string
			if json.Unmarshal(v, &s) == nil {
				out[k] = s
				continue
			}
			if t := strings.TrimSpace(string(v)); t != "null" {
				out[k] = t // a number (or something the field parser refuses)
			}
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(limit); err != nil {
			return nil, bodyError(err)
		}
		if len(r.MultipartForm.File) > 0 {
			for k := range r.MultipartForm.File {
				return nil, paramError(k, k+": file uploads are not supported (reel generates from text only)")
			}
		}
		for k, v := range r.MultipartForm.Value {
			out[k] = v[len(v)-1]
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, bodyError(err)
		}
		for k, v := range r.PostForm {
			out[k] = v[len(v)-1]
		}
	default:
		return nil, newError(http.StatusUnsupportedMediaType, typeInvalidRequest, "unsupported_media_type",
			fmt.Sprintf("Content-Type %q: send application/json or multipart/form-data", ct))
	}
	for k := range out {
		if !slices.Contains(fields, k) {
			return nil, paramError(k, fmt.Sprintf("%s: unknown field (known: %s)", k, strings.Join(fields, ", ")))
		}
	}
	return out, nil
}

func bodyError(err error) *apiError {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return newError(http.StatusRequestEntityTooLarge, typeInvalidRequest, "request_too_large",
			fmt.Sprintf("request body is over %d bytes", mb.Limit))
	}
	return newError(http.StatusBadRequest, typeInvalidRequest, "invalid_body", "request body: "+err.Error())
}

// createRequest is a parsed create call.
type createRequest struct {
	Model    protocol.Manifest
	Request  protocol.Request
	Settings protocol.Settings
}

// parseCreate turns the fields into a job request for one of the served
// models, refusing what the model cannot do with a 400 that names the field
// and lists what is supported.
func parseCreate(f map[string]string, models []protocol.Manifest) (*createRequest, error) {
	if len(models) == 0 {
		return nil, newError(http.StatusServiceUnavailable, typeServer, "no_model", "no model is served")
	}
	m := models[0]
	if name := f["model"]; name != "" {
		i := slices.IndexFunc(models, func(x protocol.Manifest) bool { return x.Model == name })
		if i < 0 {
			return nil, paramError("model", fmt.Sprintf("model: %q is not served here; supported: %s", name, modelNames(models)))
		}
		m = models[i]
	}
	if _, ok := f["input_reference"]; ok {
		return nil, paramError("input_reference", "input_reference: not supported (reel generates from text only)")
	}
	c := &createRequest{Model: m, Request: protocol.Request{Prompt: f["prompt"], Negative: f["negative_prompt"]}}
	s := protocol.Settings{Frames: m.Defaults.Frames, Steps: m.Defaults.Steps, Guidance: m.Defaults.Guidance, Shift: m.Defaults.Shift}
	if size := f["size"]; size != "" {
		if want := fmt.Sprintf("%dx%d", m.Width, m.Height); size != want {
			return nil, paramError("size", fmt.Sprintf("size: %s is not supported by %s; supported: %s", size, m.Model, want))
		}
	}
	n, err := parseLength(m, f, m.MaxFrames)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		s.Frames = n
	}
	ints := []struct {
		name string
		dst  *int
	}{{"steps", &s.Steps}}
	for _, x := range ints {
		if v, ok := f[x.name]; ok {
			if *x.dst, err = strconv.Atoi(v); err != nil {
				return nil, paramError(x.name, fmt.Sprintf("%s: %q is not an integer", x.name, v))
			}
		}
	}
	if v, ok := f["seed"]; ok {
		if s.Seed, err = strconv.ParseInt(v, 10, 64); err != nil {
			return nil, paramError("seed", fmt.Sprintf("seed: %q is not a 64-bit integer", v))
		}
	}
	floats := []struct {
		name string
		dst  *float64
	}{{"guidance", &s.Guidance}, {"shift", &s.Shift}}
	for _, x := range floats {
		if v, ok := f[x.name]; ok {
			if *x.dst, err = strconv.ParseFloat(v, 64); err != nil {
				return nil, paramError(x.name, fmt.Sprintf("%s: %q is not a number", x.name, v))
			}
		}
	}
	if m.MaxSteps > 0 && s.Steps > m.MaxSteps {
		return nil, paramError("steps", fmt.Sprintf("steps: %d is over %s's maximum %d", s.Steps, m.Model, m.MaxSteps))
	}
	if m.MaxGuidance > 0 && s.Guidance > m.MaxGuidance {
		return nil, paramError("guidance", fmt.Sprintf("guidance: %v is over %s's maximum %v", s.Guidance, m.Model, m.MaxGuidance))
	}
	if err := c.Request.Validate(); err != nil {
		return nil, renameField(err, "negative", "negative_prompt")
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	c.Settings = s
	return c, nil
}

// parseLength reads a length given as frames or as seconds (or both, when
// they agree) as a frame count: a whole number of chunks up to limit
// frames; 0 when neither field is there.
func parseLength(m protocol.Manifest, f map[string]string, limit int) (int, error) {
	frames := 0
	if v, ok := f["frames"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, paramError("frames", fmt.Sprintf("frames: %q is not an integer", v))
		}
		if err := checkFrames(m, "frames", n, v, limit); err != nil {
			return 0, err
		}
		frames = n
	}
	if v, ok := f["seconds"]; ok {
		sec, err := strconv.ParseFloat(v, 64)
		n := int(sec*float64(m.FPS) + 0.5)
		if err != nil || sec <= 0 || float64(n) != sec*float64(m.FPS) {
			return 0, paramError("seconds", fmt.Sprintf("seconds: %q is not a whole number of %s-second chunks; supported: %s",
				v, formatSeconds(chunkSeconds(m)), supportedSeconds(m, limit)))
		}
		if err := checkFrames(m, "seconds", n, v, limit); err != nil {
			return 0, err
		}
		if _, both := f["frames"]; both && n != frames {
			return 0, paramError("seconds", fmt.Sprintf("seconds: %s is %d frames at %d fps, but frames is %s", v, n, m.FPS, f["frames"]))
		}
		frames = n
	}
	return frames, nil
}

// checkFrames refuses a frame count that is not a whole number of chunks up
// to limit, in the words of the field it came from.
func checkFrames(m protocol.Manifest, field string, frames int, v string, limit int) error {
	if frames <= 0 || frames%m.FramesPerChunk != 0 || frames > limit {
		if field == "seconds" {
			return paramError(field, fmt.Sprintf("seconds: %q is not a whole number of %s-second chunks up to %s; supported: %s",
				v, formatSeconds(chunkSeconds(m)), formatSeconds(float64(limit)/float64(m.FPS)), supportedSeconds(m, limit)))
		}
		return paramError(field, fmt.Sprintf("frames: %s is not a positive multiple of %d up to %d", v, m.FramesPerChunk, limit))
	}
	return nil
}

func chunkSeconds(m protocol.Manifest) float64 { return float64(m.FramesPerChunk) / float64(m.FPS) }

// supportedSeconds lists the durations up to limit frames a model can
// make: the first few and the longest ("2, 4, 6, 8, ... 96").
func supportedSeconds(m protocol.Manifest, limit int) string {
	n := limit / m.FramesPerChunk
	var parts []string
	for i := 1; i <= min(n, 4); i++ {
		parts = append(parts, formatSeconds(float64(i)*chunkSeconds(m)))
	}
	if n > 4 {
		parts = append(parts, "... "+formatSeconds(float64(n)*chunkSeconds(m)))
	}
	return strings.Join(parts, ", ")
}

func modelNames(models []protocol.Manifest) string {
	var names []string
	for _, m := range models {
		names = append(names, m.Model)
	}
	return strings.Join(names, ", ")
}

// renameField reports a protocol field under the API's name for it.
func renameField(err error, from, to string) error {
	var fe *protocol.FieldError
	if errors.As(err, &fe) && fe.Field == from {
		return paramError(to, to+": "+fe.Reason)
	}
	return err
}
