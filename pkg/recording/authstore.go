package recording

import (
	"context"
	"strings"
)

// Databases Kazoo keeps its authentication data in.
const (
	SystemAuthDB   = "system_auth"   // signing keys: doc id = JWT kid, attachment private_key.pem
	SystemConfigDB = "system_config" // doc "auth": default.secret_for_user_signature, default.system_key
)

// ValidSystemDB reports whether db can name a system database such as system_auth: a
// CouchDB database name without '/', so it never names an account or month database (nor
// anything starting with '_', such as a store's own bookkeeping), nor a name a server that
// strips slashes (pouchdb-server) would list like a month database.
func ValidSystemDB(db string) bool {
	if db == "" || db[0] < 'a' || db[0] > 'z' {
		return false
	}
	if _, ok := ParseMonthDB(db); ok {
		return false
	}
	for i := 1; i < len(db); i++ {
		switch c := db[i]; {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', strings.IndexByte("_$()+-", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// ReadableDocID reports whether id can name a document the auth lookups read and write:
// CouchDB's own ids (_design/…, _local/…) and endpoints (_all_docs, …) never do.
func ReadableDocID(id string) bool {
	return id != "" && !strings.HasPrefix(id, "_")
}

// AuthStore reads what verifying Kazoo's tokens and Basic credentials needs. Every backend
// implements it next to Store, with the same behaviour (checked by the contract suite). Any
// method may return EUnavailable.
type AuthStore interface {
	// SystemDoc loads a document of a system database (SystemAuthDB, SystemConfigDB).
	// ENotFound when the database or the document does not exist (or is deleted).
	SystemDoc(ctx context.Context, db, id string) (Doc, error)

	// SystemAttachment reads a system document's attachment whole (keys are a few KB).
	// ENotFound when the document or attachment is missing; EInvalid when it exceeds max bytes.
	SystemAttachment(ctx context.Context, db, id, name string, max int64) ([]byte, error)

	// AccountDoc loads any document of the account database: the account itself, a user, a
	// device. ENotFound when missing; a pvt_deleted document is returned as stored.
	AccountDoc(ctx context.Context, accountID, id string) (Doc, error)

	// UsersByCredentials returns the users of the account whose field ("pvt_md5_auth" or
	// "pvt_sha1_auth") equals hash, skipping documents that are not pvt_type "user", are
	// pvt_deleted, or are not enabled (enabled absent, false, null, 0 or "") — Kazoo's
	// creds_by_md5 / creds_by_sha rule, JavaScript truthiness included.
	// A missing account database gives no users.
	UsersByCredentials(ctx context.Context, accountID, field, hash string) ([]Doc, error)
}

// AuthLoader writes authentication data the way Kazoo lays it out; the token command and
// the tests use it.
type AuthLoader interface {
	// PutSystemDoc creates the system database if needed and writes the document (upsert).
	// Returns the new revision.
	PutSystemDoc(ctx context.Context, db string, doc Doc) (string, error)

	// PutSystemAttachment stores an attachment on a system document at revision rev and
	// returns the new revision. EConflict when rev is stale.
	PutSystemAttachment(ctx context.Context, db, id, rev, name, contentType string, body []byte) (string, error)

	// PutAccountDoc writes any document into the account database (upsert), e.g. a device.
	PutAccountDoc(ctx context.Context, accountID string, doc Doc) error
}
