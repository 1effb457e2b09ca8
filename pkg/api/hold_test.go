package api_test

import (
	"fmt"
	"testing"
)

// PATCH legal_hold puts a recording on hold: the service stamps when and by whom. While held
// it cannot be deleted (hard or soft), soft-deleted or edited: 423 locked, naming the hold,
// and the document stays at its revision. Reads, audio and restore work; ?has_key=legal_hold
// lists held recordings. Released, everything works again.
func TestLegalHold(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		f := newFixture(t, open)
		id := f.addRecording(rec{audio: []byte("held audio")})
		other := f.addRecording(rec{})
		path := f.base() + "/recordings/" + id

		r := f.call("PATCH", path, tokenAccountAdmin, `{"data":{"legal_hold":{"reason":"case 2026-114","held_by":"someone else"}}}`)
		if r.status != 200 {
			t.Fatalf("hold: %d %s", r.status, r.body)
		}
		hold := r.dataMap(t)["legal_hold"].(map[string]any)
		if hold["reason"] != "case 2026-114" || hold["held_by"] != f.user || hold["held_at"] == nil {
			t.Fatalf("legal_hold = %v, want the reason, held_by %s and held_at stamped", hold, f.user)
		}
		rev := r.env["revision"]

		locked := []struct{ method, path, body string }{
			{"DELETE", path, ""},
			{"DELETE", path + "?should_soft_delete=true", ""},
			{"DELETE", path + "?purge_media=true", ""},
			{"PATCH", path, `{"data":{"soft_delete":{}}}`},
			{"PATCH", path, `{"data":{"caller_id_name":"changed"}}`},
			{"PATCH", path, `{"data":{"legal_hold":{"reason":"again"},"soft_delete":{}}}`},
		}
		for _, c := range locked {
			var body any
			if c.body != "" {
				body = c.body
			}
			r := f.call(c.method, c.path, tokenAccount, body)
			expectError(t, r, 423, "locked")
			lh, _ := r.dataMap(t)["legal_hold"].(map[string]any)
			if lh["reason"] != "case 2026-114" || lh["held_at"] != hold["held_at"] {
				t.Fatalf("%s %s: 423 data %v, want the hold's reason and held_at", c.method, c.path, r.data())
			}
		}
		if got := f.call("GET", path, tokenAccount, nil); got.status != 200 || got.env["revision"] != rev {
			t.Fatalf("after refused changes: %d revision %v, want 200 at %v", got.status, got.env["revision"], rev)
		}
		if a := f.call("GET", path, tokenUser, nil, "Accept", "audio/mpeg"); a.status != 200 || string(a.body) != "held audio" {
			t.Fatalf("audio of a held recording: %d %q", a.status, a.body)
		}
		listed := ids(t, f.call("GET", f.base()+"/recordings?has_key=legal_hold", tokenAccount, nil).dataList(t))
		if fmt.Sprint(listed) != fmt.Sprint([]string{id}) {
			t.Fatalf("has_key=legal_hold lists %v, want only %s", listed, id)
		}

		// A hold set on a soft-deleted recording keeps it from being purged; restoring works.
		soft := f.addRecording(rec{fields: map[string]any{"soft_delete": map[string]any{"deleted_at": 63755032655}}})
		if r := f.call("PATCH", f.base()+"/recordings/"+soft, tokenAccount, `{"data":{"legal_hold":{"reason":"keep"}}}`); r.status != 200 {
			t.Fatalf("hold a soft-deleted recording: %d %s", r.status, r.body)
		}
		if r := f.call("PATCH", f.base()+"/recordings/"+soft, tokenUser, `{"data":{"soft_delete":null}}`); r.status != 200 || r.dataMap(t)["soft_delete"] != nil {
			t.Fatalf("restore a held recording: %d %s", r.status, r.body)
		}

		// Released (an account-level token: held_by would be the account), it goes as usual.
		if r := f.call("PATCH", path, tokenAccount, `{"data":{"legal_hold":null}}`); r.status != 200 || r.dataMap(t)["legal_hold"] != nil {
			t.Fatalf("release: %d %s", r.status, r.body)
		}
		if r := f.call("PATCH", path, tokenAccount, `{"data":{"soft_delete":{}}}`); r.status != 200 {
			t.Fatalf("soft delete after release: %d %s", r.status, r.body)
		}
		if r := f.call("DELETE", path, tokenAccount, nil); r.status != 200 {
			t.Fatalf("delete after release: %d %s", r.status, r.body)
		}
		if r := f.call("DELETE", f.base()+"/recordings/"+other, tokenAccount, nil); r.status != 200 {
			t.Fatalf("a recording never held: %d %s", r.status, r.body)
		}
		byAccount := f.call("PATCH", f.base()+"/recordings/"+soft, tokenAccount, `{"data":{"legal_hold":{"reason":"account token"}}}`)
		if lh := byAccount.dataMap(t)["legal_hold"].(map[string]any); lh["held_by"] != f.account {
			t.Fatalf("held by an account-level token: %v, want held_by %s", lh, f.account)
		}
	})
}

