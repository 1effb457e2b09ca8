package couch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	kivik "github.com/go-kivik/kivik/v4"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Get loads one document from the month database its id names.
func (s *Store) Get(ctx context.Context, accountID, id string) (recording.Doc, error) {
	dbName, err := recording.RecordingDatabase(accountID, id)
	if err != nil {
		return nil, err
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	doc, err := s.readDoc(ctx, dbName, id)
	if err != nil {
		return nil, couchError(err, "recording "+id, dbName)
	}
	return doc, nil
}

// GetMany loads documents of one month database with a single _all_docs request.
func (s *Store) GetMany(ctx context.Context, accountID string, m recording.Month, ids []string) ([]recording.DocResult, error) {
	dbName, err := recording.MonthDatabase(accountID, m)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return []recording.DocResult{}, nil
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()

	found := make(map[string]recording.Doc, len(ids))
	rs := s.client.DB(dbName).AllDocs(ctx, kivik.Params(map[string]any{
		"keys":         ids,
		"include_docs": true,
	}))
	defer rs.Close()
	for rs.Next() {
		var id string
		if err := rs.ScanKey(&id); err != nil {
			return nil, couchError(err, "recordings", dbName)
		}
		// Missing ids come back as {"key":…,"error":"not_found"} without a doc, deleted
		// ones with "doc":null: both are simply not found.
		var raw json.RawMessage
		if err := rs.ScanDoc(&raw); err != nil || isNull(raw) {
			continue
		}
		doc, err := recording.DecodeDoc(raw)
		if err != nil {
			return nil, couchError(fmt.Errorf("decode %s: %w", id, err), "recordings", dbName)
		}
		found[id] = doc
	}
	err = rs.Err()
	if err != nil && !isStatus(err, http.StatusNotFound) {
		return nil, couchError(err, "recordings", dbName)
	}
	// A missing database (404) leaves found empty: every id is then not found.

	results := make([]recording.DocResult, len(ids))
	for i, id := range ids {
		results[i].ID = id
		if doc, ok := found[id]; ok {
			// Each result gets its own copy: ids may repeat and callers may modify docs.
			results[i].Doc = doc.Clone()
		} else {
			results[i].Err = recording.Errorf(recording.ENotFound, "recording %s not found", id)
		}
	}
	return results, nil
}

// Save writes doc into the month database its _id names, replacing revision _rev.
func (s *Store) Save(ctx context.Context, accountID string, doc recording.Doc) (string, error) {
	id := doc.ID()
	if _, ok := recording.ParseRecordingID(id); !ok {
		return "", recording.Errorf(recording.EInvalid, "cannot save a recording with id %q", id)
	}
	dbName, err := recording.RecordingDatabase(accountID, id)
	if err != nil {
		return "", err
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	rev, err := s.putDoc(ctx, dbName, id, doc, "recording "+id)
	if err != nil {
		return "", couchError(err, "recording "+id, dbName)
	}
	return rev, nil
}

// SaveMany writes documents of one month database with a single _bulk_docs request.
// Documents without an _id are refused one by one (CouchDB would invent one);
// a missing database fails every document with ENotFound.
func (s *Store) SaveMany(ctx context.Context, accountID string, m recording.Month, docs []recording.Doc) ([]recording.DocResult, error) {
	dbName, err := recording.MonthDatabase(accountID, m)
	if err != nil {
		return nil, err
	}
	results := make([]recording.DocResult, len(docs))
	var send []any
	var sendIDs []string
	var sendIdx []int
	for i, doc := range docs {
		results[i].ID = doc.ID()
		if doc.ID() == "" {
			results[i].Err = recording.Errorf(recording.EInvalid, "cannot save a document without _id")
			continue
		}
		send = append(send, doc)
		sendIDs = append(sendIDs, doc.ID())
		sendIdx = append(sendIdx, i)
	}
	if len(send) == 0 {
		return results, nil
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	written, err := s.bulkDocs(ctx, dbName, sendIDs, send)
	if err != nil {
		return nil, err
	}
	for k, w := range written {
		results[sendIdx[k]] = w
	}
	return results, nil
}

// bulkDocs writes docs (ids[i] is the _id of docs[i]) with a single _bulk_docs request. The
// results follow docs, each with its new revision or its own error (EConflict when its _rev
// is stale); a missing database fails every document with ENotFound. A 202 (a cluster whose
// write quorum some edits missed) settles each written document (settleAccepted).
func (s *Store) bulkDocs(ctx context.Context, dbName string, ids []string, docs []any) ([]recording.DocResult, error) {
	results, err := s.postBulkDocs(ctx, dbName, ids, docs, recordingWhat)
	if isStatus(err, http.StatusNotFound) {
		results = make([]recording.DocResult, len(docs))
		for i, id := range ids {
			results[i] = recording.DocResult{ID: id, Err: couchError(err, recordingWhat(id), dbName)}
		}
		return results, nil
	}
	return results, err
}

func recordingWhat(id string) string { return "recording " + id }

// postBulkDocs is bulkDocs with the documents named by what (for error messages), and a
// missing database returned as the bare 404 error rather than a result per document.
func (s *Store) postBulkDocs(ctx context.Context, dbName string, ids []string, docs []any, what func(id string) string) ([]recording.DocResult, error) {
	defer s.ranges.forget(dbName) // after the write: a range read meanwhile may predate it
	results := make([]recording.DocResult, len(docs))
	for i, id := range ids {
		results[i].ID = id
	}
	body, err := json.Marshal(map[string]any{"docs": docs})
	if err != nil {
		return nil, recording.Errorf(recording.EInvalid, "documents of %s: cannot encode: %v", dbName, err)
	}
	resp, err := s.doOK(ctx, http.MethodPost, []string{dbName, "_bulk_docs"}, s.writeQuery(nil),
		http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}, bytes.NewReader(body))
	if err != nil {
		if isStatus(err, http.StatusNotFound) {
			return nil, err
		}
		return nil, couchError(err, "documents", dbName)
	}
	defer drainClose(resp.Body)
	var written []struct {
		Rev    string `json:"rev"`
		Error  string `json:"error"`
		Reason string `json:"reason"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&written); err != nil {
		return nil, couchError(fmt.Errorf("decode _bulk_docs answer: %w", err), "documents", dbName)
	}
	if len(written) != len(docs) {
		return nil, couchError(fmt.Errorf("_bulk_docs answered %d results for %d docs", len(written), len(docs)), "documents", dbName)
	}
	for i, w := range written {
		what := what(ids[i])
		switch {
		case w.Error != "":
			results[i].Err = couchError(&statusError{Status: bulkErrorStatus(w.Error), Kind: w.Error, Reason: w.Reason}, what, dbName)
		case resp.StatusCode == http.StatusAccepted:
			results[i].Rev, results[i].Err = s.settleAccepted(ctx, dbName, ids[i], w.Rev, isDeletion(docs[i]), what)
		default:
			results[i].Rev = w.Rev
		}
	}
	return results, nil
}

// bulkErrorStatus is the HTTP status CouchDB gives a _bulk_docs error kind.
func bulkErrorStatus(kind string) int {
	switch kind {
	case "conflict":
		return http.StatusConflict
	case "not_found":
		return http.StatusNotFound
	case "forbidden":
		return http.StatusForbidden
	case "unauthorized":
		return http.StatusUnauthorized
	default:
		return http.StatusBadRequest
	}
}

func isDeletion(doc any) bool {
	switch d := doc.(type) {
	case recording.Doc:
		return d["_deleted"] == true
	case map[string]any:
		return d["_deleted"] == true
	}
	return false
}

// Delete removes a document (and its inline attachments) at revision rev.
func (s *Store) Delete(ctx context.Context, accountID, id, rev string) error {
	dbName, err := recording.RecordingDatabase(accountID, id)
	if err != nil {
		return err
	}
	if rev == "" {
		return recording.Errorf(recording.EConflict, "recording %s: document update conflict (no revision given)", id)
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	// The rev kivik returns comes from the ETag, which pouchdb-server fills with a
	// hash of its own; the contract needs none, so it is dropped.
	err = s.deleteDoc(ctx, dbName, id, rev, "recording "+id)
	if isStatus(err, http.StatusConflict) {
		// Servers differ on deleting a missing or already deleted document with some
		// rev (404 or 409); the contract says not found, so ask.
		if _, getErr := s.readDoc(ctx, dbName, id); isStatus(getErr, http.StatusNotFound) {
			err = getErr
		}
	}
	if err != nil {
		return couchError(err, "recording "+id, dbName)
	}
	return nil
}

// PutRecording creates the recording's month database (with our design document) when
// needed and writes the document over whatever is there.
func (s *Store) PutRecording(ctx context.Context, accountID string, doc recording.Doc) (string, error) {
	id := doc.ID()
	if _, ok := recording.ParseRecordingID(id); !ok {
		return "", recording.Errorf(recording.EInvalid, "cannot store a recording with id %q", id)
	}
	dbName, err := recording.RecordingDatabase(accountID, id)
	if err != nil {
		return "", err
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	if err := s.ensureMonthDB(ctx, dbName); err != nil {
		return "", err
	}
	return s.upsert(ctx, dbName, doc, "recording "+id)
}

// readDoc GETs one document, keeping its numbers exact.
func (s *Store) readDoc(ctx context.Context, dbName, id string) (recording.Doc, error) {
	var raw json.RawMessage
	if err := s.client.DB(dbName).Get(ctx, id).ScanDoc(&raw); err != nil {
		return nil, err
	}
	doc, err := recording.DecodeDoc(raw)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", id, err)
	}
	return doc, nil
}

// upsert writes doc over the current revision, whatever it is: the Loader's "replace".
// A writer sneaking in between read and write costs a retry.
func (s *Store) upsert(ctx context.Context, dbName string, doc recording.Doc, what string) (string, error) {
	id := doc.ID()
	if id == "" {
		return "", recording.Errorf(recording.EInvalid, "%s has no _id", what)
	}
	const attempts = 5
	var err error
	for range attempts {
		var current recording.Doc
		current, err = s.readDoc(ctx, dbName, id)
		if err != nil && !isStatus(err, http.StatusNotFound) {
			return "", couchError(err, what, dbName)
		}
		write := doc.Clone()
		delete(write, "_rev")
		if current != nil {
			write["_rev"] = current.Rev()
		}
		var rev string
		rev, err = s.putDoc(ctx, dbName, id, write, what)
		if err == nil {
			return rev, nil
		}
		if !isStatus(err, http.StatusConflict) {
			break
		}
	}
	return "", couchError(err, what, dbName)
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}
