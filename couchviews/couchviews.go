// Package couchviews holds the CouchDB design documents recordingsd installs in monthly
// databases, embedded from JSON so they can be read, diffed and reviewed as plain files.
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
)

// recordingsdJSON is our own design document. Kazoo owns _design/recordings and rewrites it
// when it refreshes views, so our views live under a name Kazoo never touches.
//
//go:embed recordingsd.json
var recordingsdJSON []byte

// DesignName is the design document name as view queries spell it.
const DesignName = "recordingsd"

// DesignID is the design document's _id.
const DesignID = "_design/" + DesignName

// View names of _design/recordingsd. Every view is map-only with null values; the
// emit rule mirrors recording.Doc.IsListed.
const (
	ViewListing           = "listing"              // key [pvt_created, _id]
	ViewListingAll        = "listing_all"          // same, soft-deleted included
	ViewListingByOwner    = "listing_by_owner"     // key [owner_id, pvt_created, _id]
	ViewListingByOwnerAll = "listing_by_owner_all" // same, soft-deleted included
)

// metaKey is the top-level field holding our version stamp inside the design document.
const metaKey = "recordingsd"

var (
	designVersion int64
	designHash    string
)

func init() {
	sum := sha256.Sum256(recordingsdJSON)
	designHash = hex.EncodeToString(sum[:])
	doc, err := decode(recordingsdJSON)
	if err != nil {
		panic(fmt.Sprintf("couchviews: embedded recordingsd.json: %v", err))
	}
	if doc["_id"] != DesignID {
		panic(fmt.Sprintf("couchviews: embedded recordingsd.json has _id %v, want %s", doc["_id"], DesignID))
	}
	v, ok := installedVersion(doc)
	if !ok {
		panic("couchviews: embedded recordingsd.json lacks recordingsd.version")
	}
	designVersion = v
}

// ListingView names the view a listing reads: the owner index when byOwner, and the
// variant that keeps soft-deleted recordings when includeSoftDeleted.
func ListingView(byOwner, includeSoftDeleted bool) string {
	switch {
	case byOwner && includeSoftDeleted:
		return ViewListingByOwnerAll
	case byOwner:
		return ViewListingByOwner
	case includeSoftDeleted:
		return ViewListingAll
	default:
		return ViewListing
	}
}

// RecordingsDesign returns a fresh copy of _design/recordingsd, stamped with its version
// and content hash (recordingsd.version, recordingsd.hash), ready to PUT (add _rev to replace).
func RecordingsDesign() (id string, doc map[string]any) {
	doc, err := decode(recordingsdJSON)
	if err != nil {
		panic(err) // checked in init
	}
	meta := doc[metaKey].(map[string]any)
	meta["hash"] = designHash
	return DesignID, doc
}

// RecordingsDesignVersion returns the embedded design document's version number and the
// SHA-256 of its JSON file.
func RecordingsDesignVersion() (version int64, hash string) {
	return designVersion, designHash
}

// IsCurrent reports whether an installed _design/recordingsd (as read from CouchDB, nil
// when missing) can stay. A newer version is left alone so that an older process running
// beside a newer one never downgrades it; an equal version must carry our exact hash.
func IsCurrent(installed map[string]any) bool {
	if installed == nil {
		return false
	}
	v, ok := installedVersion(installed)
	if !ok {
		return false
	}
	if v != designVersion {
		return v > designVersion
	}
	meta, _ := installed[metaKey].(map[string]any)
	h, _ := meta["hash"].(string)
	return h == designHash
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
