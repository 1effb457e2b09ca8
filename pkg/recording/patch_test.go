package recording

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func mustDoc(t *testing.T, s string) Doc {
	t.Helper()
	d, err := DecodeDoc([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestNewPatchRejects(t *testing.T) {
	tests := []struct {
		name, body, field string
	}{
		{"private pvt_ key", `{"pvt_deleted": true}`, "pvt_deleted"},
		{"private _ key", `{"_attachments": {}}`, "_attachments"},
		{"read-only block", `{"_read_only": {}}`, "_read_only"},
		{"other id", `{"id": "202611-other"}`, "id"},
		{"soft_delete not an object", `{"soft_delete": true}`, "soft_delete"},
		{"soft_restore not an object", `{"soft_restore": "yes"}`, "soft_restore"},
		{"both at once", `{"soft_delete": {}, "soft_restore": {}}`, "soft_restore"},
		{"deleted_at not a number", `{"soft_delete": {"deleted_at": "yesterday"}}`, "soft_delete.deleted_at"},
		{"deleted_by not an object", `{"soft_delete": {"deleted_by": "me"}}`, "soft_delete.deleted_by"},
		{"restored_at negative", `{"soft_restore": {"restored_at": -1}}`, "soft_restore.restored_at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewPatch(mustDoc(t, tt.body), "202611-abc")
			fe, ok := err.(*FieldError)
			if !ok || fe.Field != tt.field {
				t.Fatalf("NewPatch(%s) error = %v, want a FieldError on %q", tt.body, err, tt.field)
			}
		})
	}
}

func TestPatchApply(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	nowG := json.Number("63963000000")
	caller := Caller{AccountID: "acc", UserID: "usr"}
	tests := []struct {
		name, doc, patch, want string
	}{
		{
			name:  "merge objects, null removes, scalars replace",
			doc:   `{"_id":"202611-a","a":1,"n":{"x":1,"y":2},"gone":true}`,
			patch: `{"a":2,"n":{"y":null,"z":3},"gone":null,"new":"v"}`,
			want:  `{"_id":"202611-a","a":2,"n":{"x":1,"z":3},"new":"v"}`,
		},
		{
			name:  "soft_delete stamps time and caller",
			doc:   `{"_id":"202611-a"}`,
			patch: `{"soft_delete":{}}`,
			want:  `{"_id":"202611-a","soft_delete":{"deleted_at":63963000000,"deleted_by":{"account_id":"acc","user_id":"usr"}}}`,
		},
		{
			name:  "soft_delete keeps a given time, numeric string becomes integer",
			doc:   `{"_id":"202611-a"}`,
			patch: `{"soft_delete":{"deleted_at":"63755032655","deleted_by":{"account_id":"x","user_id":"y"}}}`,
			want:  `{"_id":"202611-a","soft_delete":{"deleted_at":63755032655,"deleted_by":{"account_id":"x","user_id":"y"}}}`,
		},
		{
			name:  "soft_restore moves soft_delete under delete_data",
			doc:   `{"_id":"202611-a","soft_delete":{"deleted_at":1,"deleted_by":{"account_id":"x"}}}`,
			patch: `{"soft_restore":{}}`,
			want:  `{"_id":"202611-a","soft_restore":{"restored_at":63963000000,"restored_by":{"account_id":"acc","user_id":"usr"},"delete_data":{"deleted_at":1,"deleted_by":{"account_id":"x"}}}}`,
		},
		{
			name:  "soft_delete null restores the Kazoo way",
			doc:   `{"_id":"202611-a","soft_delete":{"deleted_at":1}}`,
			patch: `{"soft_delete":null}`,
			want:  `{"_id":"202611-a"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPatch(mustDoc(t, tt.patch), "202611-a")
			if err != nil {
				t.Fatal(err)
			}
			doc := mustDoc(t, tt.doc)
			p.Apply(doc, caller, now)
			want := mustDoc(t, tt.want)
			want["pvt_modified"] = nowG
			want["pvt_auth_account_id"] = "acc"
			want["pvt_auth_user_id"] = "usr"
			if !reflect.DeepEqual(normalize(t, doc), normalize(t, want)) {
				got, _ := json.Marshal(doc)
				exp, _ := json.Marshal(want)
				t.Fatalf("got  %s\nwant %s", got, exp)
			}
		})
	}
}

// normalize round-trips through JSON so map[string]any and Doc compare equal.
func normalize(t *testing.T, d Doc) any {
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParseRecordingID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"202611-0123456789abcdef0123456789abcdef", true},
		{"202612-call.id@host_~x-1", true},
		{"202613-abc", false},
		{"202600-abc", false},
		{"abcdef-abc", false},
		{"202611abc", false},
		{"202611-", false},
		{"202611-../x", false},
		{"202611-a/b", false},
		{"_design/recordingsd", false},
		{"202611-a%2Fb", false},
		{"202611-a b", false},
	}
	for _, tt := range tests {
		if _, ok := ParseRecordingID(tt.id); ok != tt.ok {
			t.Errorf("ParseRecordingID(%q) ok = %v, want %v", tt.id, ok, tt.ok)
		}
	}
}
