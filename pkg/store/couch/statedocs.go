package couch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

var _ recording.StateDocs = (*Store)(nil)

// GetSystemDocs loads documents of a system database with one POST _all_docs (keys,
// include_docs). A missing, deleted or unreadable id, or a missing database, is ENotFound for
// that id; the results follow ids, repeats included, each with its own copy of the document.
func (s *Store) GetSystemDocs(ctx context.Context, db string, ids []string) ([]recording.DocResult, error) {
	results := make([]recording.DocResult, len(ids))
	var ask []string
	asked := map[string]bool{}
	for i, id := range ids {
		results[i].ID = id
		if recording.ValidSystemDB(db) && recording.ReadableDocID(id) && !asked[id] {
			asked[id] = true
			ask = append(ask, id)
		}
	}
	found := map[string]recording.Doc{}
	if len(ask) > 0 {
		ctx, cancel := s.bounded(ctx)
		defer cancel()
		var err error
		found, err = s.allDocsByKeys(ctx, db, ask)
		if err != nil && !isStatus(err, http.StatusNotFound) { // 404: no database, nothing found
			return nil, couchError(err, "documents", db)
		}
	}
	for i, id := range ids {
		if doc, ok := found[id]; ok {
			results[i].Doc = doc.Clone()
		} else {
			results[i].Err = recording.Errorf(recording.ENotFound, "%s not found", systemWhat(db, id))
		}
	}
	return results, nil
}

