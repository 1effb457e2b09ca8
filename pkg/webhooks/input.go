package webhooks

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/recordingsd/recordingsd/pkg/events"
)

// FieldError is one field a request got wrong, in crossbar's validation terms.
type FieldError struct {
	Field, Code, Message string
}

// InvalidError lists every field a request got wrong (a 400 validation error).
type InvalidError struct{ Fields []FieldError }

func (e *InvalidError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "webhooks: " + strings.Join(parts, "; ")
}

func (e *InvalidError) add(field, code, format string, args ...any) {
	e.Fields = append(e.Fields, FieldError{field, code, fmt.Sprintf(format, args...)})
}

func (e *InvalidError) orNil() error {
	if len(e.Fields) == 0 {
		return nil
	}
	sort.SliceStable(e.Fields, func(i, j int) bool { return e.Fields[i].Field < e.Fields[j].Field })
	return e
}

// Limits on what a request may set.
const (
	maxNameLen       = 128
	maxURILen        = 2048
	minSecretLen     = 16
	maxSecretLen     = 256
	maxCustomDataLen = 4096 // bytes of JSON
)

// settable are the fields a request may set; anything else is refused by name, so a typo
// ("include_subaccount") is not silently ignored.
var settable = map[string]bool{
	"name": true, "uri": true, "events": true, "include_subaccounts": true,
	"enabled": true, "custom_data": true, "secret": true,
}

// URIChecker refuses URIs the service will not call (Sender.CheckURI).
type URIChecker interface {
	CheckURI(raw string) error
}

// apply sets on w the fields of data: every one for a replacement (POST, PUT: name and uri
// required, the rest back to defaults), only those present for a merge (PATCH). It reports
// whether the request enabled the webhook and whether it set a secret.
func apply(w *Webhook, data map[string]any, replace bool, uris URIChecker) (enabled bool, err error) {
	bad := &InvalidError{}
	for k := range data {
		if !settable[k] {
			bad.add(k, "unknown", "%s is not a field of a recording webhook (fields: name, uri, events, include_subaccounts, enabled, custom_data, secret)", k)
		}
	}
	wasEnabled := w.Enabled
	if replace {
		w.Events, w.IncludeSubaccounts, w.Enabled, w.CustomData = events.Types, false, true, nil
		for _, k := range []string{"name", "uri"} {
			if _, ok := data[k]; !ok {
				bad.add(k, "required", "%s is required", k)
			}
		}
	}
	if v, ok := data["name"]; ok {
		s, isString := v.(string)
		switch {
		case !isString || strings.TrimSpace(s) == "":
			bad.add("name", "type", "name must be a non-empty string")
		case utf8.RuneCountInString(s) > maxNameLen:
			bad.add("name", "maxLength", "name must be at most %d characters", maxNameLen)
		default:
			w.Name = s
		}
	}
	if v, ok := data["uri"]; ok {
		s, isString := v.(string)
		switch {
		case !isString || s == "":
			bad.add("uri", "type", "uri must be an http or https URL")
		case len(s) > maxURILen:
			bad.add("uri", "maxLength", "uri must be at most %d bytes", maxURILen)
		default:
			if err := uris.CheckURI(s); err != nil {
				bad.add("uri", "invalid", "%s", err.Error())
			} else {
				w.URI = s
			}
		}
	}
	if v, ok := data["events"]; ok {
		if list, err := eventList(v); err != nil {
			bad.add("events", "enum", "%s", err.Error())
		} else {
			w.Events = list
		}
	}
	for _, f := range []struct {
		key string
		to  *bool
	}{{"include_subaccounts", &w.IncludeSubaccounts}, {"enabled", &w.Enabled}} {
		if v, ok := data[f.key]; ok {
			if b, isBool := v.(bool); isBool {
				*f.to = b
			} else {
				bad.add(f.key, "type", "%s must be true or false", f.key)
			}
		}
	}
	if v, ok := data["custom_data"]; ok {
		switch m := v.(type) {
		case nil:
			w.CustomData = nil
		case map[string]any:
			if b, _ := json.Marshal(m); len(b) > maxCustomDataLen {
				bad.add("custom_data", "maxLength", "custom_data must be at most %d bytes of JSON", maxCustomDataLen)
			} else {
				w.CustomData = m
			}
		default:
			bad.add("custom_data", "type", "custom_data must be an object")
		}
	}
	if v, ok := data["secret"]; ok {
		s, isString := v.(string)
		switch {
		case !isString || utf8.RuneCountInString(s) < minSecretLen || len(s) > maxSecretLen:
			bad.add("secret", "length", "secret must be a string of %d to %d characters", minSecretLen, maxSecretLen)
		default:
			w.Secret = s
		}
	}
	if err := bad.orNil(); err != nil {
		return false, err
	}
	return w.Enabled && (!wasEnabled || w.Disabled != nil), nil
}

// eventList reads an events array: known event names, each once, in the order of Types.
func eventList(v any) ([]events.Type, error) {
	items, ok := v.([]any)
	if !ok || len(items) == 0 {
		return nil, fmt.Errorf("events must be a non-empty array of %s", typeNames())
	}
	want := map[events.Type]bool{}
	for _, it := range items {
		s, _ := it.(string)
		t := events.Type(s)
		if !t.Valid() {
			return nil, fmt.Errorf("%v is not an event (events: %s)", it, typeNames())
		}
		want[t] = true
	}
	var out []events.Type
	for _, t := range events.Types {
		if want[t] {
			out = append(out, t)
		}
	}
	return out, nil
}

func typeNames() string {
	names := make([]string, len(events.Types))
	for i, t := range events.Types {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

// redactURI hides a password in a URI's user information: the API shows where a webhook
// points, not the credentials in it.
func redactURI(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Redacted()
}
