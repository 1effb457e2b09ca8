package webhooks

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/events"
)

// anyHTTP accepts http and https URIs, as a Sender with no host rules would for public hosts.
type anyHTTP struct{}

func (anyHTTP) CheckURI(raw string) error {
	if !strings.HasPrefix(raw, "http://") && !strings.HasPrefix(raw, "https://") {
		return errors.New("uri must be an http or https URL")
	}
	return nil
}

func TestApplyDefaultsAndMerge(t *testing.T) {
	var w Webhook
	if _, err := apply(&w, map[string]any{"name": "crm", "uri": "https://crm.example.com/hook"}, true, anyHTTP{}); err != nil {
		t.Fatal(err)
	}
	if !w.Enabled || w.IncludeSubaccounts || !reflect.DeepEqual(w.Events, events.Types) || w.CustomData != nil {
		t.Fatalf("defaults: %+v", w)
	}
	// a merge changes only what it names; events come back in the order of a recording's life
	if _, err := apply(&w, map[string]any{"events": []any{"recording.deleted", "recording.created"}, "enabled": false}, false, anyHTTP{}); err != nil {
		t.Fatal(err)
	}
	if w.Name != "crm" || w.Enabled || !reflect.DeepEqual(w.Events, []events.Type{events.Created, events.Deleted}) {
		t.Fatalf("after merge: %+v", w)
	}
	enabled, err := apply(&w, map[string]any{"enabled": true}, false, anyHTTP{})
	if err != nil || !enabled {
		t.Fatalf("enabling: %v %v", enabled, err)
	}
	// a replacement puts every field not given back to its default
	if _, err := apply(&w, map[string]any{"name": "n", "uri": "http://h/"}, true, anyHTTP{}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(w.Events, events.Types) {
		t.Errorf("events after a replacement: %v", w.Events)
	}
}

// Every bad field is reported at once, each by name and rule.
func TestApplyRefusesWithReasons(t *testing.T) {
	cases := []struct {
		data    map[string]any
		replace bool
		want    []string // field:code
	}{
		{map[string]any{}, true, []string{"name:required", "uri:required"}},
		{map[string]any{"name": "", "uri": "ftp://x"}, false, []string{"name:type", "uri:invalid"}},
		{map[string]any{"name": strings.Repeat("n", 129)}, false, []string{"name:maxLength"}},
		{map[string]any{"events": []any{"recording.played"}}, false, []string{"events:enum"}},
		{map[string]any{"events": []any{}}, false, []string{"events:enum"}},
		{map[string]any{"include_subaccounts": "yes", "enabled": 1.0}, false, []string{"enabled:type", "include_subaccounts:type"}},
		{map[string]any{"custom_data": []any{1}}, false, []string{"custom_data:type"}},
		{map[string]any{"custom_data": map[string]any{"x": strings.Repeat("y", 5000)}}, false, []string{"custom_data:maxLength"}},
		{map[string]any{"secret": "short"}, false, []string{"secret:length"}},
		{map[string]any{"include_subaccount": true}, false, []string{"include_subaccount:unknown"}},
		{map[string]any{"uri": 7.0}, false, []string{"uri:type"}},
	}
	for _, c := range cases {
		w := Webhook{Name: "kept", URI: "https://kept.example.com/", Events: events.Types, Enabled: true}
		before := w
		_, err := apply(&w, c.data, c.replace, anyHTTP{})
		var invalid *InvalidError
		if !errors.As(err, &invalid) {
			t.Errorf("%v: error %v, want an InvalidError", c.data, err)
			continue
		}
		var got []string
		for _, f := range invalid.Fields {
			got = append(got, f.Field+":"+f.Code)
			if f.Code != "invalid" && !strings.Contains(f.Message, f.Field) {
				t.Errorf("%v: message %q does not name the field", c.data, f.Message)
			}
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v: failures %v, want %v", c.data, got, c.want)
		}
		if !c.replace && w.Name != before.Name {
			t.Errorf("%v: a refused merge changed the name to %q", c.data, w.Name)
		}
	}
}

// The API never shows the secret, nor a password in the URI.
func TestPublicHidesSecrets(t *testing.T) {
	w := Webhook{ID: "ab", Name: "n", URI: "https://user:hunter2@crm.example.com/hook?x=1", Secret: "whsec_s3cr3t", Events: events.Types}
	out := w.Public()
	for k, v := range out {
		if s, ok := v.(string); ok && (strings.Contains(s, "hunter2") || strings.Contains(s, "s3cr3t")) {
			t.Errorf("%s shows a secret: %q", k, s)
		}
	}
	if out["uri"] != "https://user:xxxxx@crm.example.com/hook?x=1" {
		t.Errorf("uri %v", out["uri"])
	}
}
