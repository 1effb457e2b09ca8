package recording_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/crossbar"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

const fuzzPatchID = "202611-0123456789abcdef0123456789abcdef"

// FuzzPatchBody sends PATCH bodies through the whole chain: crossbar.DecodeRequest, then
// recording.NewPatch, then Patch.Apply on a document. Nothing panics; every refusal is a 400
// or 413 (or a *FieldError naming the field); and an accepted patch is a JSON merge patch of
// public fields only: private fields stay as they were (but the audit stamps), soft_delete
// and soft_restore are stamped, and applying the same patch twice gives the same document.
func FuzzPatchBody(f *testing.F) {
	doc := `{"_id":"` + fuzzPatchID + `","_rev":"3-abc","pvt_type":"call_recording","pvt_created":63900000000,` +
		`"pvt_account_id":"0123456789abcdef0123456789abcdef","_attachments":{"a.mp3":{"content_type":"audio/mpeg","length":5}},` +
		`"description":"old","meta":{"a":1,"b":{"c":[1,2]}},"soft_delete":{"deleted_at":1,"deleted_by":{"account_id":"x"}}}`
	for _, body := range []string{
		`{"data":{"description":"new","meta":{"a":null,"b":{"d":3}}}}`,
		`{"data":{"soft_delete":{}}}`,
		`{"data":{"soft_delete":{"deleted_at":"63755032655"}}}`,
		`{"data":{"soft_delete":{"deleted_at":-1}}}`,
		`{"data":{"soft_delete":{"deleted_at":1e400}}}`,
		`{"data":{"soft_delete":{"deleted_by":"me"}}}`,
		`{"data":{"soft_restore":{}}}`,
		`{"data":{"soft_restore":{},"soft_delete":null}}`,
		`{"data":{"soft_delete":{},"soft_restore":{}}}`,
		`{"data":{"soft_delete":null}}`,
		`{"data":{"pvt_deleted":true}}`,
		`{"data":{"_rev":"1-x"}}`,
		`{"data":{"id":"` + fuzzPatchID + `","x":[1,{"y":null}]}}`,
		`{"data":{"id":"other"}}`,
		`{"data":[]}`, `{"data":null}`, `{}`, `[]`, ``, ` `, `{"data":{}} x`, `{"data":{"a":1}`, `{"data":{"a":"\ud800"}}`,
		`{"data":{"n":123456789012345678901234567890}}`, `{"data":{"":1}}`, `{"data":{"soft_delete":{"deleted_at":" 7 "}}}`,
	} {
		f.Add([]byte(body), []byte(doc))
	}
	f.Add([]byte(`{"data":{"soft_restore":{}}}`), []byte(`{"_id":"`+fuzzPatchID+`"}`))
	f.Add([]byte(`{"data":{"a":{"b":1}}}`), []byte(`{"a":"not an object","pvt_x":{"y":1}}`))

	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	caller := recording.Caller{AccountID: "0123456789abcdef0123456789abcdef", UserID: "u", RequestID: "r"}
	const limit = 64 << 10
	f.Fuzz(func(t *testing.T, body, rawDoc []byte) {
		data, _, apiErr := crossbar.DecodeRequest(bytes.NewReader(body), limit)
		if apiErr != nil {
			if (apiErr.Status != http.StatusBadRequest && apiErr.Status != http.StatusRequestEntityTooLarge) || apiErr.Message == "" {
				t.Fatalf("DecodeRequest(%q) refused with %d %q", body, apiErr.Status, apiErr.Message)
			}
			return
		}
		if data == nil {
			t.Fatalf("DecodeRequest(%q) accepted without data", body)
		}
		patch, err := recording.NewPatch(data, fuzzPatchID)
		if err != nil {
			var fe *recording.FieldError
			if !errors.As(err, &fe) || fe.Field == "" || fe.Code == "" || fe.Message == "" {
				t.Fatalf("NewPatch(%s) refused with %#v", body, err)
			}
			return
		}
		orig, err := recording.DecodeDoc(rawDoc)
		if err != nil || orig == nil {
			return
		}
		orig["_id"] = fuzzPatchID

		got := orig.Clone()
		patch.Apply(got, caller, now)
		again := orig.Clone()
		patch.Apply(again, caller, now)
		if !reflect.DeepEqual(got, again) {
			t.Fatalf("the same patch applied twice to the same document differs:\n%v\n%v", got, again)
		}
		// The patched document shares nothing with the patch: changing it changes no later result.
		want := again.Clone()
		scribble(got)
		scribble(again)
		third := orig.Clone()
		patch.Apply(third, caller, now)
		if !reflect.DeepEqual(third, want) {
			t.Fatalf("changing one patched document changed the patch:\n%v\n%v", third, want)
		}
		got = third

		stamps := map[string]bool{"pvt_modified": true, "pvt_auth_account_id": true, "pvt_auth_user_id": true, "pvt_request_id": true}
		for k, v := range orig {
			if recording.IsPrivateKey(k) && !stamps[k] && !reflect.DeepEqual(got[k], v) {
				t.Fatalf("private field %s changed from %v to %v by %s", k, v, got[k], body)
			}
		}
		for k := range got {
			if _, had := orig[k]; recording.IsPrivateKey(k) && !had && !stamps[k] {
				t.Fatalf("private field %s appeared: %v", k, got[k])
			}
		}
		if got["pvt_modified"] != json.Number(strconv.FormatInt(recording.ToGregorian(now), 10)) {
			t.Fatalf("pvt_modified = %v", got["pvt_modified"])
		}

		for k, v := range data {
			switch k {
			case "id":
				continue
			case "soft_delete", "soft_restore":
				if v == nil {
					if _, present := got[k]; present && k == "soft_delete" {
						t.Fatalf("soft_delete: null left %v", got[k])
					}
					continue
				}
				checkStamped(t, got, k)
				if k == "soft_restore" {
					if _, present := got["soft_delete"]; present {
						t.Fatalf("soft_restore left soft_delete %v", got["soft_delete"])
					}
				}
				continue
			}
			checkMerged(t, k, got[k], hasKey(got, k), v)
		}
		for k, v := range orig {
			if _, patched := data[k]; !patched && !recording.IsPrivateKey(k) && k != "soft_delete" && k != "soft_restore" && !reflect.DeepEqual(got[k], v) {
				t.Fatalf("field %s, not in the patch, changed from %v to %v", k, v, got[k])
			}
		}
		if _, err := json.Marshal(got.Public()); err != nil {
			t.Fatalf("patched document does not encode: %v", err)
		}
	})
}

