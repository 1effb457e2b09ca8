package recording

import (
	"bytes"
	"encoding/json"
	"net/url"
	"sort"
	"strings"
)

// Doc is a CouchDB document exactly as stored: public and private fields, kept verbatim.
// Numbers decode as json.Number so no integer loses precision on the way through.
type Doc map[string]any

// DecodeDoc parses a JSON object into a Doc, keeping numbers exact.
func DecodeDoc(raw []byte) (Doc, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var d Doc
	if err := dec.Decode(&d); err != nil {
		return nil, err
	}
	return d, nil
}

// DocOf turns a value (a state or lease the service keeps as a document) into a Doc through
// JSON, numbers kept exact.
func DocOf(v any) (Doc, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return DecodeDoc(raw)
}

// DecodeInto fills v from the document through JSON, numbers kept exact.
func (d Doc) DecodeInto(v any) error {
	raw, err := json.Marshal(d)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(v)
}

// ID returns _id.
func (d Doc) ID() string { s, _ := d["_id"].(string); return s }

// Rev returns _rev.
func (d Doc) Rev() string { s, _ := d["_rev"].(string); return s }

// Type returns pvt_type.
func (d Doc) Type() string { s, _ := d["pvt_type"].(string); return s }

// String returns a top-level string field, or "".
func (d Doc) String(key string) string { s, _ := d[key].(string); return s }

// Bool reports whether a top-level field is JSON true.
func (d Doc) Bool(key string) bool { b, _ := d[key].(bool); return b }

// Int returns a top-level integer field.
func (d Doc) Int(key string) (int64, bool) { return AsInt(d[key]) }

// Clone deep-copies the document.
func (d Doc) Clone() Doc {
	if d == nil {
		return nil
	}
	return cloneValue(map[string]any(d)).(map[string]any)
}

func cloneValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = cloneValue(x)
		}
		return out
	case Doc:
		return Doc(cloneValue(map[string]any(t)).(map[string]any))
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = cloneValue(x)
		}
		return out
	default:
		return v
	}
}

// AsInt converts a JSON number (json.Number, float64 or int types) to int64.
func AsInt(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return i, true
		}
		if f, err := n.Float64(); err == nil && f == float64(int64(f)) {
			return int64(f), true
		}
	case float64:
		if n == float64(int64(n)) {
			return int64(n), true
		}
	case int:
		return int64(n), true
	case int64:
		return n, true
	}
	return 0, false
}

// IsPrivateKey reports whether a key is hidden from clients: Kazoo hides "_" and "pvt_" keys.
func IsPrivateKey(k string) bool { return strings.HasPrefix(k, "_") || strings.HasPrefix(k, "pvt_") }

// Public returns the client-facing view of a recording: public fields as stored, "id" and
// "_read_only.content_types" (sorted unique types over inline and external attachments).
// Credentials never appear: a URL's user info is removed from any public string; where Kazoo
// copied a storage handler's payload into a public field (kz_att_http's document_url_field),
// a URL keeps its scheme, host and path but loses its query (signed queries are credentials),
// and any other payload value (an S3 key pair) is left out.
func (d Doc) Public() map[string]any {
	payloads := d.handlerPayloadStrings()
	out := make(map[string]any, len(d)+2)
	for k, v := range d {
		if IsPrivateKey(k) {
			continue
		}
		if s, ok := v.(string); ok {
			clean, keep := publicString(s, payloads[s])
			if !keep {
				continue
			}
			v = clean
		}
		out[k] = v
	}
	out["id"] = d.ID()
	out["_read_only"] = map[string]any{"content_types": d.ContentTypes()}
	return out
}

// publicString removes credentials from a public string value; keep is false when the whole
// value is one. payload says that the value is also a storage handler's payload.
func publicString(s string, payload bool) (clean string, keep bool) {
	if !payload && !strings.Contains(s, "@") {
		return s, true // no user info possible: the common case costs no parsing
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return s, !payload
	}
	if u.User == nil && (!payload || u.RawQuery == "") {
		return s, true
	}
	u.User = nil
	if payload {
		u.RawQuery, u.ForceQuery = "", false
	}
	return u.String(), true
}

// handlerPayloadStrings collects the string values of every storage handler's payload
// (pvt_attachments.<name>.handler.<module>.<key>), or nil when there are none.
func (d Doc) handlerPayloadStrings() map[string]bool {
	var out map[string]bool
	entries, _ := d["pvt_attachments"].(map[string]any)
	for _, e := range entries {
		entry, _ := e.(map[string]any)
		handlers, _ := entry["handler"].(map[string]any)
		for _, p := range handlers {
			payload, _ := p.(map[string]any)
			for _, v := range payload {
				if s, ok := v.(string); ok && s != "" {
					if out == nil {
						out = map[string]bool{}
					}
					out[s] = true
				}
			}
		}
	}
	return out
}

// Attachment describes one attachment of a recording, inline or on a storage provider.
type Attachment struct {
	Name        string
	ContentType string
	Length      int64
	Digest      string // CouchDB digest ("md5-…") for inline attachments
	External    bool   // stored through a storage plan (pvt_attachments)
}

// Attachments lists inline (_attachments) then external (pvt_attachments) attachments,
// each group sorted by name, the order in which Kazoo picks "the first" one.
func (d Doc) Attachments() []Attachment {
	var out []Attachment
	for _, group := range []struct {
		key      string
		external bool
	}{{"_attachments", false}, {"pvt_attachments", true}} {
		m, _ := d[group.key].(map[string]any)
		names := make([]string, 0, len(m))
		for name := range m {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			meta, _ := m[name].(map[string]any)
			a := Attachment{Name: name, External: group.external}
			a.ContentType, _ = meta["content_type"].(string)
			a.Length, _ = AsInt(meta["length"])
			a.Digest, _ = meta["digest"].(string)
			out = append(out, a)
		}
	}
	return out
}

// ContentTypes returns the sorted, unique content types of all attachments ([] when none).
func (d Doc) ContentTypes() []any {
	seen := map[string]bool{}
	types := []string{}
	for _, a := range d.Attachments() {
		if a.ContentType != "" && !seen[a.ContentType] {
			seen[a.ContentType] = true
			types = append(types, a.ContentType)
		}
	}
	sort.Strings(types)
	out := make([]any, len(types))
	for i, t := range types {
		out[i] = t
	}
	return out
}

// IsDeleted reports whether Kazoo's own soft delete (pvt_deleted true or "true") marks the document.
func (d Doc) IsDeleted() bool {
	v := d["pvt_deleted"]
	return v == true || v == "true"
}

// IsSoftDeleted reports whether the recording carries a soft_delete marker (any non-null value).
func (d Doc) IsSoftDeleted() bool {
	v, ok := d["soft_delete"]
	return ok && v != nil
}

// IsListed is the listing index's rule, mirrored by the CouchDB views in couchviews/:
// a call_recording with an integer pvt_created that is not pvt_deleted, and not soft-deleted
// unless includeSoftDeleted. The owner index further needs a non-empty string owner_id.
func (d Doc) IsListed(includeSoftDeleted bool) bool {
	if d.Type() != TypeCallRecording || d.IsDeleted() {
		return false
	}
	if _, ok := d.Int("pvt_created"); !ok {
		return false
	}
	return includeSoftDeleted || !d.IsSoftDeleted()
}

// TypeCallRecording is pvt_type of recording documents.
const TypeCallRecording = "call_recording"