// Only administrators and system tokens set or release holds; a user, a stranger and a bad
// body are refused, and nothing changes.
func TestLegalHoldRefusals(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		f := newFixture(t, open)
		id := f.addRecording(rec{owner: f.user})
		path := f.base() + "/recordings/" + id
		expectError(t, f.call("PATCH", path, tokenUser, `{"data":{"legal_hold":{"reason":"mine"}}}`), 403, "forbidden")
		expectError(t, f.call("PATCH", f.base()+"/recordings/collection", tokenUser,
			`{"data":{"recordings":["`+id+`"],"legal_hold":{"reason":"mine"}}}`), 403, "forbidden")
		expectError(t, f.call("PATCH", path, tokenStranger, `{"data":{"legal_hold":{"reason":"x"}}}`), 403, "forbidden")
		if r := f.call("PATCH", path, tokenSystem, `{"data":{"legal_hold":{"reason":"by the operator"}}}`); r.status != 200 {
			t.Fatalf("system token: %d %s", r.status, r.body)
		}
		expectError(t, f.call("PATCH", path, tokenUser, `{"data":{"legal_hold":null}}`), 403, "forbidden")

		for body, field := range map[string]string{
			`{"data":{"legal_hold":"yes"}}`:                    "legal_hold",
			`{"data":{"legal_hold":{}}}`:                       "legal_hold.reason",
			`{"data":{"legal_hold":{"reason":"  "}}}`:          "legal_hold.reason",
			`{"data":{"legal_hold":{"reason":"x","until":1}}}`: "legal_hold.until",
			`{"data":{"legal_hold":{"reason":12}}}`:            "legal_hold.reason",
		} {
			r := f.call("PATCH", path, tokenAccount, body)
			expectError(t, r, 400, "validation error")
			if _, ok := r.dataMap(t)[field]; !ok {
				t.Errorf("%s: error data %v does not name %s", body, r.data(), field)
			}
		}
		lh := f.call("GET", path, tokenAccount, nil).dataMap(t)["legal_hold"].(map[string]any)
		if lh["reason"] != "by the operator" {
			t.Fatalf("after refused requests the hold is %v", lh)
		}
	})
}

// The collection PATCH takes legal_hold as it takes soft_delete, with per-id outcomes; a
// collection soft delete leaves held recordings out with 423 and deletes the others.
func TestLegalHoldCollection(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		f := newFixture(t, open)
		a, b, c := f.addRecording(rec{}), f.addRecording(rec{}), f.addRecording(rec{})
		col := f.base() + "/recordings/collection"
		r := f.call("PATCH", col, tokenAccount, `{"data":{"recordings":["`+a+`","`+b+`"],"legal_hold":{"reason":"audit"}}}`)
		if r.status != 200 || len(r.dataMap(t)["success"].(map[string]any)) != 2 {
			t.Fatalf("collection hold: %d %s", r.status, r.body)
		}
		r = f.call("PATCH", col, tokenAccount, `{"data":{"recordings":["`+a+`","`+b+`","`+c+`"],"soft_delete":{}}}`)
		out := r.dataMap(t)
		success, _ := out["success"].(map[string]any)
		failure, _ := out["failure"].(map[string]any)
		if len(success) != 1 || success[c] == nil || len(failure) != 2 {
			t.Fatalf("collection soft delete over held ones: %s", r.body)
		}
		for _, id := range []string{a, b} {
			fail := failure[id].(map[string]any)
			if fail["code"] != float64(423) || fail["message"] != "locked" {
				t.Fatalf("failure for held %s: %v", id, fail)
			}
		}
		r = f.call("PATCH", col, tokenAccount, `{"data":{"recordings":["`+a+`"],"legal_hold":null}}`)
		if r.status != 200 || r.dataMap(t)["success"].(map[string]any)[a] == nil {
			t.Fatalf("collection release: %d %s", r.status, r.body)
		}
		if r := f.call("DELETE", f.base()+"/recordings/"+a, tokenAccount, nil); r.status != 200 {
			t.Fatalf("delete after a collection release: %d %s", r.status, r.body)
		}
		expectError(t, f.call("DELETE", f.base()+"/recordings/"+b, tokenAccount, nil), 423, "locked")
	})
}
