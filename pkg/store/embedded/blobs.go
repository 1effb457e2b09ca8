package embedded

import (
	"bytes"
	"context"
	"encoding/binary"

	bolt "go.etcd.io/bbolt"
)

// putChunks stores data as chunks first, first+1, … of blob. bbolt keeps the slices until
// the transaction ends: data must not change before then.
func putChunks(chunks *bolt.Bucket, blob uint64, first int64, data []byte) error {
	for n := first; len(data) > 0; n++ {
		c := data[:min(len(data), chunkSize)]
		if err := chunks.Put(chunkKey(blob, n), c); err != nil {
			return err
		}
		data = data[len(c):]
	}
	return nil
}

// deleteBlob deletes every chunk of a stored attachment.
func deleteBlob(chunks *bolt.Bucket, ref blobRef) error {
	for n := int64(0); n*chunkSize < ref.length; n++ {
		if err := chunks.Delete(chunkKey(ref.blob, n)); err != nil {
			return err
		}
	}
	return nil
}

// deleteSomeChunks deletes up to limit chunks of a blob whose length nobody recorded (an
// upload cut short) and reports whether none are left.
func deleteSomeChunks(chunks *bolt.Bucket, blob uint64, limit int) (bool, error) {
	prefix := binary.BigEndian.AppendUint64(nil, blob)
	c := chunks.Cursor()
	for range limit {
		k, _ := c.Seek(prefix)
		if k == nil || !bytes.HasPrefix(k, prefix) {
			return true, nil
		}
		if err := c.Delete(); err != nil {
			return false, err
		}
	}
	return false, nil
}

// chunksPerTransaction bounds what one upload transaction holds: bbolt keeps a write
// transaction's pages in memory until it commits. 16 chunks are 1 MiB.
const chunksPerTransaction = 16

// attachmentUpload writes an attachment's bytes ahead of the revision that will name them,
// in transactions of chunksPerTransaction chunks, so that neither this process's memory
// nor other writers' wait grows with the attachment. Until the revision commits, the blob
// is registered in the uploads bucket: if we fail it is deleted, if the process dies
// Open deletes it.
type attachmentUpload struct {
	s      *Store
	dbName string
	blob   uint64 // 0 until the first staged chunk
	staged int64  // chunks written so far
	done   bool   // a revision names the blob
}

// stage writes data, a whole number of chunks, in one transaction.
func (u *attachmentUpload) stage(ctx context.Context, what string, data []byte) error {
	blob := u.blob
	err := u.s.update(ctx, what, func(tx *bolt.Tx) error {
		db, err := openDatabase(tx, u.dbName)
		if err != nil || db == nil {
			return orNotFound(err, what)
		}
		if blob == 0 {
			if blob, err = db.chunks.NextSequence(); err != nil {
				return err
			}
			if err := uploads(tx).Put(uploadKey(u.dbName, blob), []byte{}); err != nil {
				return err
			}
		}
		return putChunks(db.chunks, blob, u.staged, data)
	})
	if err != nil {
		return err
	}
	u.blob = blob
	u.staged += int64(len(data)+chunkSize-1) / chunkSize
	return nil
}

// finish writes the last chunks inside the transaction that writes the revision, and
// returns the blob; the upload is no longer pending once that transaction commits.
func (u *attachmentUpload) finish(tx *bolt.Tx, db *database, last []byte, length int64) (blobRef, error) {
	blob := u.blob
	if blob == 0 {
		var err error
		if blob, err = db.chunks.NextSequence(); err != nil {
			return blobRef{}, err
		}
	} else if err := uploads(tx).Delete(uploadKey(u.dbName, blob)); err != nil {
		return blobRef{}, err
	}
	if err := putChunks(db.chunks, blob, u.staged, last); err != nil {
		return blobRef{}, err
	}
	return blobRef{blob: blob, length: length}, nil
}

// discardUnlessDone deletes what a failed upload staged. If that fails too (the store was
// closed), the next Open sweeps it.
func (u *attachmentUpload) discardUnlessDone() {
	if !u.done && u.blob != 0 {
		_ = u.s.discardUpload(u.dbName, u.blob)
	}
}

// discardUpload deletes a pending upload's chunks, a bounded number per transaction, then
// its registration.
func (s *Store) discardUpload(dbName string, blob uint64) error {
	const chunksPerDelete = 256
	for done := false; !done; {
		err := s.db.Update(func(tx *bolt.Tx) error {
			done = true
			if b := tx.Bucket([]byte(dbName)); b != nil {
				if chunks := b.Bucket(chunksBucket); chunks != nil {
					var err error
					if done, err = deleteSomeChunks(chunks, blob, chunksPerDelete); err != nil {
						return err
					}
				}
			}
			if !done {
				return nil
			}
			return uploads(tx).Delete(uploadKey(dbName, blob))
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// sweepUploads deletes the uploads a crash cut short. It runs in Open, when no upload of
// ours can be running: the file lock keeps other processes out.
func (s *Store) sweepUploads() error {
	for {
		var key []byte
		err := s.db.View(func(tx *bolt.Tx) error {
			if k, _ := uploads(tx).Cursor().First(); k != nil {
				key = bytes.Clone(k)
			}
			return nil
		})
		if err != nil || key == nil {
			return err
		}
		if len(key) < 8 { // not ours to understand; it names no chunks
			err = s.db.Update(func(tx *bolt.Tx) error { return uploads(tx).Delete(key) })
		} else {
			err = s.discardUpload(string(key[8:]), binary.BigEndian.Uint64(key))
		}
		if err != nil {
			return err
		}
	}
}

func uploads(tx *bolt.Tx) *bolt.Bucket {
	return tx.Bucket(metaBucket).Bucket(uploadsBucket)
}
