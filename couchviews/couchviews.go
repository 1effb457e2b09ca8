// Package couchviews holds the CouchDB design documents recordingsd installs, embedded from
// JSON so they can be read, diffed and reviewed as plain files: _design/recordingsd in month
// databases (the listing), _design/recordingsd_retention in month databases the retention
// sweeper reads (the purge index) and _design/recordingsd_auth in account databases
// (credentials).
package couchviews

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	_ "embed"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// recordingsdJSON is our own design document. Kazoo owns _design/recordings and rewrites it
// when it refreshes views, so our views live under a name Kazoo never touches.
//
//go:embed recordingsd.json
var recordingsdJSON []byte

// authJSON is our design document of account databases. Kazoo's _design/users has the same
// credential views, but it may be missing (Kazoo installs it when it refreshes views) or of
// another Kazoo version, so we query our own.
//
//go:embed recordingsd_auth.json
var authJSON []byte

// retentionJSON is the purge index of month databases. It is a design document of its own,
// not a view of _design/recordingsd: changing a design document rebuilds all of its views,
// and the listing index of every month database must not be rebuilt for the sweeper's sake.
//
//go:embed recordingsd_retention.json
var retentionJSON []byte

// DesignName is the design document name as view queries spell it.
const DesignName = "recordingsd"

// DesignID is the design document's _id.
const DesignID = "_design/" + DesignName

// View names of _design/recordingsd. The listing views are map-only, and their value is the
// whole document; the emit rule mirrors recording.Doc.IsListed with soft-deleted recordings
// included (a reader that hides them leaves them out of the rows).
const (
	ViewListing        = "listing"          // key [pvt_created, _id], value the document
	ViewListingByOwner = "listing_by_owner" // key [owner_id, pvt_created, _id], value the document
	// ViewCreatedRange has key and value pvt_created, reduced by _stats: with reduce, one row
	// whose min and max bound the month database's listing.
	ViewCreatedRange = "created_range"
)

// AuthDesignName is the name of the design document of account databases.
const AuthDesignName = "recordingsd_auth"

// AuthDesignID is its _id.
const AuthDesignID = "_design/" + AuthDesignName

// View names of _design/recordingsd_auth: map-only, key = the hash, value null; the emit
// rule is recording.HasCredentials.
const (
	ViewCredsByMD5 = "creds_by_md5" // key pvt_md5_auth (recording.FieldMD5Auth)
	ViewCredsBySHA = "creds_by_sha" // key pvt_sha1_auth (recording.FieldSHA1Auth)
)

// RetentionDesignName is the name of the retention sweeper's design document of month
// databases.
const RetentionDesignName = "recordingsd_retention"

// RetentionDesignID is its _id.
const RetentionDesignID = "_design/" + RetentionDesignName

// ViewPurge is the view of _design/recordingsd_retention: map-only, key
// [reason, at, _id], value null; the emit rule is recording.PurgeKeyOf.
const ViewPurge = "purge"

// metaKey is the top-level field holding our version stamp inside a design document.
const metaKey = "recordingsd"

// Design is one of our design documents: its JSON file, stamped with a version (written
// in the file, bumped by hand when a view changes) and the file's SHA-256.
type Design struct {
	name    string
	raw     []byte
	version int64
	hash    string
}

// Recordings is _design/recordingsd, installed in month databases.
var Recordings = mustDesign(DesignName, recordingsdJSON)

// Auth is _design/recordingsd_auth, installed in account databases.
var Auth = mustDesign(AuthDesignName, authJSON)

// Retention is _design/recordingsd_retention, installed in month databases by the
// retention sweeper's first read.
var Retention = mustDesign(RetentionDesignName, retentionJSON)

func mustDesign(name string, raw []byte) *Design {
	sum := sha256.Sum256(raw)
	d := &Design{name: name, raw: raw, hash: hex.EncodeToString(sum[:])}
	doc, err := decode(raw)
	if err != nil {
		panic(fmt.Sprintf("couchviews: embedded %s: %v", name, err))
	}
	if doc["_id"] != d.ID() {
		panic(fmt.Sprintf("couchviews: embedded %s has _id %v, want %s", name, doc["_id"], d.ID()))
	}
	v, ok := installedVersion(doc)
	if !ok {
		panic(fmt.Sprintf("couchviews: embedded %s lacks recordingsd.version", name))
	}
	d.version = v
	return d
}

// Name is the design document's name as view queries spell it.
func (d *Design) Name() string { return d.name }

// ID is the design document's _id.
func (d *Design) ID() string { return "_design/" + d.name }

// Doc returns a fresh copy of the design document, stamped with its version and content
// hash (recordingsd.version, recordingsd.hash), ready to PUT (add _rev to replace).
func (d *Design) Doc() map[string]any {
	doc, err := decode(d.raw)
	if err != nil {
		panic(err) // checked in mustDesign
	}
	meta := doc[metaKey].(map[string]any)
	meta["hash"] = d.hash
	return doc
}

// Version returns the embedded design document's version number and the SHA-256 of its
// JSON file.
func (d *Design) Version() (version int64, hash string) { return d.version, d.hash }

// IsCurrent reports whether an installed copy (as read from CouchDB, nil when missing) can
// stay. A newer version is left alone so that an older process running beside a newer one
// never downgrades it; an equal version must carry our exact hash.
func (d *Design) IsCurrent(installed map[string]any) bool {
	if installed == nil {
		return false
	}
	if id, ok := installed["_id"].(string); ok && id != "_design/"+d.name {
		return false // another design document altogether
	}
	v, ok := installedVersion(installed)
	if !ok {
		return false
	}
	if v != d.version {
		return v > d.version
	}
	meta, _ := installed[metaKey].(map[string]any)
	h, _ := meta["hash"].(string)
	return h == d.hash
}

// ListingView names the view a listing reads: the owner index when byOwner.
func ListingView(byOwner bool) string {
	if byOwner {
		return ViewListingByOwner
	}
	return ViewListing
}

// RecordingsDesign returns a fresh copy of _design/recordingsd (Recordings.Doc).
func RecordingsDesign() (id string, doc map[string]any) {
	return Recordings.ID(), Recordings.Doc()
}

// RecordingsDesignVersion returns _design/recordingsd's version and hash (Recordings.Version).
func RecordingsDesignVersion() (version int64, hash string) {
	return Recordings.Version()
}

// IsCurrent reports whether an installed _design/recordingsd can stay (Recordings.IsCurrent).
func IsCurrent(installed map[string]any) bool {
	return Recordings.IsCurrent(installed)
}

// CredsView names the view of _design/recordingsd_auth keyed by field
// (recording.FieldMD5Auth or recording.FieldSHA1Auth); false for any other field.
func CredsView(field string) (string, bool) {
	switch field {
	case recording.FieldMD5Auth:
		return ViewCredsByMD5, true
	case recording.FieldSHA1Auth:
		return ViewCredsBySHA, true
	}
	return "", false
}

func installedVersion(doc map[string]any) (int64, bool) {
	meta, _ := doc[metaKey].(map[string]any)
	switch v := meta["version"].(type) {
	case json.Number:
		n, err := strconv.ParseInt(string(v), 10, 64)
		return n, err == nil
	case float64:
		if v == math.Trunc(v) {
			return int64(v), true
		}
	case int:
		return int64(v), true
	case int64:
		return v, true
	}
	return 0, false
}

func decode(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	return doc, nil
}
