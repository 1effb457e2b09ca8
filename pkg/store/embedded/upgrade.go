package embedded

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// upgradeFrom lists the file format versions Open upgrades to formatVersion: version 1
// lacks the purge index, versions 1 and 2 the change log. The change log comes empty (Open
// creates it, with every version, before upgrading): a feed of an upgraded file starts at
// the present, what was written before has no entries.
var upgradeFrom = map[string]bool{"1": true, "2": true}

// indexBuildBatch bounds the month databases one upgrade transaction builds indexes in:
// bbolt holds a write transaction's dirty pages in memory until it commits, and one
// transaction per database would cost an fsync each.
const indexBuildBatch = 1000

// buildMissingIndexes creates and fills, from its documents, every index a month database
// lacks, batch databases per transaction. A database is done in one transaction, so an
// upgrade cut short resumes where it stopped.
func buildMissingIndexes(db *bolt.DB, batch int) error {
	var from []byte // the first bucket name not looked at yet
	for more := true; more; {
		err := db.Update(func(tx *bolt.Tx) error {
			var todo [][]byte
			more = false
			c := tx.Cursor()
			for k, _ := c.Seek(from); k != nil; k, _ = c.Next() {
				if len(todo) == batch {
					from, more = bytes.Clone(k), true
					break
				}
				if _, ok := monthDBNamed(k); ok && lacksIndexes(tx.Bucket(k)) {
					todo = append(todo, bytes.Clone(k))
				}
			}
			// Built after the walk: the cursor must not see its buckets change under it.
			for _, name := range todo {
				if err := buildIndexes(tx.Bucket(name)); err != nil {
					return fmt.Errorf("build the indexes of %s: %w", name, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func lacksIndexes(b *bolt.Bucket) bool {
	for _, ix := range monthIndexes {
		if b.Bucket([]byte(ix.name)) == nil {
			return true
		}
	}
	return false
}

// buildIndexes creates and fills the indexes the database bucket b lacks.
func buildIndexes(b *bolt.Bucket) error {
	docs := b.Bucket(docsBucket)
	if docs == nil {
		return fmt.Errorf("no %s bucket", docsBucket)
	}
	for _, ix := range monthIndexes {
		if b.Bucket([]byte(ix.name)) != nil {
			continue
		}
		index, err := b.CreateBucket([]byte(ix.name))
		if err != nil {
			return err
		}
		if err := fillIndex(ix, docs, index); err != nil {
			return fmt.Errorf("%s: %w", ix.name, err)
		}
	}
	return nil
}
