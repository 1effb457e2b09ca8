package embedded

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// PutAttachment streams body into attachment name of document id at revision rev, as
// CouchDB's PUT /db/id/name?rev= does: rev must be current (none creates the document), the
// new revision carries a stub with the length and md5 digest, and an attachment of that
// name is replaced. The body goes to disk a megabyte at a time, never whole into memory.
func (s *Store) PutAttachment(ctx context.Context, accountID, id, rev, name, contentType string, body io.Reader) (string, error) {
	if err := s.usable(ctx); err != nil {
		return "", err
	}
	dbName, err := recording.RecordingDatabase(accountID, id)
	if err != nil {
		return "", err
	}
	what := fmt.Sprintf("attachment %s of recording %s", name, id)
	return s.putAttachment(ctx, dbName, id, rev, name, contentType, body, what)
}

// putAttachment is PutAttachment into database dbName, which must exist. It refuses early
// what the final write would refuse, stages the body ahead of the revision (discarded
// unless that revision commits), then writes the revision that names it.
func (s *Store) putAttachment(ctx context.Context, dbName, id, rev, name, contentType string, body io.Reader, what string) (string, error) {
	p, err := newAttachmentPut(dbName, id, rev, name, contentType, what)
	if err != nil {
		return "", err
	}
	// Refuse before reading the body what would be refused after; checked again at the end.
	err = s.view(ctx, what, func(tx *bolt.Tx) error {
		_, _, err := p.target(tx)
		return err
	})
	if err != nil {
		return "", err
	}
	up := &attachmentUpload{s: s, dbName: dbName}
	defer up.discardUnlessDone()
	last, length, digest, err := up.stageBody(ctx, what, body)
	if err != nil {
		return "", err
	}
	newRev, err := s.commitAttachment(ctx, p, up, last, length, digest)
	if err != nil {
		return "", err
	}
	up.done = true
	return newRev, nil
}

// attachmentPut is one attachment write, checked: the document and the revision it
// replaces (none: a new document), the attachment's name and content type.
type attachmentPut struct {
	dbName, id, rev, name, contentType string
	what                               string // what errors call it
}

// newAttachmentPut checks the request's own fields: a name, a well-formed revision; no
// content type means application/octet-stream.
func newAttachmentPut(dbName, id, rev, name, contentType, what string) (*attachmentPut, error) {
	if name == "" {
		return nil, invalid("attachment name is empty")
	}
	rev, err := givenRev(rev, what)
	if err != nil {
		return nil, err
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	return &attachmentPut{dbName: dbName, id: id, rev: rev, name: name, contentType: contentType, what: what}, nil
}

// target opens the database and loads the document the write applies to, refusing a
// missing database and a revision that is not current.
func (p *attachmentPut) target(tx *bolt.Tx) (*database, *storedDoc, error) {
	db, err := openDatabase(tx, p.dbName)
	if err != nil {
		return nil, nil, err
	}
	if db == nil {
		return nil, nil, notFound(p.what)
	}
	cur, err := loadDoc(db, p.id)
	if err != nil {
		return nil, nil, err
	}
	return db, cur, checkRev(cur, p.rev, p.what)
}

// stageBody reads body to its end, chunksPerTransaction chunks at a time, staging each full
// batch, and returns the last, partial batch (written with the revision), the body's length
// and its md5 digest.
func (u *attachmentUpload) stageBody(ctx context.Context, what string, body io.Reader) (last []byte, length int64, digest string, err error) {
	buf := make([]byte, chunksPerTransaction*chunkSize)
	hash := md5.New()
	for {
		n, err := io.ReadFull(body, buf)
		hash.Write(buf[:n])
		length += int64(n)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return buf[:n], length, md5Digest(hash.Sum(nil)), nil
		}
		if err != nil {
			return nil, 0, "", u.s.storeError(fmt.Errorf("read body: %w", err), what)
		}
		if err := u.stage(ctx, what, buf); err != nil {
			return nil, 0, "", err
		}
	}
}

// commitAttachment writes, in one transaction, the upload's last bytes and the new revision
// of the document: as it is, its other attachments kept by their stubs, plus this one.
func (s *Store) commitAttachment(ctx context.Context, p *attachmentPut, up *attachmentUpload, last []byte, length int64, digest string) (string, error) {
	var newRev string
	err := s.update(ctx, p.what, func(tx *bolt.Tx) error {
		db, cur, err := p.target(tx)
		if err != nil {
			return err
		}
		ref, err := up.finish(tx, db, last, length)
		if err != nil {
			return err
		}
		doc := recording.Doc{"_id": p.id}
		if cur.live() {
			doc = cur.doc
		}
		att := upload{contentType: p.contentType, digest: digest, ref: ref}
		newRev, err = writeDoc(db, p.id, cur, doc, map[string]upload{p.name: att}, p.what)
		return err
	})
	return newRev, err
}

