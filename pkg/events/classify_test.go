package events

import (
	"reflect"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// doc builds a recording document at revision rev.
func doc(rev string, fields map[string]any) recording.Doc {
	d := recording.Doc{"_id": "202612-0123456789abcdef0123456789abcdef", "_rev": rev, "pvt_type": "call_recording",
		"pvt_created": 63900000000, "caller_id_number": "+15550001", "owner_id": "u1"}
	for k, v := range fields {
		if v == nil {
			delete(d, k)
			continue
		}
		d[k] = v
	}
	return d
}

var audio = map[string]any{"call.mp3": map[string]any{"content_type": "audio/mpeg", "length": 9}}

func change(rev string, fields map[string]any) recording.Change {
	d := doc(rev, fields)
	return recording.Change{AccountID: "acc", ID: d.ID(), Rev: rev, Doc: d}
}

func gone(rev string) recording.Change {
	return recording.Change{AccountID: "acc", ID: "202612-0123456789abcdef0123456789abcdef", Rev: rev, Deleted: true}
}

// A recording's life, change by change, and the events each change makes.
func TestClassifyALife(t *testing.T) {
	steps := []struct {
		name   string
		change recording.Change
		want   []happening
	}{
		{"Kazoo writes the document, no audio yet", change("1-a", nil), nil},
		{"then its audio", change("2-b", map[string]any{"_attachments": audio}), []happening{{Type: Created}}},
		{"the same revision again (a feed repeats)", change("2-b", map[string]any{"_attachments": audio}), nil},
		{"a private field changes", change("3-c", map[string]any{"_attachments": audio, "pvt_modified": 1}), nil},
		{"a public field changes", change("4-d", map[string]any{"_attachments": audio, "notes": "x"}), []happening{{Type: Updated}}},
		{"soft deleted", change("5-e", map[string]any{"_attachments": audio, "notes": "x", "soft_delete": map[string]any{"deleted_at": 1}}), []happening{{Type: SoftDeleted}}},
		{"restored (the API keeps the stamp in soft_restore)", change("6-f", map[string]any{"_attachments": audio, "notes": "x", "soft_restore": map[string]any{"restored_at": 2}}), []happening{{Type: Restored}}},
		{"soft deleted with a field change", change("7-g", map[string]any{"_attachments": audio, "notes": "y", "soft_delete": map[string]any{}}), []happening{{Type: Updated}, {Type: SoftDeleted}}},
		{"Kazoo's delete", change("8-h", map[string]any{"_attachments": audio, "pvt_deleted": true}), []happening{{Type: Deleted, Reason: ReasonKazooDeleted}}},
		{"Kazoo's cleanup removes it: already told", gone("9-i"), nil},
	}
	var k *known
	for _, s := range steps {
		got, next := classify(k, s.change, 0)
		if !reflect.DeepEqual(got, s.want) {
			t.Fatalf("%s: %v, want %v", s.name, got, s.want)
		}
		k = &next
	}
}

func TestClassifyEdges(t *testing.T) {
	announced := func(fields map[string]any) *known {
		_, k := classify(nil, change("2-b", mergeFields(map[string]any{"_attachments": audio}, fields)), 0)
		return &k
	}
	const since = 63900000000 + 3600 // the watcher began an hour after the recordings' pvt_created
	tests := []struct {
		name   string
		prev   *known
		change recording.Change
		since  int64
		want   []happening
		check  func(t *testing.T, k known)
	}{
		{name: "older than the watcher, first seen soft deleted", since: since,
			change: change("5-e", map[string]any{"_attachments": audio, "soft_delete": map[string]any{}, "pvt_modified": since + 5}), want: []happening{{Type: SoftDeleted}}},
		{name: "older than the watcher, first seen with pvt_deleted", since: since,
			change: change("5-e", map[string]any{"_attachments": audio, "pvt_deleted": true, "pvt_modified": since + 5}), want: []happening{{Type: Deleted, Reason: ReasonKazooDeleted}}},
		{name: "older than the watcher, first seen changed", since: since,
			change: change("5-e", map[string]any{"_attachments": audio, "notes": "x", "pvt_modified": since + 5}), want: []happening{{Type: Updated}}},
		{name: "older than the watcher, first seen without audio", since: since, change: change("1-a", map[string]any{"pvt_modified": since + 5})},
		{name: "older than the watcher, its first write arriving late (an import)", since: since,
			change: change("2-b", map[string]any{"_attachments": audio, "pvt_modified": 63900000000}), want: []happening{{Type: Created}}},
		{name: "created after the watcher began", since: since,
			change: change("2-b", map[string]any{"_attachments": audio, "pvt_created": since + 10}), want: []happening{{Type: Created}}},
		{name: "created within the clocks' margin of the start", since: since,
			change: change("2-b", map[string]any{"_attachments": audio, "pvt_created": since - 60}), want: []happening{{Type: Created}}},
		{name: "first seen with audio", change: change("2-b", map[string]any{"_attachments": audio}), want: []happening{{Type: Created}}},
		{name: "first seen with audio on a storage provider", change: change("1-a", map[string]any{"pvt_attachments": audio}), want: []happening{{Type: Created}}},
		{name: "a hard delete of a recording never seen", change: gone("3-c")},
		{name: "a hard delete of a recording never announced", prev: &known{DocRev: "1-a"}, change: gone("2-b")},
		{name: "a purge after the announcement", prev: announced(nil),
			change: func() recording.Change {
				c := gone("3-c")
				c.Doc = recording.Doc{"_id": c.ID, "_rev": "3-c", "_deleted": true, recording.DeletedBy: recording.DeletedByRetention}
				return c
			}(),
			want: []happening{{Type: Deleted, Reason: ReasonRetention}}},
		{name: "a hard delete after the announcement", prev: announced(nil), change: gone("3-c"),
			want: []happening{{Type: Deleted, Reason: ReasonHardDeleted}},
			check: func(t *testing.T, k known) {
				if !k.Removed || k.Data["caller_id_number"] != "+15550001" {
					t.Errorf("after removal: %+v; want it removed, its last data kept", k)
				}
			}},
		{name: "pvt_deleted on a recording never announced", change: change("2-b", map[string]any{"_attachments": audio, "pvt_deleted": true})},
		{name: "pvt_deleted taken back", prev: &known{DocRev: "2-b", Announced: true, KazooDeleted: true}, change: change("3-c", map[string]any{"_attachments": audio}),
			want: []happening{{Type: Restored}}},
		{name: "created again after a removal", prev: &known{Announced: true, Removed: true}, change: change("1-x", map[string]any{"_attachments": audio}),
			want: []happening{{Type: Created}}},
		{name: "a new attachment is an update (its content types are public)", prev: announced(nil),
			change: change("3-c", map[string]any{"_attachments": mergeFields(audio, map[string]any{"b.wav": map[string]any{"content_type": "audio/wav"}})}),
			want:   []happening{{Type: Updated}}},
		{name: "the owner is remembered for the stream", change: change("2-b", map[string]any{"_attachments": audio, "owner_id": "u9"}),
			want: []happening{{Type: Created}},
			check: func(t *testing.T, k known) {
				if k.Owner != "u9" || k.Data["id"] != "202612-0123456789abcdef0123456789abcdef" {
					t.Errorf("known = %+v", k)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, next := classify(tt.prev, tt.change, tt.since)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("classify = %v, want %v", got, tt.want)
			}
			if next.DocRev != tt.change.Rev {
				t.Errorf("known revision %s, want %s", next.DocRev, tt.change.Rev)
			}
			if tt.check != nil {
				tt.check(t, next)
			}
		})
	}
}

// Credentials never reach an event: data is the listing's view.
func TestClassifyDataIsPublic(t *testing.T) {
	c := change("2-b", map[string]any{"pvt_attachments": map[string]any{"call.mp3": map[string]any{"content_type": "audio/mpeg",
		"handler": map[string]any{"kz_att_s3": map[string]any{"key": "AKIA", "secret": "s3cr3t"}}}}, "url": "http://u:pw@host/x"})
	_, k := classify(nil, c, 0)
	if _, ok := k.Data["pvt_attachments"]; ok || k.Data["url"] != "http://host/x" {
		t.Errorf("data = %v", k.Data)
	}
}

func mergeFields(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
