package httpapi

// PagerDuty Events API intake. Dozens of monitoring tools can already send
// events to PagerDuty; answering the same URLs with the same validation and
// the same answers lets them page through Tocsin by changing one base URL.
// Field rules and answer texts follow PagerDuty's published documentation
// (developer.pagerduty.com, "Send an Alert Event" and "Send a v1 Event").

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/tocsin-relay/tocsin/escalation"
)

// PagerDuty's documented limits.
const (
	pdMaxBody       = 512 << 10 // "Events API payloads are limited to 512 KB"
	pdRoutingKeyLen = 32        // integration keys are 32 characters
	pdMaxSummary    = 1024      // characters of payload.summary / description
	pdMaxDedupKey   = 255       // characters of dedup_key / incident_key
)

// pdError is PagerDuty's error answer. It is both the protocol error value
// returned by the decoders and the JSON body sent to the client, so the
// client sees exactly the reasons the decoder found.
type pdError struct {
	Code    int      `json:"-"` // HTTP status
	Status  string   `json:"status"`
	Message string   `json:"message"`
	Errors  []string `json:"errors,omitempty"`
}

func (e *pdError) Error() string {
	if len(e.Errors) == 0 {
		return e.Message
	}
	return e.Message + ": " + strings.Join(e.Errors, "; ")
}

// pdInvalid is the documented 400 answer for an event that breaks a rule.
func pdInvalid(errs ...string) *pdError {
	return &pdError{Code: http.StatusBadRequest, Status: "invalid event", Message: "Event object is invalid", Errors: errs}
}

// pdUnrecognized is the documented answer for a body that is not a JSON
// event object at all.
func pdUnrecognized(err error) *pdError {
	return &pdError{Code: http.StatusBadRequest, Status: "Unrecognized object", Message: "Event object format is unrecognized",
		Errors: []string{"JSON parse error: " + err.Error()}}
}

// pdJSONError turns a decoding error into an answer naming the field at
// fault when the JSON was well-formed but a field had the wrong type.
func pdJSONError(err error) *pdError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return pdInvalid(fmt.Sprintf("'%s' is invalid (must be %s, not %s)", te.Field, jsonKind(te.Type.Kind().String()), te.Value))
	}
	return pdUnrecognized(err)
}

// jsonKind names a Go kind the way a JSON sender thinks of it, with its
// article, for "must be …" messages.
func jsonKind(goKind string) string {
	switch {
	case goKind == "string":
		return "a string"
	case goKind == "slice" || goKind == "array":
		return "an array"
	case goKind == "struct" || goKind == "map":
		return "an object"
	case goKind == "bool":
		return "true or false"
	case strings.HasPrefix(goKind, "int") || strings.HasPrefix(goKind, "uint") || strings.HasPrefix(goKind, "float"):
		return "a number"
	}
	return "a " + goKind
}

// pdAccepted is the 202 answer of the v2 API.
type pdAccepted struct {
	Status   string `json:"status"`
	Message  string `json:"message"`
	DedupKey string `json:"dedup_key"`
}

// pdV1Accepted is the answer of the legacy v1 API.
type pdV1Accepted struct {
	Status      string `json:"status"`
	Message     string `json:"message"`
	IncidentKey string `json:"incident_key"`
}

// pdV2Event is the body of POST /v2/enqueue.
type pdV2Event struct {
	RoutingKey  string     `json:"routing_key"`
	EventAction string     `json:"event_action"`
	DedupKey    string     `json:"dedup_key"`
	Payload     *pdPayload `json:"payload"`
	Client      string     `json:"client"`
	ClientURL   string     `json:"client_url"`
	Links       []pdLink   `json:"links"`
	Images      []pdImage  `json:"images"`
}

type pdPayload struct {
	Summary       string          `json:"summary"`
	Source        string          `json:"source"`
	Severity      string          `json:"severity"`
	Timestamp     string          `json:"timestamp"`
	Component     string          `json:"component"`
	Group         string          `json:"group"`
	Class         string          `json:"class"`
	CustomDetails json.RawMessage `json:"custom_details"`
}

type pdLink struct {
	Href string `json:"href"`
	Text string `json:"text,omitempty"`
}

type pdImage struct {
	Src  string `json:"src"`
	Href string `json:"href,omitempty"`
	Alt  string `json:"alt,omitempty"`
}

