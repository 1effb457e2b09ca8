package crossbar

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// ErrInvalidStartKey wraps every reason a start_key token is refused; answer 400.
var ErrInvalidStartKey = errors.New("invalid start_key")

// startKeyVersion is bumped whenever the token's content changes meaning, so tokens
// minted by an older release are refused rather than misread.
const startKeyVersion = 1

// maxStartKeyLength bounds the work spent on a token before it is known to be bad; a real
// one (owner, gregorian seconds, a recording id of at most 255 characters) is far shorter.
const maxStartKeyLength = 1024

// startKeyToken is the JSON inside a token: a version and the recording.ListKey fields.
type startKeyToken struct {
	Version int    `json:"v"`
	Owner   string `json:"o,omitempty"`
	Created int64  `json:"c"`
	ID      string `json:"i"`
}

// EncodeStartKey makes the opaque start_key / next_start_key token for a listing
// position: base64url without padding of a small versioned JSON. Clients only ever hand
// it back, as Kazoo's monster-ui does with its base64 Erlang terms.
func EncodeStartKey(k recording.ListKey) string {
	raw, _ := json.Marshal(startKeyToken{Version: startKeyVersion, Owner: k.Owner, Created: k.Created, ID: k.ID})
	return base64.RawURLEncoding.EncodeToString(raw) // marshaling strings and ints cannot fail
}

// DecodeStartKey reads a token made by EncodeStartKey for a listing of owner's recordings
// ("" for the account-wide listing). It is strict, because the key goes straight to the
// store: canonical base64url, exactly one JSON object with only known fields, the current
// version, a positive created time, an id ParseRecordingID accepts, and the same owner,
// a user id or "" (a token from one user's listing cannot page through another's).
func DecodeStartKey(token string, owner string) (recording.ListKey, error) {
	if token == "" || len(token) > maxStartKeyLength {
		return recording.ListKey{}, fmt.Errorf("%w: empty or too long", ErrInvalidStartKey)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil {
		return recording.ListKey{}, fmt.Errorf("%w: not base64url", ErrInvalidStartKey)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var t startKeyToken
	if err := dec.Decode(&t); err != nil {
		return recording.ListKey{}, fmt.Errorf("%w: not a start key object", ErrInvalidStartKey)
	}
	if skipJSONSpace(raw, int(dec.InputOffset())) != len(raw) {
		return recording.ListKey{}, fmt.Errorf("%w: data after the object", ErrInvalidStartKey)
	}
	switch _, validID := recording.ParseRecordingID(t.ID); {
	case t.Version != startKeyVersion:
		return recording.ListKey{}, fmt.Errorf("%w: version %d", ErrInvalidStartKey, t.Version)
	case t.Created <= 0:
		return recording.ListKey{}, fmt.Errorf("%w: created is not positive", ErrInvalidStartKey)
	case !validID:
		return recording.ListKey{}, fmt.Errorf("%w: not a recording id", ErrInvalidStartKey)
	case t.Owner != owner:
		return recording.ListKey{}, fmt.Errorf("%w: made for another listing", ErrInvalidStartKey)
	case owner != "" && !recording.ValidUserID(owner):
		return recording.ListKey{}, fmt.Errorf("%w: not a user id", ErrInvalidStartKey)
	}
	return recording.ListKey{Owner: t.Owner, Created: t.Created, ID: t.ID}, nil
}
