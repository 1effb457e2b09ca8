package embedded

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// specialFields are the underscore members CouchDB accepts in a document it is given;
// any other is refused ("bad special document member"). Only _id, _rev, _attachments and
// _deleted are stored.
var specialFields = map[string]bool{
	"_id": true, "_rev": true, "_attachments": true, "_deleted": true, "_revisions": true,
	"_revs_info": true, "_conflicts": true, "_deleted_conflicts": true, "_local_seq": true,
}

// upload is an attachment whose bytes are already in the chunks bucket, waiting for the
// revision that names it.
type upload struct {
	contentType string
	digest      string
	ref         blobRef
}

// writeDoc stores doc as id's revision after cur (nil: none yet), without checking doc's
// _rev: callers apply checkRev first, or overwrite on purpose. It keeps the listing
// indexes, the attachments and, in a month database, the change log in step, and returns
// the new revision. Every write of a document goes through here.
//
// Everything that can be wrong with doc is found before anything is written and reported
// as a *recording.Error; any other error comes from storage and must abort the transaction.
func writeDoc(db *database, id string, cur *storedDoc, doc recording.Doc, uploads map[string]upload, what string) (string, error) {
	gen, parent := int64(1), ""
	if cur != nil {
		gen, parent = cur.gen+1, cur.rev()
	}
	deleted := doc["_deleted"] == true
	body := recording.Doc{"_id": id}
	for k, v := range doc {
		switch {
		case !strings.HasPrefix(k, "_"):
			body[k] = v // a deletion keeps what it says (a tombstone's own fields)
		case !specialFields[k]:
			return "", invalid("%s: bad special document member %s", what, k)
		}
	}
	var plan attachmentPlan
	if deleted {
		body["_deleted"] = true
	} else {
		var err error
		if plan, err = planAttachments(db, id, cur, doc["_attachments"], uploads, gen, what); err != nil {
			return "", err
		}
		if len(plan.stubs) > 0 {
			body["_attachments"] = plan.stubs
		}
	}
	unrevised, err := encodeJSON(body)
	if err != nil {
		return "", invalid("%s cannot be stored as JSON: %v", what, err)
	}
	rev := newRev(gen, parent, unrevised)
	body["_rev"] = rev
	stored, err := encodeJSON(body)
	if err != nil {
		return "", invalid("%s cannot be stored as JSON: %v", what, err)
	}
	// The indexes read the document as stored, as a view's map function does.
	var before, after recording.Doc
	if cur.live() {
		before = cur.doc
	}
	if !deleted {
		if after, err = recording.DecodeDoc(stored); err != nil {
			return "", fmt.Errorf("decode %s: %w", id, err)
		}
	}

	if err := plan.apply(db, id, cur); err != nil {
		return "", fmt.Errorf("attachments of %s: %w", id, err)
	}
	if err := updateIndexes(db.indexes, before, after); err != nil {
		return "", fmt.Errorf("listing indexes of %s: %w", id, err)
	}
	if err := db.docs.Put([]byte(id), stored); err != nil {
		return "", fmt.Errorf("write %s: %w", id, err)
	}
	if db.changes != nil {
		if err := appendChange(db.changes, changeEntry{db: db.name, id: id, rev: rev, removed: deleted, at: time.Now()}); err != nil {
			return "", fmt.Errorf("change log entry of %s: %w", id, err)
		}
	}
	return rev, nil
}

// attachmentPlan is what a new revision does to the attachments: the stubs it carries,
// the blobs it keeps or brings, the bytes it brought inline.
type attachmentPlan struct {
	stubs  map[string]any
	refs   map[string]blobRef // kept and uploaded attachments
	inline map[string][]byte  // attachments sent as base64 "data", not stored yet
}

