package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/reel-video/reel/bus/protocol"
)

// apiError is an error in OpenAI's shape: {"error": {message, type, param, code}}.
type apiError struct {
	Status  int     `json:"-"`
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func (e *apiError) Error() string { return e.Message }

// OpenAI's error types.
const (
	typeInvalidRequest = "invalid_request_error"
	typeServer         = "server_error"
)

func newError(status int, typ, code, message string) *apiError {
	e := &apiError{Status: status, Message: message, Type: typ}
	if code != "" {
		e.Code = &code
	}
	return e
}

// paramError is a 400 naming the offending request field.
func paramError(param, message string) *apiError {
	e := newError(http.StatusBadRequest, typeInvalidRequest, "invalid_value", message)
	e.Param = &param
	return e
}

// asAPIError maps any error to what the client sees: field errors of the
// protocol become 400s naming the field; unknown errors are 500s whose
// message does not leak internals.
func asAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var fe *protocol.FieldError
	if errors.As(err, &fe) {
		return paramError(fe.Field, fe.Error())
	}
	if errors.Is(err, ErrNotFound) {
		return newError(http.StatusNotFound, typeInvalidRequest, "not_found", err.Error())
	}
	return newError(http.StatusInternalServerError, typeServer, "internal_error", "internal error; see the server log")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.Status, map[string]*apiError{"error": e})
}
