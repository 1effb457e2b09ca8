package api

import (
	"net/http"
	"strings"

	"github.com/recordingsd/recordingsd/pkg/authz"
	"github.com/recordingsd/recordingsd/pkg/crossbar"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// handleGet serves GET and HEAD /recordings/{id}: the document, or its audio when the client
// asks for audio (Accept header, or ?accept= which wins for clients that cannot set headers).
func (s *server) handleGet() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := reqCtx(r)
		id, ok := recordingIDFromPath(r)
		if !ok {
			writeError(w, r, crossbar.BadIdentifier(id))
			return
		}
		doc, err := s.service.Get(r.Context(), rc.accountID, id)
		if err == nil {
			err = s.mayTouch(rc, authz.Read, doc)
		}
		if err != nil {
			s.fail(w, r, err, id)
			return
		}
		atts := doc.Attachments()
		audioType := ""
		if len(atts) > 0 {
			audioType = atts[0].ContentType
		}
		accept := r.Header.Get("Accept")
		if v, ok := r.URL.Query()["accept"]; ok && len(v) > 0 {
			accept = v[0]
		}
		w.Header().Add("Vary", "Accept")
		rep, ok := crossbar.Negotiate(accept, audioType)
		if !ok {
			writeError(w, r, crossbar.NotAcceptable("this recording is available as application/json or "+orDefault(audioType, "audio/mpeg")))
			return
		}
		if rep == crossbar.RepAudio {
			if len(atts) == 0 {
				writeError(w, r, crossbar.NoAttachment(id))
				return
			}
			s.serveAudio(w, r, id, doc, atts[0])
			return
		}
		etag := `"` + doc.Rev() + `"`
		w.Header().Set("ETag", etag)
		if etagMatches(r.Header.Get("If-None-Match"), etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		writeData(w, r, crossbar.Envelope{Data: doc.Public(), Revision: doc.Rev()})
	})
}

// recordingIDFromPath returns the decoded {recording_id}; ok only for a well-formed id.
func recordingIDFromPath(r *http.Request) (string, bool) {
	id, ok := pathVar(r, "recording_id")
	if !ok {
		return id, false
	}
	_, ok = recording.ParseRecordingID(id)
	return id, ok
}

// etagMatches implements If-None-Match (weak comparison, lists and "*").
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, part := range strings.Split(header, ",") {
		part = strings.TrimSpace(part)
		if part == "*" || strings.TrimPrefix(part, "W/") == etag {
			return true
		}
	}
	return false
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
