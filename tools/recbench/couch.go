package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// couchClient talks to CouchDB directly: the "direct" side of every comparison, and the
// seeding shortcuts. Database names are escaped segment by segment (account%2Fab%2F…).
type couchClient struct {
	base       *url.URL // no credentials
	user, pass string
	http       *http.Client
}

func newCouchClient(rawURL string, hc *http.Client) (*couchClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("couch URL: %w", err)
	}
	c := &couchClient{http: hc}
	if u.User != nil {
		c.user = u.User.Username()
		c.pass, _ = u.User.Password()
		u.User = nil
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	c.base = u
	return c, nil
}

// withCredentials is the server URL with its credentials, for the service's configuration.
func (c *couchClient) withCredentials() string {
	u := *c.base
	if c.user != "" || c.pass != "" {
		u.User = url.UserPassword(c.user, c.pass)
	}
	return u.String()
}

// urlFor builds the URL of path segments (each escaped on its own) with a query.
func (c *couchClient) urlFor(segments []string, query url.Values) string {
	u := *c.base
	raw := u.EscapedPath()
	for _, s := range segments {
		raw += "/" + url.PathEscape(s)
	}
	if len(segments) == 0 {
		raw += "/"
	}
	p, _ := url.PathUnescape(raw)
	u.Path, u.RawPath = p, raw
	u.RawQuery = query.Encode()
	return u.String()
}

func (c *couchClient) request(ctx context.Context, method string, segments []string, query url.Values, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.urlFor(segments, query), body)
	if err != nil {
		return nil, err
	}
	if c.user != "" || c.pass != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// doJSON sends a JSON body (nil: none) and decodes a JSON answer into out (nil: discarded).
func (c *couchClient) doJSON(ctx context.Context, method string, segments []string, query url.Values, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := c.request(ctx, method, segments, query, body)
	if err != nil {
		return 0, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return resp.StatusCode, fmt.Errorf("%s %s: HTTP %d: %s", method, strings.Join(segments, "/"), resp.StatusCode, bytes.TrimSpace(msg))
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, err
	}
	return resp.StatusCode, json.NewDecoder(resp.Body).Decode(out)
}

// welcome names the server from its own answers: GET / (product, vendor, version, the
// JavaScript engine among its features) and, where it answers, GET /_membership (nodes), e.g.
// "Apache CouchDB 3.4.3, 1 node, JavaScript engine QuickJS" or "pouchdb-server
// (express-pouchdb) 4.2.0".
func (c *couchClient) welcome(ctx context.Context) string {
	var w struct {
		Express  any      `json:"express-pouchdb"`
		Version  string   `json:"version"`
		Features []string `json:"features"`
		Vendor   struct {
			Name string `json:"name"`
		} `json:"vendor"`
	}
	if _, err := c.doJSON(ctx, http.MethodGet, nil, nil, nil, &w); err != nil {
		return "unknown (" + err.Error() + ")"
	}
	name := "CouchDB"
	switch {
	case w.Express != nil:
		name = "pouchdb-server (express-pouchdb)"
	case w.Vendor.Name == "The Apache Software Foundation":
		name = "Apache CouchDB"
	case w.Vendor.Name != "":
		name = "CouchDB (vendor " + w.Vendor.Name + ")"
	}
	if w.Version != "" {
		name += " " + w.Version
	}
	if w.Express != nil {
		return name
	}
	var m struct {
		ClusterNodes []string `json:"cluster_nodes"`
	}
	if _, err := c.doJSON(ctx, http.MethodGet, []string{"_membership"}, nil, nil, &m); err == nil && len(m.ClusterNodes) > 0 {
		if len(m.ClusterNodes) == 1 {
			name += ", 1 node"
		} else {
			name += fmt.Sprintf(", %d nodes", len(m.ClusterNodes))
		}
	}
	for _, f := range w.Features {
		if f == "quickjs" {
			name += ", JavaScript engine QuickJS"
		}
	}
	return name
}

// viewParams are the query parameters of the listing view read the service makes.
func viewParams(startKey, endKey any, limit int, descending bool) url.Values {
	sk, _ := json.Marshal(startKey)
	ek, _ := json.Marshal(endKey)
	q := url.Values{}
	q.Set("include_docs", "true")
	q.Set("limit", fmt.Sprint(limit))
	q.Set("startkey", string(sk))
	q.Set("endkey", string(ek))
	if descending {
		q.Set("descending", "true")
	}
	return q
}

