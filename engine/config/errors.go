package config

import (
	"errors"
	"fmt"
)

// Errors that callers branch on: ErrInvalid for input that cannot be
// accepted (malformed, duplicate, conflicting), ErrNotFound for a device or
// folder that is not configured. Errors returned by this package match one of
// them with errors.Is while their message stays just the explanation.
var (
	ErrInvalid  = errors.New("invalid config")
	ErrNotFound = errors.New("not found")
)

// kindError is an explanation that matches a sentinel error.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }

func invalidf(format string, args ...any) error {
	return &kindError{kind: ErrInvalid, msg: fmt.Sprintf(format, args...)}
}

func notFoundf(format string, args ...any) error {
	return &kindError{kind: ErrNotFound, msg: fmt.Sprintf(format, args...)}
}