// pdDetails is what Tocsin keeps of a PagerDuty event in the incident
// details: everything a responder may want that is not already a column.
// The routing key is deliberately left out: it is a credential.
type pdDetails struct {
	Client        string          `json:"client,omitempty"`
	ClientURL     string          `json:"client_url,omitempty"`
	Timestamp     string          `json:"timestamp,omitempty"`
	Component     string          `json:"component,omitempty"`
	Group         string          `json:"group,omitempty"`
	Class         string          `json:"class,omitempty"`
	CustomDetails json.RawMessage `json:"custom_details,omitempty"`
	Links         []pdLink        `json:"links,omitempty"`
	Images        []pdImage       `json:"images,omitempty"`
	Contexts      json.RawMessage `json:"contexts,omitempty"` // v1
}

// decodePagerDutyV2 validates an Events API v2 body the way PagerDuty does
// and turns it into an event for the service whose routing_key it names.
// Every rule that fails is listed, as PagerDuty does, so a sender fixes
// them all at once.
func decodePagerDutyV2(body []byte, pol *escalation.Policy) (escalation.Event, *pdError) {
	var in pdV2Event
	if err := unmarshalObject(body, &in); err != nil {
		return escalation.Event{}, pdJSONError(err)
	}
	var errs []string
	svc, keyErrs := pdRoutingKey("routing_key", in.RoutingKey, pol)
	errs = append(errs, keyErrs...)

	action, actionErr := pdAction("event_action", in.EventAction)
	if actionErr != "" {
		errs = append(errs, actionErr)
	}
	errs = append(errs, pdDedupKey("dedup_key", in.DedupKey, action)...)

	ev := escalation.Event{
		Service:    svc.ID,
		DedupKey:   in.DedupKey,
		Action:     action,
		Intake:     "pagerduty",
		DedupScope: in.RoutingKey,
		Severity:   escalation.SevInfo,
	}
	if action == escalation.Trigger {
		if in.Payload == nil {
			errs = append(errs, "'payload' is missing (required for trigger events)")
		} else {
			p := in.Payload
			errs = append(errs, pdSummary("payload.summary", p.Summary)...)
			if strings.TrimSpace(p.Source) == "" {
				errs = append(errs, "'payload.source' is missing or blank")
			}
			if p.Severity == "" {
				errs = append(errs, "'payload.severity' is missing or blank")
			} else if sev, err := parsePDSeverity(p.Severity); err != nil {
				errs = append(errs, "'payload.severity' is invalid (must be one of: critical error warning info)")
			} else {
				ev.Severity = sev
			}
			ev.Summary = p.Summary
			ev.Source = p.Source
			fromAlertmanagerDefaults(&ev, in.Client, p)
		}
	}
	for i, l := range in.Links {
		if strings.TrimSpace(l.Href) == "" {
			errs = append(errs, fmt.Sprintf("'links[%d].href' is missing or blank", i))
		}
	}
	for i, im := range in.Images {
		if strings.TrimSpace(im.Src) == "" {
			errs = append(errs, fmt.Sprintf("'images[%d].src' is missing or blank", i))
		}
	}
	if len(errs) > 0 {
		return escalation.Event{}, pdInvalid(errs...)
	}

	d := pdDetails{Client: in.Client, ClientURL: in.ClientURL, Links: in.Links, Images: in.Images}
	if p := in.Payload; p != nil && action == escalation.Trigger {
		d.Timestamp, d.Component, d.Group, d.Class = p.Timestamp, p.Component, p.Group, p.Class
		d.CustomDetails = nonNullJSON(p.CustomDetails)
	}
	ev.Details = marshalDetails(d)
	return ev, nil
}

// pdV1Event is the body of the legacy generic/2010-04-15/create_event.json.
type pdV1Event struct {
	ServiceKey  string          `json:"service_key"`
	EventType   string          `json:"event_type"`
	IncidentKey string          `json:"incident_key"`
	Description string          `json:"description"`
	Details     json.RawMessage `json:"details"`
	Client      string          `json:"client"`
	ClientURL   string          `json:"client_url"`
	Contexts    []pdContext     `json:"contexts"`
}

type pdContext struct {
	Type string `json:"type"`
	Href string `json:"href,omitempty"`
	Text string `json:"text,omitempty"`
	Src  string `json:"src,omitempty"`
	Alt  string `json:"alt,omitempty"`
}