// viewRow is one row of a listing view answer; the document stays raw.
type viewRow struct {
	ID  string          `json:"id"`
	Key json.RawMessage `json:"key"`
	Doc json.RawMessage `json:"doc"`
}

// readDesignView reads one page of a view of any design document in db.
func (c *couchClient) readDesignView(ctx context.Context, db, design, view string, q url.Values) ([]viewRow, error) {
	var out struct {
		Rows []viewRow `json:"rows"`
	}
	_, err := c.doJSON(ctx, http.MethodGet, viewSegments(db, design, view), q, nil, &out)
	return out.Rows, err
}

func viewSegments(db, design, view string) []string {
	return []string{db, "_design", design, "_view", view}
}

// waitView queries a view once with a long timeout: its first query builds the index
// (seconds on pouchdb-server for 10k documents), which must not fall into a measurement.
func (c *couchClient) waitView(ctx context.Context, db, design, view string) (time.Duration, error) {
	start := time.Now()
	q := url.Values{}
	q.Set("limit", "1")
	_, err := c.readDesignView(ctx, db, design, view, q)
	return time.Since(start), err
}

// putDesign writes a design document into db, over the copy already there if any, and
// returns its new revision.
func (c *couchClient) putDesign(ctx context.Context, db string, doc map[string]any) (string, error) {
	id, _ := doc["_id"].(string)
	var old struct {
		Rev string `json:"_rev"`
	}
	if code, err := c.doJSON(ctx, http.MethodGet, []string{db, id}, nil, nil, &old); err != nil && code != http.StatusNotFound {
		return "", err
	}
	if old.Rev != "" {
		doc["_rev"] = old.Rev
	}
	var res struct {
		Rev string `json:"rev"`
	}
	_, err := c.doJSON(ctx, http.MethodPut, []string{db, id}, nil, doc, &res)
	return res.Rev, err
}

// designInfo is what GET /db/_design/name/_info says of the design's index: its
// signature and its sizes in bytes (file: on disk; active: live data). ok is false when
// the server does not tell (pouchdb-server).
type designInfo struct {
	signature    string
	file, active int64
	ok           bool
}

func (c *couchClient) designInfo(ctx context.Context, db, design string) (designInfo, error) {
	var out struct {
		ViewIndex json.RawMessage `json:"view_index"` // pouchdb-server: a string
	}
	if _, err := c.doJSON(ctx, http.MethodGet, []string{db, "_design", design, "_info"}, nil, nil, &out); err != nil {
		return designInfo{}, err
	}
	var vi struct {
		Signature string `json:"signature"`
		Sizes     struct {
			File   *int64 `json:"file"`
			Active *int64 `json:"active"`
		} `json:"sizes"`
	}
	if json.Unmarshal(out.ViewIndex, &vi) != nil {
		return designInfo{}, nil
	}
	if vi.Sizes.File == nil || vi.Sizes.Active == nil {
		return designInfo{signature: vi.Signature}, nil
	}
	return designInfo{signature: vi.Signature, file: *vi.Sizes.File, active: *vi.Sizes.Active, ok: true}, nil
}

// Kazoo's own design document of month databases, _design/recordings
// (core/kazoo_modb/priv/couchdb/views/recordings.json): crossbar lists recordings with it, and
// every real Kazoo deployment has it in every month database. The map functions are written
// here from its documented behaviour: recordings that are not pvt_deleted (JavaScript
// truthiness), soft-deleted ones included, keyed [pvt_created, _id], and the same by owner.
const (
	kazooDesignName  = "recordings"
	kazooViewListing = "crossbar_listing"
	kazooViewByUser  = "listing_by_user"
)

func kazooRecordingsDesign() map[string]any {
	return map[string]any{
		"_id":      "_design/" + kazooDesignName,
		"language": "javascript",
		"views": map[string]any{
			kazooViewListing: map[string]any{"map": "function(doc) { if (doc.pvt_type != 'call_recording' || doc.pvt_deleted) return; emit([doc.pvt_created, doc._id], null); }"},
			kazooViewByUser:  map[string]any{"map": "function(doc) { if (doc.pvt_type != 'call_recording' || doc.pvt_deleted || !doc.owner_id) return; emit([doc.owner_id, doc.pvt_created, doc._id], null); }"},
		},
	}
}
