package recording_test

import (
	"reflect"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Public fields are served as stored, minus credentials.
func TestPublicKeepsFieldsAndDropsCredentials(t *testing.T) {
	httpPayload := func(u string) map[string]any {
		return map[string]any{"call.mp3": map[string]any{"content_type": "audio/mpeg",
			"handler": map[string]any{"kz_att_http": map[string]any{"url": u}}}}
	}
	tests := []struct {
		name  string
		doc   recording.Doc
		field string
		want  any // nil: left out
	}{
		{"a plain url", recording.Doc{"url": "http://host/path"}, "url", "http://host/path"},
		{"a url with a query", recording.Doc{"url": "https://host/path?a=1&b=2"}, "url", "https://host/path?a=1&b=2"},
		{"a url with user info", recording.Doc{"url": "http://user:secret@host/path?a=1"}, "url", "http://host/path?a=1"},
		{"a url with a user only", recording.Doc{"url": "https://user@host:8443/p"}, "url", "https://host:8443/p"},
		{"an address is no url", recording.Doc{"caller_id_name": "ada@example.com"}, "caller_id_name", "ada@example.com"},
		{"a sip uri is kept", recording.Doc{"to": "sip:1000@pbx.example"}, "to", "sip:1000@pbx.example"},
		{"the handler's url, copied by document_url_field",
			recording.Doc{"pvt_attachments": httpPayload("http://kazoo:pw@media.example/r/call.mp3?token=t0k"), "url": "http://kazoo:pw@media.example/r/call.mp3?token=t0k"},
			"url", "http://media.example/r/call.mp3"},
		{"the handler's url without credentials",
			recording.Doc{"pvt_attachments": httpPayload("http://media.example/r/call.mp3"), "url": "http://media.example/r/call.mp3"},
			"url", "http://media.example/r/call.mp3"},
		{"an S3 secret copied into a public field",
			recording.Doc{"pvt_attachments": map[string]any{"call.mp3": map[string]any{"handler": map[string]any{"kz_att_s3": map[string]any{"secret": "s3cr3t"}}}}, "note": "s3cr3t"},
			"note", nil},
		{"a number stays a number", recording.Doc{"duration": 30}, "duration", 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.doc.Public()[tt.field]
			if tt.want == nil {
				if ok {
					t.Errorf("%s = %v, want it left out", tt.field, got)
				}
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s = %#v, want %#v", tt.field, got, tt.want)
			}
		})
	}
}
