package embedded

import (
	"bytes"
	"encoding/binary"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// listingIndex is one of the four views of couchviews/recordingsd.json, kept as a bucket.
// Keys are encoded so that byte order is the view's order:
//
//	account views: created, id
//	owner views:   ownerPrefix(owner_id), created, id
//
// created is pvt_created as a big-endian int64 with its sign bit flipped (so negative
// numbers sort first); the id runs to the end of the key. Ids compare byte by byte, as
// pouchdb-server compares them; Kazoo's ids are lower-case hex, where CouchDB's ICU
// collation agrees.
type listingIndex struct {
	name    string // the view's name, and the bucket's
	all     bool   // soft-deleted recordings too
	byOwner bool
}

var listingIndexes = [...]listingIndex{
	{name: "listing"},
	{name: "listing_all", all: true},
	{name: "listing_by_owner", byOwner: true},
	{name: "listing_by_owner_all", all: true, byOwner: true},
}

// indexFor picks the index a query reads, as couchviews.ListingView picks the view.
func indexFor(byOwner, all bool) int {
	for i, ix := range listingIndexes {
		if ix.byOwner == byOwner && ix.all == all {
			return i
		}
	}
	panic("unreachable")
}

// key is doc's entry in the index, if the view's map function would emit one.
func (ix listingIndex) key(doc recording.Doc) ([]byte, bool) {
	if doc == nil || !doc.IsListed(ix.all) {
		return nil, false
	}
	created, _ := doc.Int("pvt_created")
	var prefix []byte
	if ix.byOwner {
		owner, _ := doc["owner_id"].(string)
		if owner == "" {
			return nil, false
		}
		prefix = ownerPrefix(owner)
	}
	return append(appendCreated(prefix, created), doc.ID()...), true
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

// updateIndexes moves a document's entries from what before says to what after says
// (either may be nil: created, deleted), in the same transaction as the document itself.
func updateIndexes(indexes [len(listingIndexes)]*bolt.Bucket, before, after recording.Doc) error {
	for i, ix := range listingIndexes {
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
