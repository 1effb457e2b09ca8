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

// welcome returns the server's GET / answer, e.g. "pouchdb-server 4.2.0" or "CouchDB 3.4.3".
func (c *couchClient) welcome(ctx context.Context) string {
	var w map[string]any
	if _, err := c.doJSON(ctx, http.MethodGet, nil, nil, nil, &w); err != nil {
		return "unknown (" + err.Error() + ")"
	}
	name := "CouchDB"
	if _, ok := w["express-pouchdb"]; ok {
		name = "pouchdb-server (express-pouchdb)"
	}
	if v, ok := w["version"].(string); ok {
		name += " " + v
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

// readView reads one page of the listing view of db.
func (c *couchClient) readView(ctx context.Context, db, view string, q url.Values) ([]viewRow, error) {
	var out struct {
		Rows []viewRow `json:"rows"`
	}
	_, err := c.doJSON(ctx, http.MethodGet, []string{db, "_design", "recordingsd", "_view", view}, q, nil, &out)
	return out.Rows, err
}

// waitView queries a view once with a long timeout: its first query builds the index
// (seconds on pouchdb-server for 10k documents), which must not fall into a measurement.
func (c *couchClient) waitView(ctx context.Context, db, view string) (time.Duration, error) {
	start := time.Now()
	q := url.Values{}
	q.Set("limit", "1")
	_, err := c.readView(ctx, db, view, q)
	return time.Since(start), err
}
