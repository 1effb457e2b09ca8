package embedded

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// monthIndex is one view of a month database kept as a bucket, key → empty. key is the
// view's map function: a document's entry, if it has one (no view of ours emits more).
type monthIndex struct {
	name string // the bucket's name
	key  func(doc recording.Doc) ([]byte, bool)
}

// Positions in monthIndexes.
const (
	listing = iota
	listingAll
	listingByOwner
	listingByOwnerAll
	purgeIndex
)

// monthIndexes are the indexes of every month database, all kept by updateIndexes in the
// transaction of each write: the four views of couchviews/recordingsd.json, named as they
// are, then the purge index of _design/recordingsd_retention (see purgekey.go).
var monthIndexes = [...]monthIndex{
	listing:           {name: "listing", key: listingKey(false, false)},
	listingAll:        {name: "listing_all", key: listingKey(false, true)},
	listingByOwner:    {name: "listing_by_owner", key: listingKey(true, false)},
	listingByOwnerAll: {name: "listing_by_owner_all", key: listingKey(true, true)},
	purgeIndex:        {name: "purge", key: purgeIndexKey},
}

// listingIndexFor picks the index a scan reads, as couchviews.ListingView picks the view.
func listingIndexFor(byOwner, all bool) int {
	switch {
	case byOwner && all:
		return listingByOwnerAll
	case byOwner:
		return listingByOwner
	case all:
		return listingAll
	}
	return listing
}

// listingKey is the map function of a listing view. Keys are encoded so that byte order is
// the view's order:
//
//	account views: created, id
//	owner views:   ownerPrefix(owner_id), created, id
//
// created is pvt_created as a big-endian int64 with its sign bit flipped (so negative
// numbers sort first); the id runs to the end of the key. Ids compare byte by byte, as
// pouchdb-server compares them; Kazoo's ids are lower-case hex, where CouchDB's ICU
// collation agrees. all takes soft-deleted recordings too.
func listingKey(byOwner, all bool) func(recording.Doc) ([]byte, bool) {
	return func(doc recording.Doc) ([]byte, bool) {
		if doc == nil || !doc.IsListed(all) {
			return nil, false
		}
		created, _ := doc.Int("pvt_created")
		var prefix []byte
		if byOwner {
			owner, _ := doc["owner_id"].(string)
			if owner == "" {
				return nil, false
			}
			prefix = ownerPrefix(owner)
		}
		return append(appendCreated(prefix, created), doc.ID()...), true
	}
}

// ownerPrefix is the owner id with each 0x00 escaped as 0x00 0xFF, then 0x00 0x01: the
// terminator sorts below every id byte and no owner's prefix is a prefix of another's.
func ownerPrefix(owner string) []byte {
	b := make([]byte, 0, len(owner)+2)
	if strings.IndexByte(owner, 0) < 0 {
		b = append(b, owner...)
	} else {
		for i := 0; i < len(owner); i++ {
			b = append(b, owner[i])
			if owner[i] == 0 {
				b = append(b, 0xFF)
			}
		}
	}
	return append(b, 0x00, 0x01)
}

// appendCreated appends pvt_created so that byte order is numeric order.
func appendCreated(b []byte, created int64) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(created)^(1<<63))
}

func decodeCreated(b []byte) int64 {
	return int64(binary.BigEndian.Uint64(b) ^ (1 << 63))
}

// monthIndexBuckets are a month database's index buckets, by position in monthIndexes;
// all nil in other databases.
type monthIndexBuckets [len(monthIndexes)]*bolt.Bucket

// updateIndexes moves a document's entries from what before says to what after says
// (either may be nil: created, deleted), in the same transaction as the document itself.
func updateIndexes(indexes monthIndexBuckets, before, after recording.Doc) error {
	for i, ix := range monthIndexes {
		b := indexes[i]
		if b == nil {
			continue
		}
		oldKey, hadOld := ix.key(before)
		newKey, hasNew := ix.key(after)
		if hadOld && hasNew && bytes.Equal(oldKey, newKey) {
			continue
		}
		if hadOld {
			if err := b.Delete(oldKey); err != nil {
				return err
			}
		}
		if hasNew {
			if err := b.Put(newKey, []byte{}); err != nil {
				return err
			}
		}
	}
	return nil
}

// fillIndex adds the entries of every document of docs to an empty index, as a view is
// built when its design document arrives. Tombstones have no entries.
func fillIndex(ix monthIndex, docs, index *bolt.Bucket) error {
	return docs.ForEach(func(id, raw []byte) error {
		doc, err := recording.DecodeDoc(raw)
		if err != nil {
			return fmt.Errorf("decode %s: %w", id, err)
		}
		if doc["_deleted"] == true {
			return nil
		}
		if key, ok := ix.key(doc); ok {
			return index.Put(key, []byte{})
		}
		return nil
	})
}