// allDocsByKeys reads the live documents among ids (POST _all_docs, include_docs). Missing
// ids come back as {"key":…,"error":"not_found"}, deleted ones with "doc":null: neither is
// in the map. A missing database is the 404 error.
func (s *Store) allDocsByKeys(ctx context.Context, db string, ids []string) (map[string]recording.Doc, error) {
	body, err := json.Marshal(map[string]any{"keys": ids})
	if err != nil {
		return nil, err
	}
	resp, err := s.doOK(ctx, http.MethodPost, []string{db, "_all_docs"}, url.Values{"include_docs": {"true"}},
		http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer drainClose(resp.Body)
	rows, err := decodeAllDocs(resp)
	if err != nil {
		return nil, err
	}
	found := make(map[string]recording.Doc, len(rows))
	for _, r := range rows {
		if r.doc != nil {
			found[r.id] = r.doc
		}
	}
	return found, nil
}

// allDocsRow is a row of _all_docs with include_docs: doc is nil for a missing or deleted id.
type allDocsRow struct {
	id  string
	doc recording.Doc
}

func decodeAllDocs(resp *http.Response) ([]allDocsRow, error) {
	var answer struct {
		Rows []struct {
			ID  string          `json:"id"`
			Key json.RawMessage `json:"key"`
			Doc json.RawMessage `json:"doc"`
		} `json:"rows"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return nil, fmt.Errorf("decode _all_docs answer: %w", err)
	}
	rows := make([]allDocsRow, 0, len(answer.Rows))
	for _, r := range answer.Rows {
		row := allDocsRow{id: r.ID}
		if row.id == "" { // a missing key has no id: the key names it
			_ = json.Unmarshal(r.Key, &row.id)
		}
		if !isNull(r.Doc) {
			doc, err := recording.DecodeDoc(r.Doc)
			if err != nil {
				return nil, fmt.Errorf("decode %s: %w", row.id, err)
			}
			row.doc = doc
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// SaveSystemDocs writes documents of a system database with one _bulk_docs request, each
// only over the revision its _rev names (an empty _rev is none), and creates the database
// when it is missing. Each result is its own: EConflict for a stale or missing revision,
// EInvalid for an id that is empty or starts with "_". A 202 from a cluster is settled per
// document, as for every write of ours (postBulkDocs).
func (s *Store) SaveSystemDocs(ctx context.Context, db string, docs []recording.Doc) ([]recording.DocResult, error) {
	if !recording.ValidSystemDB(db) {
		return nil, recording.Errorf(recording.EInvalid, "%q is not a system database name", db)
	}
	results := make([]recording.DocResult, len(docs))
	var send []any
	var sendIDs []string
	var sendIdx []int
	for i, doc := range docs {
		id := doc.ID()
		results[i].ID = id
		if err := checkSystemWrite(db, id, systemWhat(db, id)); err != nil {
			results[i].Err = err
			continue
		}
		send = append(send, withoutEmptyRev(doc))
		sendIDs = append(sendIDs, id)
		sendIdx = append(sendIdx, i)
	}
	if len(send) == 0 {
		return results, nil
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	what := func(id string) string { return systemWhat(db, id) }
	written, err := s.postBulkDocs(ctx, db, sendIDs, send, what)
	if isStatus(err, http.StatusNotFound) {
		// _bulk_docs is 404 only when the database is missing: create it, once.
		if err := s.createDB(ctx, db); err != nil {
			return nil, err
		}
		written, err = s.postBulkDocs(ctx, db, sendIDs, send, what)
	}
	if err != nil {
		return nil, couchError(err, "documents", db)
	}
	for k, w := range written {
		results[sendIdx[k]] = w
	}
	return results, nil
}

// SystemDocRange lists live documents whose ids sort strictly between after and before (""
// leaves an end open), design documents left out (liveDocsRange). A missing database, or a
// name that is no system database's, lists none.
func (s *Store) SystemDocRange(ctx context.Context, db, after, before string, limit int) ([]recording.Doc, error) {
	if limit <= 0 {
		return nil, recording.Errorf(recording.EInvalid, "limit must be positive, got %d", limit)
	}
	if !recording.ValidSystemDB(db) {
		return []recording.Doc{}, nil
	}
	return s.liveDocsRange(ctx, db, "", after, before, limit)
}

// liveDocsRange lists up to limit live documents whose ids sort from from on (inclusive),
// strictly after after and strictly before before ("" leaves a bound out), with _all_docs,
// whose ids CouchDB orders bytewise: startkey the greater of from and after (an exact match
// of after skipped), endkey=before with inclusive_end=false, include_docs. Ids starting with
// "_" (design documents) are left out, and the next page is asked for when they made a page
// short. A missing database lists none.
func (s *Store) liveDocsRange(ctx context.Context, db, from, after, before string, limit int) ([]recording.Doc, error) {
	docs := []recording.Doc{}
	if before != "" && max(from, after) >= before {
		return docs, nil
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	for len(docs) < limit {
		want := limit - len(docs) + 1 // one more: after itself may come first
		rows, err := s.allDocsRange(ctx, db, max(from, after), before, want)
		if isStatus(err, http.StatusNotFound) {
			return docs, nil // no database
		}
		if err != nil {
			return nil, couchError(err, "documents", db)
		}
		last := after
		for _, r := range rows {
			if r.id <= after && after != "" { // startkey is inclusive; only ids after it count
				continue
			}
			last = r.id
			if r.doc == nil || strings.HasPrefix(r.id, "_") || len(docs) == limit {
				continue
			}
			docs = append(docs, r.doc)
		}
		if len(rows) < want || last == after {
			break
		}
		after = last
	}
	return docs, nil
}

// allDocsRange reads up to limit rows of _all_docs from startkey (inclusive; "" for the first
// id) to endkey (exclusive; "" for the last), with their documents.
func (s *Store) allDocsRange(ctx context.Context, db, startKey, endKey string, limit int) ([]allDocsRow, error) {
	q := url.Values{
		"include_docs":  {"true"},
		"inclusive_end": {"false"},
		"limit":         {strconv.Itoa(limit)},
	}
	if startKey != "" {
		q.Set("startkey", jsonString(startKey))
	}
	if endKey != "" {
		q.Set("endkey", jsonString(endKey))
	}
	resp, err := s.doOK(ctx, http.MethodGet, []string{db, "_all_docs"}, q, http.Header{"Accept": {"application/json"}}, nil)
	if err != nil {
		return nil, err
	}
	defer drainClose(resp.Body)
	return decodeAllDocs(resp)
}

// withoutEmptyRev drops an empty _rev, which means none: CouchDB would call it a bad revision.
func withoutEmptyRev(doc recording.Doc) recording.Doc {
	if rev, ok := doc["_rev"]; ok && (rev == nil || rev == "") {
		doc = doc.Clone()
		delete(doc, "_rev")
	}
	return doc
}
