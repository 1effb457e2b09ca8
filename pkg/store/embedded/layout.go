package embedded

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// The file holds one top-level bucket per CouchDB database, named exactly as CouchDB names
// it (recording.AccountDBName, recording.MonthDBName), so data moves between backends
// database by database. Inside each:
//
//	docs                  id → the document's JSON, _id and _rev included; a deleted
//	                      document leaves a tombstone {"_id","_rev","_deleted":true}
//	attachments           attachmentKey(id, name) → blobRef (blob id, length)
//	chunks                chunkKey(blob, n) → bytes n*chunkSize … of the blob, chunkSize each
//	listing, listing_all, listing_by_owner, listing_by_owner_all, purge
//	                      month databases only: the views of couchviews as indexes,
//	                      key → empty (see index.go and purgekey.go for the keys)
//
// One more top-level bucket, metaBucket, cannot clash with a database name (CouchDB names
// never start with '_'): the file format version, the uploads in progress, and the change
// log of the month databases:
//
//	changes               sequence (8 bytes, big-endian) → changeEntry: which document of
//	                      which month database was written, at which revision, when
//	                      (changes.go); appended by every write of a month database's
//	                      documents in its own transaction; the bucket's sequence is the
//	                      last one given
//	change_log_id         random id of this file's log, kept in feed checkpoints
var (
	docsBucket        = []byte("docs")
	attachmentsBucket = []byte("attachments")
	chunksBucket      = []byte("chunks")

	metaBucket     = []byte("_recordingsd")
	formatKey      = []byte("format")
	uploadsBucket  = []byte("uploads") // inside metaBucket: uploadKey(db, blob) → empty
	changesBucket  = []byte("changes") // inside metaBucket: changeKey(seq) → changeEntry
	changeLogIDKey = []byte("change_log_id")
)

// formatVersion is bumped when the layout changes in a way older builds cannot read;
// each build refuses any version but its own, after upgrading the earlier ones it knows
// (upgrade.go). Version 2 added the purge index, version 3 the change log (a build without
// it would write documents the log then misses).
const formatVersion = "3"

// database is one CouchDB database inside a transaction.
type database struct {
	name        string
	docs        *bolt.Bucket
	attachments *bolt.Bucket
	chunks      *bolt.Bucket
	indexes     monthIndexBuckets
	// changes is the change log every write of a document appends to: set for month
	// databases in write transactions, nil otherwise.
	changes *bolt.Bucket
}

// openDatabase returns the database named name, or nil when it does not exist.
func openDatabase(tx *bolt.Tx, name string) (*database, error) {
	b := tx.Bucket([]byte(name))
	if b == nil {
		return nil, nil
	}
	db := &database{
		name:        name,
		docs:        b.Bucket(docsBucket),
		attachments: b.Bucket(attachmentsBucket),
		chunks:      b.Bucket(chunksBucket),
	}
	if db.docs == nil || db.attachments == nil || db.chunks == nil {
		return nil, fmt.Errorf("database %s lacks its buckets", name)
	}
	found := 0
	for i, ix := range monthIndexes {
		if db.indexes[i] = b.Bucket([]byte(ix.name)); db.indexes[i] != nil {
			found++
		}
	}
	// Writing with an index missing would leave it silently behind the documents.
	if found != 0 && found != len(monthIndexes) {
		return nil, fmt.Errorf("database %s has %d of its %d indexes", name, found, len(monthIndexes))
	}
	if tx.Writable() {
		if _, ok := monthDBNamed([]byte(name)); ok {
			// Writing without it would hide the write from every change feed.
			if db.changes = changeLog(tx); db.changes == nil {
				return nil, fmt.Errorf("the file lacks its change log (%s)", changesBucket)
			}
		}
	}
	return db, nil
}

// createDatabase opens the database, creating it if missing; new month databases get the
// indexes, as the CouchDB backend installs its design documents in them. An existing
// database is opened as it is: an index created empty beside its documents would miss them.
func createDatabase(tx *bolt.Tx, name string, withIndexes bool) (*database, error) {
	if tx.Bucket([]byte(name)) != nil {
		return openDatabase(tx, name)
	}
	b, err := tx.CreateBucket([]byte(name))
	if err != nil {
		return nil, fmt.Errorf("create database %s: %w", name, err)
	}
	names := [][]byte{docsBucket, attachmentsBucket, chunksBucket}
	if withIndexes {
		for _, ix := range monthIndexes {
			names = append(names, []byte(ix.name))
		}
	}
	for _, n := range names {
		if _, err := b.CreateBucket(n); err != nil {
			return nil, fmt.Errorf("create %s of database %s: %w", n, name, err)
		}
	}
	return openDatabase(tx, name)
}

// attachmentKey is the id's length, the id, then the name: no id/name split is ambiguous.
func attachmentKey(id, name string) []byte {
	k := binary.AppendUvarint(make([]byte, 0, binary.MaxVarintLen64+len(id)+len(name)), uint64(len(id)))
	return append(append(k, id...), name...)
}

// blobRef locates an attachment's bytes in the chunks bucket.
type blobRef struct {
	blob   uint64
	length int64
}

func (r blobRef) encode() []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 16), r.blob)
	return binary.BigEndian.AppendUint64(b, uint64(r.length))
}

func decodeBlobRef(v []byte) (blobRef, error) {
	if len(v) != 16 {
		return blobRef{}, fmt.Errorf("attachment reference of %d bytes, want 16", len(v))
	}
	return blobRef{blob: binary.BigEndian.Uint64(v), length: int64(binary.BigEndian.Uint64(v[8:]))}, nil
}

// chunkSize is the size of every chunk but a blob's last.
const chunkSize = 64 << 10

// chunkKey is the blob id then the chunk number, both big-endian: byte offset o of a blob
// lives in chunk o/chunkSize, and a blob's chunks are adjacent and in order.
func chunkKey(blob uint64, n int64) []byte {
	k := binary.BigEndian.AppendUint64(make([]byte, 0, 16), blob)
	return binary.BigEndian.AppendUint64(k, uint64(n))
}

// uploadKey names an upload in progress: its blob, then its database.
func uploadKey(dbName string, blob uint64) []byte {
	return append(binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(dbName)), blob), dbName...)
}
