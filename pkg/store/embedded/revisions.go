package embedded

import (
	"crypto/md5"
	"fmt"
	"strconv"
	"strings"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// storedDoc is what the docs bucket holds for an id: a live document or the tombstone a
// deletion leaves. Tombstones keep the revision history going as CouchDB's do: writing
// the id again yields generation N+2, and a revision from before the deletion stays stale.
type storedDoc struct {
	doc     recording.Doc
	gen     int64
	deleted bool
}

func (d *storedDoc) live() bool { return d != nil && !d.deleted }

func (d *storedDoc) rev() string { return d.doc.Rev() }

// loadDoc reads id from db; nil when the id was never written.
func loadDoc(db *database, id string) (*storedDoc, error) {
	raw := db.docs.Get([]byte(id))
	if raw == nil {
		return nil, nil
	}
	doc, err := recording.DecodeDoc(raw)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", id, err)
	}
	gen, ok := revGeneration(doc.Rev())
	if !ok {
		return nil, fmt.Errorf("document %s has revision %q", id, doc.Rev())
	}
	return &storedDoc{doc: doc, gen: gen, deleted: doc["_deleted"] == true}, nil
}

// loadLive reads id from db, or returns ENotFound for what when db, id or the live
// document is missing.
func loadLive(db *database, id, what string) (*storedDoc, error) {
	if db == nil {
		return nil, notFound(what)
	}
	cur, err := loadDoc(db, id)
	if err != nil {
		return nil, err
	}
	if !cur.live() {
		return nil, notFound(what)
	}
	return cur, nil
}

// revGeneration is N of a revision N-hash.
func revGeneration(rev string) (int64, bool) {
	n, hash, ok := strings.Cut(rev, "-")
	if !ok || hash == "" {
		return 0, false
	}
	gen, err := strconv.ParseInt(n, 10, 64)
	return gen, err == nil && gen > 0
}

// newRev is the revision after parent ("" for none) for a body: N-<md5 hex>. Like CouchDB's,
// the hash covers the parent revision as well as the body, so identical bodies at different
// points of the history get different revisions.
func newRev(gen int64, parent string, body []byte) string {
	h := md5.New()
	h.Write([]byte(parent))
	h.Write([]byte{0})
	h.Write(body)
	return fmt.Sprintf("%d-%x", gen, h.Sum(nil))
}

// givenRev reads the _rev a caller sent: absent, or a CouchDB revision (else EInvalid,
// as CouchDB answers "Invalid rev format").
func givenRev(v any, what string) (string, error) {
	if v == nil {
		return "", nil
	}
	rev, ok := v.(string)
	if !ok {
		return "", invalid("%s: invalid revision %v", what, v)
	}
	if rev == "" {
		return "", nil
	}
	if _, ok := revGeneration(rev); !ok {
		return "", invalid("%s: invalid revision %q", what, rev)
	}
	return rev, nil
}

// checkRev is CouchDB's rule for writing over cur at revision rev: a live document needs
// its current revision; a new or deleted one none (CouchDB 3 refuses a tombstone's revision).
func checkRev(cur *storedDoc, rev, what string) error {
	switch {
	case cur == nil && rev == "":
	case cur != nil && cur.deleted && rev == "":
	case cur.live() && rev == cur.rev():
	default:
		return conflict(what)
	}
	return nil
}