// decodePagerDutyV1 validates a legacy v1 body. v1 events carry no
// severity: they page as critical, as they did at PagerDuty (v1 incidents
// were always high urgency). The monitoring client's name is the source.
func decodePagerDutyV1(body []byte, pol *escalation.Policy) (escalation.Event, *pdError) {
	var in pdV1Event
	if err := unmarshalObject(body, &in); err != nil {
		return escalation.Event{}, pdJSONError(err)
	}
	var errs []string
	svc, keyErrs := pdRoutingKey("service_key", in.ServiceKey, pol)
	errs = append(errs, keyErrs...)
	action, actionErr := pdAction("event_type", in.EventType)
	if actionErr != "" {
		errs = append(errs, actionErr)
	}
	errs = append(errs, pdDedupKey("incident_key", in.IncidentKey, action)...)
	if action == escalation.Trigger {
		errs = append(errs, pdSummary("description", in.Description)...)
	}
	for i, c := range in.Contexts {
		switch c.Type {
		case "link":
			if strings.TrimSpace(c.Href) == "" {
				errs = append(errs, fmt.Sprintf("'contexts[%d].href' is missing or blank", i))
			}
		case "image":
			if strings.TrimSpace(c.Src) == "" {
				errs = append(errs, fmt.Sprintf("'contexts[%d].src' is missing or blank", i))
			}
		default:
			errs = append(errs, fmt.Sprintf("'contexts[%d].type' is invalid (must be one of: link image)", i))
		}
	}
	if len(errs) > 0 {
		return escalation.Event{}, pdInvalid(errs...)
	}
	ev := escalation.Event{
		Service:    svc.ID,
		Summary:    in.Description,
		Severity:   escalation.SevCritical,
		Source:     in.Client,
		DedupKey:   in.IncidentKey,
		Action:     action,
		Intake:     "pagerduty",
		DedupScope: in.ServiceKey,
	}
	d := pdDetails{Client: in.Client, ClientURL: in.ClientURL, CustomDetails: nonNullJSON(in.Details)}
	if len(in.Contexts) > 0 {
		d.Contexts, _ = json.Marshal(in.Contexts)
	}
	ev.Details = marshalDetails(d)
	return ev, nil
}

// pdRoutingKey checks an integration key and finds its service.
func pdRoutingKey(field, key string, pol *escalation.Policy) (escalation.Service, []string) {
	switch {
	case key == "":
		return escalation.Service{}, []string{fmt.Sprintf("'%s' is missing or blank", field)}
	case utf8.RuneCountInString(key) != pdRoutingKeyLen:
		return escalation.Service{}, []string{fmt.Sprintf("Length of '%s' is incorrect (should be %d characters)", field, pdRoutingKeyLen)}
	}
	if pol == nil {
		return escalation.Service{}, []string{fmt.Sprintf("'%s' does not match any service (no policy is loaded)", field)}
	}
	svc, ok := pol.ServiceByRoutingKey(key)
	if !ok {
		return escalation.Service{}, []string{fmt.Sprintf("'%s' does not match any service's routing_key", field)}
	}
	return svc, nil
}

// pdAction reads event_action / event_type. Unlike escalation.ParseAction
// it is strict: PagerDuty accepts only the three names, and empty is an
// error rather than trigger.
func pdAction(field, s string) (escalation.Action, string) {
	switch s {
	case "trigger":
		return escalation.Trigger, ""
	case "acknowledge":
		return escalation.Acknowledge, ""
	case "resolve":
		return escalation.Resolve, ""
	case "":
		return "", fmt.Sprintf("'%s' is missing or blank", field)
	}
	return "", fmt.Sprintf("'%s' is invalid (must be one of: trigger acknowledge resolve)", field)
}

func pdDedupKey(field, key string, action escalation.Action) []string {
	if utf8.RuneCountInString(key) > pdMaxDedupKey {
		return []string{fmt.Sprintf("'%s' is too long (maximum %d characters)", field, pdMaxDedupKey)}
	}
	if key == "" && (action == escalation.Acknowledge || action == escalation.Resolve) {
		return []string{fmt.Sprintf("'%s' is missing or blank (required for acknowledge and resolve events)", field)}
	}
	return nil
}

