package api

import (
	"net/http"
	"strconv"

	"github.com/recordingsd/recordingsd/pkg/authz"
	"github.com/recordingsd/recordingsd/pkg/crossbar"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// handlePatch serves PATCH /recordings/{id}: a JSON merge patch of the public fields, with
// soft_delete / soft_restore / legal_hold stamped; conflicts with concurrent writers are
// retried. Setting or releasing a legal hold is for administrators.
func (s *server) handlePatch() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := reqCtx(r)
		id, ok := recordingIDFromPath(r)
		if !ok {
			writeError(w, r, crossbar.BadIdentifier(id))
			return
		}
		data, _, apiErr := crossbar.DecodeRequest(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes+1), s.cfg.MaxBodyBytes)
		if apiErr != nil {
			writeError(w, r, apiErr)
			return
		}
		patch, err := recording.NewPatch(data, id)
		if err != nil {
			s.fail(w, r, err, id)
			return
		}
		if patch.TouchesHold() {
			if apiErr := s.mayManageHold(r); apiErr != nil {
				writeError(w, r, apiErr)
				return
			}
		}
		doc, err := s.service.Patch(r.Context(), rc.accountID, id, patch, s.callerOf(r, authz.Update))
		if err != nil {
			s.fail(w, r, err, id)
			return
		}
		writeData(w, r, crossbar.Envelope{Data: doc.Public(), Revision: doc.Rev()})
	})
}

// handlePatchCollection serves PATCH /recordings/collection: one patch for many ids, with one
// read and one write per month database; each id succeeds or fails on its own.
func (s *server) handlePatchCollection() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := reqCtx(r)
		data, _, apiErr := crossbar.DecodeRequest(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes+1), s.cfg.MaxBodyBytes)
		if apiErr != nil {
			writeError(w, r, apiErr)
			return
		}
		ids, apiErr := collectionIDs(data["recordings"], data)
		if apiErr != nil {
			writeError(w, r, apiErr)
			return
		}
		fields := make(map[string]any, len(data))
		for k, v := range data {
			if k != "recordings" {
				fields[k] = v
			}
		}
		patch, err := recording.NewPatch(fields, "")
		if err != nil {
			s.fail(w, r, err, "")
			return
		}
		if patch.TouchesHold() {
			if apiErr := s.mayManageHold(r); apiErr != nil {
				writeError(w, r, apiErr)
				return
			}
		}
		success, failure, err := s.service.PatchMany(r.Context(), rc.accountID, ids, patch, s.callerOf(r, authz.Update))
		if err != nil {
			s.fail(w, r, err, rc.accountID)
			return
		}
		out := map[string]any{}
		if len(success) > 0 {
			docs := make(map[string]any, len(success))
			for id, d := range success {
				docs[id] = d.Public()
			}
			out["success"] = docs
		}
		if len(failure) > 0 {
			fails := make(map[string]any, len(failure))
			for id, ferr := range failure {
				e := apiError(ferr, id)
				fails[id] = map[string]any{"cause": id, "code": e.Status, "message": e.Message}
			}
			out["failure"] = fails
		}
		writeData(w, r, crossbar.Envelope{Data: out})
	})
}

// collectionIDs validates data.recordings with Kazoo's messages.
func collectionIDs(v any, data map[string]any) ([]string, *crossbar.APIError) {
	if _, present := data["recordings"]; !present {
		return nil, crossbar.ValidationError("recordings", "required", "list of recordings missing", nil)
	}
	list, ok := v.([]any)
	if !ok {
		return nil, crossbar.ValidationError("recordings", "type", "recordings must be a list", nil)
	}
	if len(list) == 0 {
		return nil, crossbar.ValidationError("recordings", "minimum", "minimum 1 recording required", nil)
	}
	if len(list) > recording.MaxCollection {
		return nil, crossbar.ValidationError("recordings", "maximum",
			"maximum "+strconv.Itoa(recording.MaxCollection)+" recordings per request", nil)
	}
	ids := make([]string, 0, len(list))
	seen := make(map[string]bool, len(list))
	for _, item := range list {
		id, ok := item.(string)
		if !ok {
			return nil, crossbar.ValidationError("recordings", "type", "recordings must be a list of recording ids", nil)
		}
		if seen[id] {
			return nil, crossbar.ValidationError("recordings", "uniqueItems", "some recordings appear twice", nil)
		}
		seen[id] = true
		ids = append(ids, id)
	}
	return ids, nil
}
