package recording

import (
	"encoding/json"
	"math"
)

// The user document fields holding Kazoo's credential hashes: md5 / sha1 hex of
// "username:password". AuthStore.UsersByCredentials looks users up by one of them.
const (
	FieldMD5Auth  = "pvt_md5_auth"
	FieldSHA1Auth = "pvt_sha1_auth"
)

// ValidCredentialField reports whether field is one users are looked up by: FieldMD5Auth or
// FieldSHA1Auth.
func ValidCredentialField(field string) bool {
	return field == FieldMD5Auth || field == FieldSHA1Auth
}

// HasCredentials is Kazoo's rule for a user who can sign in with a credential hash, exactly
// as its own _design/users views (creds_by_md5, creds_by_sha) test it: doc is a user
// (pvt_type "user"), not pvt_deleted and enabled (both with JavaScript's truthiness, so a
// user without an enabled field cannot sign in, as in Kazoo), and its field (a
// ValidCredentialField) is the string hash (byte for byte, never empty). The embedded store
// applies it to every document; the CouchDB store applies it again to the rows of its own
// views (couchviews' _design/recordingsd_auth, which mirror it), so both answer exactly the
// same.
func HasCredentials(doc Doc, field, hash string) bool {
	if hash == "" {
		return false
	}
	if !ValidCredentialField(field) {
		return false
	}
	if t, _ := doc["pvt_type"].(string); t != "user" {
		return false
	}
	if truthy(doc["pvt_deleted"]) {
		return false
	}
	if !truthy(doc["enabled"]) {
		return false
	}
	h, _ := doc[field].(string)
	return h == hash
}

// truthy is JavaScript's truthiness of a JSON value: false, null, 0 and "" are false;
// everything else, empty objects and arrays included, is true.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case json.Number:
		f, _ := x.Float64() // out of range: ±Inf, true as in JavaScript
		return f != 0 && !math.IsNaN(f)
	case float64:
		return x != 0 && !math.IsNaN(x)
	case float32:
		return x != 0 && !math.IsNaN(float64(x))
	case int:
		return x != 0
	case int64:
		return x != 0
	case int32:
		return x != 0
	case uint:
		return x != 0
	case uint64:
		return x != 0
	case uint32:
		return x != 0
	}
	return true
}