func pdSummary(field, s string) []string {
	if strings.TrimSpace(s) == "" {
		return []string{fmt.Sprintf("'%s' is missing or blank", field)}
	}
	if utf8.RuneCountInString(s) > pdMaxSummary {
		return []string{fmt.Sprintf("'%s' is too long (maximum %d characters)", field, pdMaxSummary)}
	}
	return nil
}

// parsePDSeverity accepts exactly PagerDuty's four lower-case names.
func parsePDSeverity(s string) (escalation.Severity, error) {
	switch s {
	case "critical", "error", "warning", "info":
		return escalation.ParseSeverity(s)
	}
	return 0, fmt.Errorf("unknown severity %q", s)
}

// unmarshalObject decodes a JSON object into v, rejecting anything that is
// not one (an array, a string, trailing data).
func unmarshalObject(body []byte, v any) error {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return errors.New("empty body")
	}
	if trimmed[0] != '{' {
		return errors.New("the body is not a JSON object")
	}
	return json.Unmarshal(body, v)
}

// nonNullJSON drops an explicit JSON null so it is not kept as a detail.
func nonNullJSON(m json.RawMessage) json.RawMessage {
	if len(m) == 0 || string(bytes.TrimSpace(m)) == "null" {
		return nil
	}
	return m
}

// marshalDetails encodes an intake's details; nil when there are none.
func marshalDetails(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil || string(b) == "{}" {
		return nil
	}
	return b
}

// readLimitedBody reads at most limit bytes of the request body. Over the
// limit it reports errBodyTooLarge so the caller can answer 413.
func readLimitedBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, errBodyTooLarge
	}
	return body, err
}

var errBodyTooLarge = errors.New("request body too large")

// handlePagerDutyV2 serves POST /v2/enqueue. The routing key is the
// credential, as at PagerDuty, so no bearer token is needed.
func (s *Server) handlePagerDutyV2(w http.ResponseWriter, r *http.Request) {
	s.servePagerDuty(w, r, decodePagerDutyV2, func(res escalation.IngestResult) (int, any) {
		return http.StatusAccepted, pdAccepted{Status: "success", Message: "Event processed", DedupKey: res.DedupKey}
	})
}

// handlePagerDutyV1 serves the legacy POST
// /generic/2010-04-15/create_event.json. v1 answered 200, not 202.
func (s *Server) handlePagerDutyV1(w http.ResponseWriter, r *http.Request) {
	s.servePagerDuty(w, r, decodePagerDutyV1, func(res escalation.IngestResult) (int, any) {
		return http.StatusOK, pdV1Accepted{Status: "success", Message: "Event processed", IncidentKey: res.DedupKey}
	})
}

func (s *Server) servePagerDuty(w http.ResponseWriter, r *http.Request,
	decode func([]byte, *escalation.Policy) (escalation.Event, *pdError),
	accepted func(escalation.IngestResult) (int, any)) {
	body, err := readLimitedBody(w, r, pdMaxBody)
	if errors.Is(err, errBodyTooLarge) {
		writeJSON(w, http.StatusRequestEntityTooLarge, &pdError{Status: "invalid event",
			Message: "Event object is too large", Errors: []string{"payloads are limited to 512 KB"}})
		return
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, pdUnrecognized(err))
		return
	}
	var pol *escalation.Policy
	if s.policy != nil {
		pol = s.policy()
	}
	ev, perr := decode(body, pol)
	if perr != nil {
		// Logged without the body: it may carry a valid routing key.
		s.log.Warn("pagerduty event rejected", "path", r.URL.Path, "remote", r.RemoteAddr, "errors", perr.Errors)
		writeJSON(w, perr.Code, perr)
		return
	}
	res, err := s.ingest.Ingest(r.Context(), ev)
	if err != nil {
		if code := statusOf(err); code >= 500 {
			// PagerDuty senders retry 5xx (and 429) with back-off.
			s.log.Error("pagerduty event not committed", "service", ev.Service, "err", err)
			w.Header().Set("Retry-After", "1")
			writeJSON(w, code, &pdError{Status: "unavailable", Message: "Event could not be stored; retry later", Errors: []string{err.Error()}})
			return
		}
		// The engine found the event invalid (or its service gone since
		// the routing key was read): same answer shape as the decoder's.
		writeJSON(w, http.StatusBadRequest, pdInvalid(err.Error()))
		return
	}
	code, answer := accepted(res)
	writeJSON(w, code, answer)
}