// planAttachments reads the _attachments a caller sent, as CouchDB does: a stub keeps the
// stored attachment of that name (it must exist), "data" brings new bytes, an attachment
// left out is deleted. uploads override what doc says for their names.
func planAttachments(db *database, id string, cur *storedDoc, raw any, uploads map[string]upload, gen int64, what string) (attachmentPlan, error) {
	p := attachmentPlan{stubs: map[string]any{}, refs: map[string]blobRef{}, inline: map[string][]byte{}}
	sent, ok := asObject(raw)
	if !ok && raw != nil {
		return p, invalid("%s: _attachments is not an object", what)
	}
	var stored map[string]any
	if cur.live() {
		stored, _ = asObject(cur.doc["_attachments"])
	}
	for name, v := range sent {
		if _, ok := uploads[name]; ok {
			continue
		}
		entry, ok := asObject(v)
		if !ok {
			return p, invalid("%s: attachment %s is not an object", what, name)
		}
		if entry["stub"] == true {
			ref, found, err := db.attachmentRef(id, name)
			if err != nil {
				return p, err
			}
			if _, ok := stored[name]; !ok || !found {
				return p, invalid("%s: a pre-existing attachment stub wasn't found: %s", what, name)
			}
			p.stubs[name], p.refs[name] = stored[name], ref
			continue
		}
		data, ok := entry["data"].(string)
		if !ok {
			return p, invalid("%s: attachment %s has neither data nor stub", what, name)
		}
		b, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			return p, invalid("%s: attachment %s: data is not base64: %v", what, name, err)
		}
		contentType, _ := entry["content_type"].(string)
		if contentType == "" {
			contentType = "application/octet-stream"
		}
		sum := md5.Sum(b)
		p.stubs[name] = attachmentStub(contentType, int64(len(b)), md5Digest(sum[:]), gen)
		p.inline[name] = b
	}
	for name, up := range uploads {
		p.stubs[name] = attachmentStub(up.contentType, up.ref.length, up.digest, gen)
		p.refs[name] = up.ref
	}
	return p, nil
}

// apply drops the blobs of attachments the new revision no longer names (or replaces),
// stores the inline ones and records every reference.
func (p attachmentPlan) apply(db *database, id string, cur *storedDoc) error {
	if cur.live() {
		stored, _ := asObject(cur.doc["_attachments"])
		for name := range stored {
			ref, found, err := db.attachmentRef(id, name)
			if err != nil {
				return err
			}
			if kept, ok := p.refs[name]; !found || ok && kept == ref {
				continue
			}
			if err := deleteBlob(db.chunks, ref); err != nil {
				return err
			}
			if err := db.attachments.Delete(attachmentKey(id, name)); err != nil {
				return err
			}
		}
	}
	for name, data := range p.inline {
		blob, err := db.chunks.NextSequence()
		if err != nil {
			return err
		}
		if err := putChunks(db.chunks, blob, 0, data); err != nil {
			return err
		}
		p.refs[name] = blobRef{blob: blob, length: int64(len(data))}
	}
	for name, ref := range p.refs {
		if err := db.attachments.Put(attachmentKey(id, name), ref.encode()); err != nil {
			return err
		}
	}
	return nil
}

// attachmentStub is the _attachments entry CouchDB shows for an attachment.
func attachmentStub(contentType string, length int64, digest string, revpos int64) map[string]any {
	return map[string]any{
		"content_type": contentType,
		"length":       json.Number(fmt.Sprint(length)),
		"digest":       digest,
		"revpos":       json.Number(fmt.Sprint(revpos)),
		"stub":         true,
	}
}

// md5Digest is CouchDB's digest of an attachment: md5-<base64 of the md5>.
func md5Digest(sum []byte) string {
	return "md5-" + base64.StdEncoding.EncodeToString(sum)
}

// attachmentRef looks up where the bytes of id's attachment name are.
func (db *database) attachmentRef(id, name string) (blobRef, bool, error) {
	v := db.attachments.Get(attachmentKey(id, name))
	if v == nil {
		return blobRef{}, false, nil
	}
	ref, err := decodeBlobRef(v)
	if err != nil {
		return blobRef{}, false, fmt.Errorf("attachment %s of %s: %w", name, id, err)
	}
	return ref, true, nil
}

// encodeJSON is json.Marshal without the HTML escaping: the file holds text as sent, as
// CouchDB does.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// asObject accepts a JSON object however the caller built it.
func asObject(v any) (map[string]any, bool) {
	switch o := v.(type) {
	case map[string]any:
		return o, true
	case recording.Doc:
		return o, true
	}
	return nil, false
}

// writeEach writes, within one transaction, every document whose result is not refused yet,
// as _bulk_docs does: a document's own problem (a *recording.Error: a conflict, a bad id)
// becomes its result and nothing of it is written; any other error aborts the transaction.
func writeEach(results []recording.DocResult, write func(i int) (rev string, err error)) error {
	for i := range results {
		if results[i].Err != nil {
			continue
		}
		rev, err := write(i)
		var coded *recording.Error
		if errors.As(err, &coded) {
			results[i].Err = err
			continue
		}
		if err != nil {
			return err
		}
		results[i].Rev = rev
	}
	return nil
}
