package couch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// A CouchDB cluster answers an edit 202 Accepted when fewer copies than the write quorum took
// it. That happens when the edit's revision is stale (or missing) but reached a copy that had
// not yet seen the current one: that copy grows a conflicting branch, which may even win.
// Every edit of ours that gets a 202 is therefore settled: kept when it made no conflict,
// otherwise withdrawn and answered as the conflict it was, so a stale revision never hides
// another writer's edit.

// putDoc writes one document (PUT /db/id) and settles a 202.
func (s *Store) putDoc(ctx context.Context, dbName, id string, doc any, what string) (string, error) {
	defer s.ranges.forget(dbName) // after the write: a range read meanwhile may predate it
	body, err := json.Marshal(doc)
	if err != nil {
		return "", recording.Errorf(recording.EInvalid, "%s: cannot encode: %v", what, err)
	}
	resp, err := s.doOK(ctx, http.MethodPut, []string{dbName, id}, s.writeQuery(nil),
		http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	defer drainClose(resp.Body)
	return s.editResult(ctx, resp, dbName, id, false, what)
}

// deleteDoc deletes one document (DELETE /db/id?rev=) and settles a 202.
func (s *Store) deleteDoc(ctx context.Context, dbName, id, rev, what string) error {
	resp, err := s.doOK(ctx, http.MethodDelete, []string{dbName, id}, s.writeQuery(url.Values{"rev": {rev}}),
		http.Header{"Accept": {"application/json"}}, nil)
	if err != nil {
		return err
	}
	defer drainClose(resp.Body)
	_, err = s.editResult(ctx, resp, dbName, id, true, what)
	return err
}

// editResult reads the new revision from an edit's 2xx answer, settling a 202.
func (s *Store) editResult(ctx context.Context, resp *http.Response, dbName, id string, deletion bool, what string) (string, error) {
	var result struct {
		Rev string `json:"rev"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&result); err != nil || result.Rev == "" {
		return "", fmt.Errorf("decode answer: %v (rev %q)", err, result.Rev)
	}
	if resp.StatusCode == http.StatusAccepted {
		return s.settleAccepted(ctx, dbName, id, result.Rev, deletion, what)
	}
	return result.Rev, nil
}

// writeQuery adds the configured write quorum to a write's query.
func (s *Store) writeQuery(q url.Values) url.Values {
	if s.cfg.WriteQuorum <= 0 {
		return q
	}
	if q == nil {
		q = url.Values{}
	}
	q.Set("w", strconv.Itoa(s.cfg.WriteQuorum))
	return q
}

// settleAccepted checks the edit that made newRev of id after a 202. A deletion stands when
// the document reads as deleted; any other edit when it is the winner with no conflicts.
// An edit that did not stand is withdrawn (its branch deleted) and answered EConflict.
func (s *Store) settleAccepted(ctx context.Context, dbName, id, newRev string, deletion bool, what string) (string, error) {
	// Every copy is asked (r=3: all of CouchDB's default three), so that the lagging one's branch
	// shows up as a conflict; a copy on a stopped node fails at once and is left out.
	resp, err := s.do(ctx, http.MethodGet, []string{dbName, id}, url.Values{"conflicts": {"true"}, "r": {"3"}},
		http.Header{"Accept": {"application/json"}}, nil)
	if err != nil {
		return "", couchError(err, what, dbName)
	}
	defer drainClose(resp.Body)
	if deletion && resp.StatusCode == http.StatusNotFound {
		return newRev, nil
	}
	if err := statusErr(resp); err != nil {
		return "", couchError(err, what, dbName)
	}
	var doc struct {
		Rev       string   `json:"_rev"`
		Conflicts []string `json:"_conflicts"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return "", couchError(fmt.Errorf("decode %s: %w", id, err), what, dbName)
	}
	if !deletion && len(doc.Conflicts) == 0 && doc.Rev == newRev {
		return newRev, nil
	}
	if !deletion { // a losing tombstone changes nothing; a live branch must go
		del, err := s.doOK(ctx, http.MethodDelete, []string{dbName, id}, url.Values{"rev": {newRev}},
			http.Header{"Accept": {"application/json"}}, nil)
		if err == nil {
			drainClose(del.Body)
		}
		if err != nil {
			s.logger.Warn("could not withdraw a conflicting edit a lagging copy accepted",
				zap.String("db", dbName), zap.String("doc_id", id), zap.String("rev", newRev), zap.Error(err))
			return "", couchError(fmt.Errorf("withdraw conflicting revision %s: %w", newRev, err), what, dbName)
		}
		s.logger.Info("withdrew an edit that only a lagging copy accepted",
			zap.String("db", dbName), zap.String("doc_id", id), zap.String("rev", newRev))
	}
	return "", recording.Errorf(recording.EConflict, "%s: document update conflict", what)
}
