package crossbar

import (
	"encoding/base64"
	"errors"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

const (
	tokenID    = "202005-0123456789abcdef0123456789abcdef"
	tokenOwner = "fedcba9876543210fedcba9876543210"
)

func TestEncodeStartKey(t *testing.T) {
	tests := []struct {
		key      recording.ListKey
		wantJSON string // what the token hides
	}{
		{recording.ListKey{Created: 63757000000, ID: tokenID},
			`{"v":1,"c":63757000000,"i":"` + tokenID + `"}`},
		{recording.ListKey{Owner: tokenOwner, Created: 63757000000, ID: tokenID},
			`{"v":1,"o":"` + tokenOwner + `","c":63757000000,"i":"` + tokenID + `"}`},
	}
	for _, tt := range tests {
		token := EncodeStartKey(tt.key)
		if token != base64.RawURLEncoding.EncodeToString([]byte(tt.wantJSON)) {
			t.Errorf("EncodeStartKey(%+v) = %s, want base64url of %s", tt.key, token, tt.wantJSON)
		}
		got, err := DecodeStartKey(token, tt.key.Owner)
		if err != nil || got != tt.key {
			t.Errorf("DecodeStartKey(EncodeStartKey(%+v)) = %+v, %v", tt.key, got, err)
		}
	}
}

func TestDecodeStartKeyRefuses(t *testing.T) {
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	good := `{"v":1,"c":63757000000,"i":"` + tokenID + `"}`
	tests := []struct {
		name  string
		token string
		owner string
	}{
		{"empty", "", ""},
		{"too long", b64(good + string(make([]byte, maxStartKeyLength))), ""},
		{"not base64", "not base64!", ""},
		{"padded base64", base64.URLEncoding.EncodeToString([]byte(good + " ")), ""},
		{"standard base64 alphabet", "+/" + b64(good)[2:], ""},
		{"not JSON", b64("hello"), ""},
		{"a JSON list (Kazoo's key shape)", b64(`[63757000000,"` + tokenID + `"]`), ""},
		{"another version", b64(`{"v":2,"c":63757000000,"i":"` + tokenID + `"}`), ""},
		{"no version", b64(`{"c":63757000000,"i":"` + tokenID + `"}`), ""},
		{"created zero", b64(`{"v":1,"c":0,"i":"` + tokenID + `"}`), ""},
		{"created negative", b64(`{"v":1,"c":-5,"i":"` + tokenID + `"}`), ""},
		{"created a float", b64(`{"v":1,"c":1.5,"i":"` + tokenID + `"}`), ""},
		{"created a string", b64(`{"v":1,"c":"63757000000","i":"` + tokenID + `"}`), ""},
		{"created null", b64(`{"v":1,"c":null,"i":"` + tokenID + `"}`), ""},
		{"no id", b64(`{"v":1,"c":63757000000}`), ""},
		{"id without a month", b64(`{"v":1,"c":63757000000,"i":"0123456789abcdef"}`), ""},
		{"id naming a design document", b64(`{"v":1,"c":63757000000,"i":"_design/recordings"}`), ""},
		{"id with a slash", b64(`{"v":1,"c":63757000000,"i":"202005-a/b"}`), ""},
		{"unknown field", b64(`{"v":1,"c":63757000000,"i":"` + tokenID + `","x":1}`), ""},
		{"data after the object", b64(good + `}`), ""},
		{"a second object", b64(good + good), ""},
		{"a user's token on the account listing", EncodeStartKey(recording.ListKey{Owner: tokenOwner, Created: 1, ID: tokenID}), ""},
		{"the account's token on a user listing", EncodeStartKey(recording.ListKey{Created: 1, ID: tokenID}), tokenOwner},
		{"another user's token", EncodeStartKey(recording.ListKey{Owner: tokenOwner, Created: 1, ID: tokenID}), "00000000000000000000000000000000"},
		{"an owner that is not a user id", EncodeStartKey(recording.ListKey{Owner: "u1", Created: 1, ID: tokenID}), "u1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := DecodeStartKey(tt.token, tt.owner)
			if !errors.Is(err, ErrInvalidStartKey) || k != (recording.ListKey{}) {
				t.Errorf("DecodeStartKey(%q, %q) = %+v, %v; want ErrInvalidStartKey", tt.token, tt.owner, k, err)
			}
		})
	}
}

func TestDecodeStartKeyAcceptsWhitespace(t *testing.T) {
	token := base64.RawURLEncoding.EncodeToString([]byte(" {\"v\":1, \"c\":7, \"i\":\"" + tokenID + "\"}\n"))
	if k, err := DecodeStartKey(token, ""); err != nil || k != (recording.ListKey{Created: 7, ID: tokenID}) {
		t.Errorf("got %+v, %v", k, err)
	}
}

// FuzzDecodeStartKey: no token makes DecodeStartKey panic; whatever it accepts is a valid
// key for that listing and survives another encode and decode; every valid key (and only
// a valid one) survives an encode and decode.
func FuzzDecodeStartKey(f *testing.F) {
	f.Add(EncodeStartKey(recording.ListKey{Created: 63757000000, ID: tokenID}), "", int64(63757000000), tokenID)
	f.Add(EncodeStartKey(recording.ListKey{Owner: tokenOwner, Created: 1, ID: tokenID}), tokenOwner, int64(1), "197001-x")
	f.Add(base64.RawURLEncoding.EncodeToString([]byte(`{"v":1,"c":1e3,"i":"`+tokenID+`"}`)), "", int64(-1), "")
	f.Add("AAAA", "", int64(0), "202013-a")
	f.Add("", "u", int64(1<<62), "209912-~@._-")
	f.Fuzz(func(t *testing.T, token, owner string, created int64, id string) {
		k, err := DecodeStartKey(token, owner)
		if err == nil {
			if _, ok := recording.ParseRecordingID(k.ID); !ok || k.Created <= 0 || k.Owner != owner {
				t.Fatalf("DecodeStartKey(%q, %q) accepted %+v", token, owner, k)
			}
			again, err := DecodeStartKey(EncodeStartKey(k), owner)
			if err != nil || again != k {
				t.Fatalf("re-encoding %+v decodes to %+v, %v", k, again, err)
			}
		}

		key := recording.ListKey{Owner: owner, Created: created, ID: id}
		_, validID := recording.ParseRecordingID(id)
		valid := validID && created > 0 && (owner == "" || recording.ValidUserID(owner))
		back, err := DecodeStartKey(EncodeStartKey(key), owner)
		switch {
		case valid && (err != nil || back != key):
			t.Fatalf("%+v round-trips to %+v, %v", key, back, err)
		case !valid && err == nil:
			t.Fatalf("invalid %+v was accepted", key)
		}
	})
}
