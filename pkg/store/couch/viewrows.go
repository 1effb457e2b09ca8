package couch

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// viewRow is one row of a view: Value for views whose value is the document (the listing),
// Doc for a read with include_docs (nil when the document was deleted between indexing and
// reading).
type viewRow struct {
	Key   json.RawMessage `json:"key"`
	Value recording.Doc   `json:"value"`
	Doc   recording.Doc   `json:"doc"`
}

// queryView reads a view of one of our design documents and calls each for every row, in
// order, as the rows arrive. It bypasses kivik, whose row parser keeps a raw copy of every
// document that would then be decoded a second time: here each row is decoded once, straight
// into a Doc (numbers exact, as recording.DecodeDoc keeps them). params are the view's query
// parameters, JSON-encoded where CouchDB wants JSON (keys).
func (s *Store) queryView(ctx context.Context, dbName, design, view string, params url.Values, each func(viewRow) error) error {
	resp, err := s.doOK(ctx, http.MethodGet, []string{dbName, "_design", design, "_view", view}, params,
		http.Header{"Accept": {"application/json"}}, nil)
	if err != nil {
		return err
	}
	defer drainClose(resp.Body)
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("view %s: %w", view, err)
		}
		if tok != "rows" {
			var skip json.RawMessage // total_rows, offset, update_seq
			if err := dec.Decode(&skip); err != nil {
				return fmt.Errorf("view %s: %w", view, err)
			}
			continue
		}
		if err := expectDelim(dec, '['); err != nil {
			return err
		}
		for dec.More() {
			var row viewRow
			if err := dec.Decode(&row); err != nil {
				return fmt.Errorf("view %s row: %w", view, err)
			}
			if err := each(row); err != nil {
				return err
			}
		}
		if err := expectDelim(dec, ']'); err != nil {
			return err
		}
	}
	return expectDelim(dec, '}')
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("view response: %w", err)
	}
	if tok != want {
		return fmt.Errorf("view response: got %v, want %v", tok, want)
	}
	return nil
}

// viewParams encodes view query parameters: keys as JSON, the rest as they print.
func viewParams(p map[string]any) (url.Values, error) {
	v := url.Values{}
	for k, val := range p {
		switch k {
		case "startkey", "endkey", "key":
			b, err := json.Marshal(val)
			if err != nil {
				return nil, err
			}
			v.Set(k, string(b))
		default:
			v.Set(k, fmt.Sprint(val))
		}
	}
	return v, nil
}
