package escalation

import (
	"errors"
	"fmt"
)

// ErrorKind classifies a domain error. Adapters map kinds to protocol
// answers (HTTP status, MQTT reason) in exactly one place each.
type ErrorKind int

// Error kinds.
const (
	Invalid     ErrorKind = iota + 1 // bad input; nothing changed
	NotFound                         // no such incident, service, contact
	Conflict                         // valid, but not in the current state
	Unavailable                      // could not commit; retrying may help
	Gone                             // existed, but no longer usable (a used or expired link)
)

// Error is a domain error with a kind and, for Invalid, the field at fault.
type Error struct {
	Kind  ErrorKind
	Field string
	Msg   string
	Err   error
}

func (e *Error) Error() string {
	s := e.Msg
	if e.Field != "" && s == "" {
		s = "invalid " + e.Field
	}
	if e.Err != nil {
		if s == "" {
			return e.Err.Error()
		}
		return s + ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Invalidf returns an Invalid error naming the field at fault.
func Invalidf(field, format string, args ...any) error {
	return &Error{Kind: Invalid, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// NotFoundf returns a NotFound error.
func NotFoundf(format string, args ...any) error {
	return &Error{Kind: NotFound, Msg: fmt.Sprintf(format, args...)}
}

// Unavailablef wraps err as Unavailable (e.g. the database is locked or the
// disk is full): the sender should retry.
func Unavailablef(err error, format string, args ...any) error {
	return &Error{Kind: Unavailable, Msg: fmt.Sprintf(format, args...), Err: err}
}

// KindOf returns the kind of err, or 0 when it is not a domain error.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// FieldOf returns the field named by an Invalid error, if any.
func FieldOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}
