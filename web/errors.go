package web

import (
	"errors"
	"net/http"
)

// Errors a Backend wraps (with BadRequest and NotFound) to choose the HTTP
// status, and that a Client's errors match for 400 and 404 answers.
var (
	ErrBadRequest = errors.New("bad request")
	ErrNotFound   = errors.New("not found")
)

// ErrNoDaemon says nothing accepted the client's connection: no daemon runs
// at that address.
var ErrNoDaemon = errors.New("no daemon is listening")

// BadRequest marks err as the caller's fault (HTTP 400) without changing its
// message.
func BadRequest(err error) error { return &kindError{kind: ErrBadRequest, err: err} }

// NotFound marks err as naming something that does not exist (HTTP 404)
// without changing its message.
func NotFound(err error) error { return &kindError{kind: ErrNotFound, err: err} }

type kindError struct{ kind, err error }

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

// APIError is an error answer from the server. Its message is the server's;
// it matches ErrBadRequest or ErrNotFound for 400 and 404.
type APIError struct {
	Status  int    // HTTP status code
	Message string // the server's explanation
}

func (e *APIError) Error() string { return e.Message }

// Unwrap maps the status code back to the sentinel errors.
func (e *APIError) Unwrap() error {
	switch e.Status {
	case http.StatusBadRequest:
		return ErrBadRequest
	case http.StatusNotFound:
		return ErrNotFound
	}
	return nil
}

// httpError is an error with a fixed status, raised by the server itself.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// statusOf chooses the HTTP status for an error.
func statusOf(err error) int {
	var he *httpError
	switch {
	case errors.As(err, &he):
		return he.status
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}
