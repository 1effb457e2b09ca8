package couch

import (
	"context"
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

var _ recording.AccountDocs = (*Store)(nil)

// SaveAccountDoc writes one document with _bulk_docs, which CouchDB answers 404 when the
// account database is missing (it never creates it) and which judges the revision as a PUT
// does. _bulk_docs rather than PUT: a cluster's 202 on a removal is settled as a removal.
func (s *Store) SaveAccountDoc(ctx context.Context, accountID string, doc recording.Doc) (string, error) {
	id := doc.ID()
	what := fmt.Sprintf("document %s of account %s", id, accountID)
	if !recording.ReadableDocID(id) {
		return "", recording.Errorf(recording.EInvalid, "%s: cannot write a document with _id %q", what, id)
	}
	dbName, err := recording.AccountDatabase(accountID)
	if err != nil {
		return "", err
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	written, err := s.postBulkDocs(ctx, dbName, []string{id}, []any{withoutEmptyRev(doc)},
		func(string) string { return what })
	if err != nil {
		return "", couchError(err, "account "+accountID, dbName)
	}
	return written[0].Rev, written[0].Err
}

// AccountDocsWithPrefix lists the ids from prefix up to prefixEnd(prefix) (liveDocsRange).
// A prefix that is empty, starts with "_" (CouchDB's own ids) or is not UTF-8 (no id is) is
// EInvalid; an account id that is none names no database, so lists none.
func (s *Store) AccountDocsWithPrefix(ctx context.Context, accountID, prefix, after string, limit int) ([]recording.Doc, error) {
	if !recording.ReadableDocID(prefix) || !utf8.ValidString(prefix) {
		return nil, recording.Errorf(recording.EInvalid, "%q is no prefix of document ids of ours", prefix)
	}
	if limit <= 0 {
		return nil, recording.Errorf(recording.EInvalid, "limit must be positive, got %d", limit)
	}
	if !recording.ValidAccountID(accountID) {
		return []recording.Doc{}, nil
	}
	return s.liveDocsRange(ctx, recording.AccountDBName(accountID), prefix, after, prefixEnd(prefix), limit)
}

// prefixEnd is the least string above every string starting with prefix, in byte order as
// in code point order: prefix with its last character that is not the greatest one
// incremented, what follows it dropped; "" (no bound) when every character is the greatest.
func prefixEnd(prefix string) string {
	for prefix != "" {
		r, size := utf8.DecodeLastRuneInString(prefix)
		prefix = prefix[:len(prefix)-size]
		switch {
		case r == unicode.MaxRune:
			continue
		case r == 0xD7FF: // the surrogates are no characters
			r = 0xE000
		default:
			r++
		}
		return prefix + string(r)
	}
	return ""
}
