package audit_test

import (
	"encoding/json"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/audit"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// The hash, worked through once, so that an auditor can check a reimplementation: the
// stored entry without _id, _rev and hash, keys sorted, no whitespace, no HTML escaping.
// Python gives the same bytes with json.dumps(entry, sort_keys=True, separators=(",", ":"),
// ensure_ascii=False), and the same hash.
func TestHashDefinition(t *testing.T) {
	doc, err := recording.DecodeDoc([]byte(`{
		"_id": "e000000000001", "_rev": "1-0b5e", "seq": 1,
		"at": "2024-01-10T08:00:01.234Z", "at_gregorian": 63871660801,
		"account_id": "0123456789abcdef0123456789abcdef",
		"actor": {"user_id": "u1", "credential": "kazoo_jwt", "key_id": "k1"},
		"client_ip": "192.0.2.7", "action": "audio.read", "recording_id": "202401-aa",
		"status": 206, "bytes": 4096, "request_id": "req-1",
		"detail": {"reason": "<case 42> & \"more\"", "ratio": 0.5, "media": ["s3://b/a.mp3"]},
		"prev": "", "hash": "not part of it"}`))
	if err != nil {
		t.Fatal(err)
	}
	const canonical = `{"account_id":"0123456789abcdef0123456789abcdef","action":"audio.read",` +
		`"actor":{"credential":"kazoo_jwt","key_id":"k1","user_id":"u1"},"at":"2024-01-10T08:00:01.234Z",` +
		`"at_gregorian":63871660801,"bytes":4096,"client_ip":"192.0.2.7",` +
		`"detail":{"media":["s3://b/a.mp3"],"ratio":0.5,"reason":"<case 42> & \"more\""},"prev":"",` +
		`"recording_id":"202401-aa","request_id":"req-1","seq":1,"status":206}`
	if got := string(audit.CanonicalJSON(doc)); got != canonical {
		t.Fatalf("canonical JSON\n got %s\nwant %s", got, canonical)
	}
	if got, want := audit.Hash(doc), "8b75b7f748582ea6e4eca5a8c7258614aef8ca8f9d7c73369f1f56f99ae88884"; got != want {
		t.Fatalf("hash %s, want %s", got, want)
	}
}

// A store that writes a number another way (1.0 for 1, 1.0e21 for 1e+21) changes no hash;
// another value does.
func TestHashNumbersByValue(t *testing.T) {
	hash := func(n json.Number) string {
		return audit.Hash(recording.Doc{"seq": json.Number("1"), "detail": map[string]any{"n": n}})
	}
	for _, same := range [][2]json.Number{{"1", "1.0"}, {"1e+21", "1.0e21"}, {"0.5", "5e-1"}, {"-0", "0"}, {"123456789012", "123456789012.0"}} {
		if hash(same[0]) != hash(same[1]) {
			t.Errorf("%s and %s hash differently", same[0], same[1])
		}
	}
	if hash("9007199254740993") == hash("9007199254740992") {
		t.Error("integers past 2^53 lost their last digit")
	}
	if hash("0.5") == hash("0.25") {
		t.Error("0.5 and 0.25 hash alike")
	}
}
