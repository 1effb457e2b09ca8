package recording

import "context"

// AccountDocs keeps the service's own documents in an account's database, next to Kazoo's
// (recording webhooks), so they live and move with the account. Every id the service writes
// there starts with a prefix of its own, so they list by id range without a view.
// They are read one at a time with AuthStore.AccountDoc. An id starting with "_" is EInvalid.
type AccountDocs interface {
	// SaveAccountDoc writes doc over the revision its _rev names (none: only when there is
	// no live document) and returns the new revision; "_deleted": true at the current
	// revision removes it. EConflict for a stale or missing _rev; ENotFound when the account
	// database does not exist (it is never created here: that is Kazoo's).
	SaveAccountDoc(ctx context.Context, accountID string, doc Doc) (string, error)

	// AccountDocsWithPrefix lists up to limit live documents of the account database whose
	// ids start with prefix (non-empty), in id order, starting after the id after ("" from
	// the first). A missing account database lists none.
	AccountDocsWithPrefix(ctx context.Context, accountID, prefix, after string, limit int) ([]Doc, error)
}