// checkMerged checks one key of an RFC 7386 merge: null removes, an object merges, anything
// else replaces.
func checkMerged(t *testing.T, path string, got any, present bool, patch any) {
	t.Helper()
	switch p := patch.(type) {
	case nil:
		if present {
			t.Fatalf("%s: null in the patch left %v", path, got)
		}
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Fatalf("%s: object in the patch gave %T %v", path, got, got)
		}
		for k, v := range p {
			_, has := g[k]
			checkMerged(t, path+"."+k, g[k], has, v)
		}
	default:
		if !present || !reflect.DeepEqual(got, patch) {
			t.Fatalf("%s = %v, want %v", path, got, patch)
		}
	}
}

// checkStamped checks soft_delete/soft_restore after Apply: an object with its time (an
// integer, never negative) and its actor (an object).
func checkStamped(t *testing.T, doc recording.Doc, key string) {
	t.Helper()
	at, by := "deleted_at", "deleted_by"
	if key == "soft_restore" {
		at, by = "restored_at", "restored_by"
	}
	obj, ok := doc[key].(map[string]any)
	if !ok {
		t.Fatalf("%s = %T %v, want an object", key, doc[key], doc[key])
	}
	if n, ok := recording.AsInt(obj[at]); !ok || n < 0 {
		t.Fatalf("%s.%s = %v, want gregorian seconds", key, at, obj[at])
	}
	if _, ok := obj[by].(map[string]any); !ok {
		t.Fatalf("%s.%s = %v, want an object", key, by, obj[by])
	}
}

func hasKey(d recording.Doc, k string) bool { _, ok := d[k]; return ok }

// scribble changes every object and list inside v.
func scribble(v any) {
	switch x := v.(type) {
	case recording.Doc:
		scribble(map[string]any(x))
	case map[string]any:
		for _, e := range x {
			scribble(e)
		}
		x["scribbled"] = true
	case []any:
		for i, e := range x {
			scribble(e)
			x[i] = "scribbled"
		}
	}
}
