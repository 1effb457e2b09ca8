package api

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/crossbar"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// listParams is a parsed listing query.
type listParams struct {
	req      recording.ListRequest
	paginate bool
}

// handleList serves GET /recordings and GET /users/{user_id}/recordings: Kazoo's listing over
// the month databases of a created_from..created_to window.
func (s *server) handleList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := reqCtx(r)
		p, apiErr := s.parseListParams(r.URL.Query(), rc.accountID, rc.userID)
		if apiErr != nil {
			writeError(w, r, apiErr)
			return
		}
		gateListing(r, &p)
		if !p.paginate {
			s.streamList(w, r, p)
			return
		}
		items := make([]any, 0, p.req.PageSize)
		var first *recording.ListKey
		next, err := recording.List(r.Context(), s.store, p.req, func(row recording.Row) error {
			if first == nil {
				k := row.Key
				first = &k
			}
			items = append(items, row.Doc.Public())
			return nil
		})
		if err != nil {
			s.fail(w, r, err, rc.accountID)
			return
		}
		n := len(items)
		env := crossbar.Envelope{Data: items, PageSize: &n}
		if first != nil {
			env.StartKey = crossbar.EncodeStartKey(*first)
		}
		if next != nil {
			env.NextStartKey = crossbar.EncodeStartKey(*next)
		}
		if n > 0 {
			// Kazoo's list revision is a digest of the rendered items: render them once, and hand
			// the envelope those bytes rather than the items to encode a second time.
			var rendered bytes.Buffer
			enc := json.NewEncoder(&rendered)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(items); err == nil {
				raw := bytes.TrimRight(rendered.Bytes(), "\n")
				sum := md5.Sum(raw)
				env.Data = json.RawMessage(raw)
				env.Revision = hex.EncodeToString(sum[:])
				w.Header().Set("ETag", `"`+env.Revision+`"`)
			}
		}
		writeData(w, r, env)
	})
}

// streamList writes every match of the window as one chunked JSON document, row by row.
func (s *server) streamList(w http.ResponseWriter, r *http.Request, p listParams) {
	rc := reqCtx(r)
	stream := crossbar.NewListStream(w, rc.meta)
	_, err := recording.List(r.Context(), s.store, p.req, func(row recording.Row) error {
		return stream.Item(row.Doc.Public())
	})
	if err != nil {
		if !stream.Started() {
			s.fail(w, r, err, rc.accountID)
			return
		}
		// The status line is gone; cutting the body short is the only honest signal left.
		s.log.Warn("listing stream aborted", zap.String("request_id", rc.meta.RequestID), zap.Error(err))
		panic(http.ErrAbortHandler)
	}
	if err := stream.Close(crossbar.Envelope{}); err != nil {
		s.log.Debug("listing stream close", zap.Error(err))
	}
}

// parseListParams reads Kazoo's listing parameters; every invalid one is a 400 naming it.
func (s *server) parseListParams(q url.Values, accountID, userID string) (listParams, *crossbar.APIError) {
	p := listParams{paginate: q.Get("paginate") != "false"}
	now := recording.ToGregorian(s.cfg.Now())
	to, err := gregorianParam(q, "created_to", now)
	if err != nil {
		return p, err
	}
	from, err := gregorianParam(q, "created_from", to-s.cfg.MaxRangeSeconds)
	if err != nil {
		return p, err
	}
	if to < from {
		return p, crossbar.ValidationError("created_from", "date_range",
			"created_to "+itoa(to)+" is prior to created_from "+itoa(from), map[string]any{"cause": from})
	}
	if to-from > s.cfg.MaxRangeSeconds {
		return p, crossbar.ValidationError("created_from", "date_range",
			"created_to "+itoa(to)+" is more than "+itoa(s.cfg.MaxRangeSeconds)+" seconds from created_from "+itoa(from),
			map[string]any{"cause": to})
	}
	pageSize := s.cfg.DefaultPageSize
	if v := q.Get("page_size"); v != "" && p.paginate {
		n, convErr := strconv.Atoi(v)
		if convErr != nil || n < 1 {
			return p, crossbar.ValidationError("page_size", "type", "page_size must be a positive integer", nil)
		}
		if n > s.cfg.MaxPageSize {
			return p, crossbar.ValidationError("page_size", "maximum",
				"page_size must be at most "+strconv.Itoa(s.cfg.MaxPageSize), nil)
		}
		pageSize = n
	}
	if !p.paginate {
		pageSize = 0
	}
	var start *recording.ListKey
	if v := q.Get("start_key"); v != "" && p.paginate {
		k, decErr := crossbar.DecodeStartKey(v, userID)
		if decErr != nil {
			return p, crossbar.ValidationError("start_key", "invalid", "start_key is not a key this listing returned", nil)
		}
		start = &k
	}
	filter, filterErr := crossbar.NewFilter(q)
	if filterErr != nil {
		var apiErr *crossbar.APIError
		if errors.As(filterErr, &apiErr) {
			return p, apiErr
		}
		return p, crossbar.ValidationError("filter", "invalid", filterErr.Error(), nil)
	}
	p.req = recording.ListRequest{
		AccountID:          accountID,
		Owner:              userID,
		From:               from,
		To:                 to,
		Descending:         q.Get("descending") == "true" || q.Get("ascending") == "false",
		Start:              start,
		PageSize:           pageSize,
		IncludeSoftDeleted: includes(q, "soft_delete"),
	}
	if !filter.Empty() {
		p.req.Match = filter.Match
	}
	return p, nil
}

// gregorianParam reads a non-negative integer of gregorian seconds, or def when absent.
func gregorianParam(q url.Values, key string, def int64) (int64, *crossbar.APIError) {
	v := q.Get(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, crossbar.ValidationError(key, "type", key+" must be an integer of gregorian seconds", nil)
	}
	return n, nil
}

// includes reports whether ?include= names what (repeated or comma-separated).
func includes(q url.Values, what string) bool {
	for _, v := range q["include"] {
		for _, part := range strings.Split(v, ",") {
			if part == what {
				return true
			}
		}
	}
	return false
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// boolParam reads ?key=true|false, def when absent; explicit says whether it was sent.
func boolParam(q url.Values, key string, def bool) (v, explicit bool, apiErr *crossbar.APIError) {
	switch q.Get(key) {
	case "true":
		return true, true, nil
	case "false":
		return false, true, nil
	case "":
		return def, false, nil
	}
	return false, false, crossbar.ValidationError(key, "type", key+" must be true or false", nil)
}