// OpenAttachment returns a reader of an attachment, or of the bytes of r. The reader seeks
// to the chunk holding r.Start and fetches one chunk at a time, each in its own short read
// transaction, so a slow client neither holds a transaction open nor costs memory.
func (s *Store) OpenAttachment(ctx context.Context, accountID, id, name string, r *recording.Range) (io.ReadCloser, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	dbName, err := recording.RecordingDatabase(accountID, id)
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("attachment %s of recording %s", name, id)
	if name == "" {
		return nil, notFound(what)
	}
	if r != nil && (r.Start < 0 || r.End < r.Start) {
		return nil, invalid("invalid byte range %d-%d", r.Start, r.End)
	}
	var ref blobRef
	err = s.view(ctx, what, func(tx *bolt.Tx) error {
		db, err := openDatabase(tx, dbName)
		if err != nil {
			return err
		}
		cur, err := loadLive(db, id, what)
		if err != nil {
			return err
		}
		if stubs, _ := asObject(cur.doc["_attachments"]); stubs[name] == nil {
			return notFound(what)
		}
		ref, _, err = db.attachmentRef(id, name)
		return err
	})
	if err != nil {
		return nil, err
	}
	rd := &attachmentReader{s: s, ctx: ctx, what: what, dbName: dbName, ref: ref, end: ref.length}
	if r != nil {
		// The caller checked r against the length it was shown; the attachment changed since.
		if r.Start > ref.length {
			return nil, s.storeError(fmt.Errorf("byte range %d-%d starts past the end (%d bytes)", r.Start, r.End, ref.length), what)
		}
		rd.off, rd.end = r.Start, r.End+1
	}
	return rd, nil
}

// attachmentReader hands out bytes off … end-1 of a blob, one chunk per read transaction.
// A range reaching past the stored bytes ends in io.ErrUnexpectedEOF, as the CouchDB
// backend's does.
type attachmentReader struct {
	s      *Store
	ctx    context.Context
	what   string
	dbName string
	ref    blobRef
	off    int64  // next byte to hand out
	end    int64  // one past the last byte asked for
	chunk  []byte // holds the current chunk's bytes, reused
	buf    []byte // what of chunk is not handed out yet
	closed bool
}

func (a *attachmentReader) Read(p []byte) (int, error) {
	switch {
	case a.closed:
		return 0, errors.New("read of a closed attachment reader")
	case a.off >= a.end:
		return 0, io.EOF
	case len(p) == 0:
		return 0, nil
	}
	if len(a.buf) == 0 {
		if a.off >= a.ref.length {
			return 0, io.ErrUnexpectedEOF
		}
		if err := a.fetch(); err != nil {
			return 0, err
		}
	}
	n := copy(p, a.buf)
	a.buf = a.buf[n:]
	a.off += int64(n)
	return n, nil
}

// fetch reads the chunk holding a.off, keeping only the bytes asked for.
func (a *attachmentReader) fetch() error {
	n, within := a.off/chunkSize, a.off%chunkSize
	want := min(a.end, a.ref.length) - a.off
	return a.s.view(a.ctx, a.what, func(tx *bolt.Tx) error {
		a.s.chunkReads.Add(1)
		db, err := openDatabase(tx, a.dbName)
		if err != nil || db == nil {
			return orNotFound(err, a.what)
		}
		chunk := db.chunks.Get(chunkKey(a.ref.blob, n))
		if int64(len(chunk)) <= within {
			return fmt.Errorf("chunk %d is gone: the attachment was replaced or deleted while being read: %w", n, io.ErrUnexpectedEOF)
		}
		chunk = chunk[within:]
		if int64(len(chunk)) > want {
			chunk = chunk[:want]
		}
		if a.chunk == nil {
			a.chunk = make([]byte, 0, chunkSize)
		}
		a.chunk = append(a.chunk[:0], chunk...) // out of the memory map before the transaction ends
		a.buf = a.chunk
		return nil
	})
}

func (a *attachmentReader) Close() error {
	a.closed = true
	a.chunk, a.buf = nil, nil
	return nil
}
