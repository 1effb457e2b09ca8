package media

import (
	"fmt"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// FromDocument reads pvt_attachments.<name> of a recording: {"content_type", "length",
// "handler": {"<module>": {payload}}} (Kazoo's kzs_attachments:attachment_from_handler/4).
// Errors: Invalid when the entry names no single handler module with a payload object.
func FromDocument(accountID, id string, doc recording.Doc, name string) (Attachment, error) {
	ext := Attachment{AccountID: accountID, RecordingID: id, Name: name, Length: -1}
	entries, _ := doc["pvt_attachments"].(map[string]any)
	entry, _ := entries[name].(map[string]any)
	handler, _ := entry["handler"].(map[string]any)
	if len(handler) != 1 {
		return ext, &Error{Kind: Invalid, Handler: "unknown", Reason: "bad_handler",
			Err: fmt.Errorf("pvt_attachments entry %q names %d handler modules, want one", name, len(handler))}
	}
	for module, payload := range handler {
		ext.Handler = module
		ext.Payload, _ = payload.(map[string]any)
	}
	if ext.Payload == nil {
		return ext, &Error{Kind: Invalid, Handler: ext.Handler, Reason: "bad_handler",
			Err: fmt.Errorf("pvt_attachments entry %q has no handler payload object", name)}
	}
	if n, ok := recording.AsInt(entry["length"]); ok && n >= 0 {
		ext.Length = n
	}
	ext.Fields = make(map[string]any, len(doc))
	for k, v := range doc {
		if !recording.IsPrivateKey(k) {
			ext.Fields[k] = v
		}
	}
	return ext, nil
}
