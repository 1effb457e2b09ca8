package storetest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"testing"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
)

func TestProbe(t *testing.T) {
	s, err := couch.New(couch.Config{URL: couchtest.URL(t)}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	acc := couchtest.NewAccountID()
	m := recording.Month{Year: 2024, Month: 3}
	nid := func() string { return m.String() + "-" + couchtest.NewAccountID() }
	show := func(what string, v ...any) { t.Logf("%-40s %v", what, fmt.Sprint(v...)) }
	base := nid()
	rev, err := s.PutRecording(ctx, acc, recording.Doc{"_id": base, "pvt_type": "call_recording"})
	show("put", rev, err)

	_, err = s.Save(ctx, acc, recording.Doc{"_id": nid(), "_rev": "1-abc"})
	show("1 save with rev on missing doc", recording.ErrorCode(err), err)
	r, err := s.PutAttachment(ctx, acc, nid(), "1-abc", "a", "text/plain", bytes.NewReader([]byte("x")))
	show("2 putatt rev on missing doc", r, recording.ErrorCode(err), err)
	id3 := nid()
	r, err = s.PutAttachment(ctx, acc, id3, "", "a", "text/plain", bytes.NewReader([]byte("x")))
	show("3 putatt no rev on missing doc", r, recording.ErrorCode(err), err)
	d, err := s.Get(ctx, acc, id3)
	show("3b get", d, err)
	r, err = s.PutAttachment(ctx, acc, base, "", "a", "text/plain", bytes.NewReader([]byte("x")))
	show("4 putatt no rev on existing doc", r, recording.ErrorCode(err), err)
	id5 := nid()
	r5, _ := s.PutRecording(ctx, acc, recording.Doc{"_id": id5})
	err = s.Delete(ctx, acc, id5, r5)
	show("5 delete", err)
	r, err = s.Save(ctx, acc, recording.Doc{"_id": id5})
	show("5 save after delete", r, err)
	err = s.Delete(ctx, acc, id5, r)
	r, err = s.PutRecording(ctx, acc, recording.Doc{"_id": id5})
	show("5 putrecording after 2nd delete", r, err)
	_, err = s.Save(ctx, acc, recording.Doc{"_id": base, "_rev": "garbage"})
	show("7 save malformed rev", recording.ErrorCode(err), err)
	err = s.Delete(ctx, acc, base, "garbage")
	show("8 delete malformed rev", recording.ErrorCode(err), err)
	err = s.Delete(ctx, acc, base, "1-0123456789abcdef0123456789abcdef")
	show("8b delete stale well-formed", recording.ErrorCode(err), err)
	res, err := s.SaveMany(ctx, acc, m, []recording.Doc{{"_id": "foo"}, {"_id": "_design/x"}, {"_id": "_bad"}, {"_id": "dup"}, {"_id": "dup"}})
	for _, x := range res {
		show("9 savemany", x.ID, " ", x.Rev, " ", recording.ErrorCode(x.Err), x.Err)
	}
	show("9 err", err)
	id10 := nid()
	r, err = s.PutRecording(ctx, acc, recording.Doc{"_id": id10, "_attachments": map[string]any{"a.txt": map[string]any{"content_type": "text/plain", "data": base64.StdEncoding.EncodeToString([]byte("hello"))}}})
	show("10 inline put", r, err)
	d, err = s.Get(ctx, acc, id10)
	b, _ := json.Marshal(d)
	show("10 get", string(b), err)
	// save with stubs kept
	r2, err := s.Save(ctx, acc, d)
	show("10 save with stubs", r2, err)
	d2, _ := s.Get(ctx, acc, id10)
	b, _ = json.Marshal(d2)
	show("10 get after", string(b))
	// missing stub
	d2["_attachments"].(map[string]any)["nope"] = map[string]any{"stub": true, "content_type": "x", "length": 1, "digest": "md5-xx"}
	_, err = s.Save(ctx, acc, d2)
	show("12 missing stub", recording.ErrorCode(err), err)
	delete(d2["_attachments"].(map[string]any), "nope")
	delete(d2, "_attachments")
	r, err = s.Save(ctx, acc, d2)
	show("13 save without _attachments", r, err)
	d3, _ := s.Get(ctx, acc, id10)
	b, _ = json.Marshal(d3)
	show("13 get", string(b))
	_, err = s.OpenAttachment(ctx, acc, id10, "a.txt", nil)
	show("13 open", recording.ErrorCode(err))
	_, err = s.Save(ctx, acc, recording.Doc{"_id": nid(), "_foo": 1})
	show("15 _foo", recording.ErrorCode(err), err)
	id16 := nid()
	r, _ = s.PutRecording(ctx, acc, recording.Doc{"_id": id16})
	r, err = s.PutAttachment(ctx, acc, id16, r, "a", "text/plain", bytes.NewReader([]byte("one")))
	r, err = s.PutAttachment(ctx, acc, id16, r, "b", "", bytes.NewReader([]byte("")))
	show("18 empty att", r, err)
	r, err = s.PutAttachment(ctx, acc, id16, r, "a", "text/x", bytes.NewReader([]byte("two!")))
	d, _ = s.Get(ctx, acc, id16)
	b, _ = json.Marshal(d)
	show("16 replaced", string(b))
	rc, err := s.OpenAttachment(ctx, acc, id16, "b", nil)
	if err == nil {
		bb, err := io.ReadAll(rc)
		show("18 read empty", len(bb), err)
	}
	rc, err = s.OpenAttachment(ctx, acc, id16, "a", &recording.Range{Start: 2, End: 10})
	show("20 open beyond", err)
	if err == nil {
		bb, err := io.ReadAll(rc)
		show("20 read beyond", string(bb), err)
	}
	rc, err = s.OpenAttachment(ctx, acc, id16, "a", &recording.Range{Start: 8, End: 10})
	show("20b open start beyond", recording.ErrorCode(err), err)
	gm, err := s.GetMany(ctx, acc, m, []string{"", "foo", "_design/x"})
	for _, x := range gm {
		show("11 getmany", x.ID, " ", x.Doc, " ", recording.ErrorCode(x.Err))
	}
	// save _deleted
	d, _ = s.Get(ctx, acc, base)
	d["_deleted"] = true
	r, err = s.Save(ctx, acc, d)
	show("21 save _deleted", r, err)
	_, err = s.Get(ctx, acc, base)
	show("21 get", recording.ErrorCode(err))
	r, err = s.Save(ctx, acc, recording.Doc{"_id": base, "_rev": r, "x": 1})
	show("22 save with tombstone rev", r, recording.ErrorCode(err), err)
	// PutUser with no _id
	s.PutAccount(ctx, recording.Doc{"_id": acc})
	err = s.PutUser(ctx, acc, recording.Doc{"name": "x"})
	show("23 putuser no id", recording.ErrorCode(err), err)
	// save with _rev on a doc that is tombstoned
	// savemany with deleted doc in batch and conflicting
	rr, err := s.SaveMany(ctx, acc, m, []recording.Doc{{"_id": nid(), "_rev": "1-abc"}})
	show("24 savemany rev on missing", recording.ErrorCode(rr[0].Err), rr[0].Err, err)
	rr, err = s.SaveMany(ctx, acc, m, []recording.Doc{})
	show("25 savemany empty", rr == nil, len(rr), err)
	gm, err = s.GetMany(ctx, acc, m, nil)
	show("25 getmany empty", gm == nil, len(gm), err)
	rows, err := s.Scan(ctx, acc, recording.Month{Year: 2020, Month: 1}, recording.ScanQuery{Limit: 3})
	show("26 scan missing", rows == nil, err)
	rows, err = s.Scan(ctx, acc, m, recording.ScanQuery{Limit: 3, From: 5, To: 6})
	show("26 scan empty", rows == nil, err)
	rr, err = s.SaveMany(ctx, acc, recording.Month{Year: 2020, Month: 1}, []recording.Doc{})
	show("27 savemany empty missing", rr == nil, len(rr), err)
	_, err = s.Save(ctx, acc, recording.Doc{"_id": nid(), "_attachments": map[string]any{"x": map[string]any{"stub": true}}})
	show("28 create with stub", recording.ErrorCode(err), err)
	_, err = s.Save(ctx, acc, recording.Doc{"_id": nid(), "_attachments": "bad"})
	show("29 bad _attachments", recording.ErrorCode(err), err)
	_, err = s.Save(ctx, acc, recording.Doc{"_id": nid(), "_revisions": map[string]any{"start": 1, "ids": []any{"abc"}}})
	show("30 _revisions", recording.ErrorCode(err), err)
}
