package storetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

func accountDocsOf(t *testing.T, s Backend) recording.AccountDocs {
	t.Helper()
	ad, ok := any(s).(recording.AccountDocs)
	if !ok {
		t.Fatalf("%T does not implement recording.AccountDocs", s)
	}
	return ad
}

// testOwnAccountDocs: the service's own documents in an account database, written only over
// their current revision into a database that must exist, and listed by id prefix.
func testOwnAccountDocs(t *testing.T, s Backend) {
	ctx := testContext(t)
	ad := accountDocsOf(t, s)
	account := NewAccountID()
	const prefix = "recording_webhook:"
	hook := prefix + "b"

	// No account database: writes are not found and create nothing, listings are empty.
	for range 2 { // a second try would conflict, or succeed, had the first created anything
		_, err := ad.SaveAccountDoc(ctx, account, recording.Doc{"_id": hook, "n": jsonInt(1)})
		wantCode(t, "SaveAccountDoc into a missing account database", err, recording.ENotFound)
	}
	_, err := s.AccountDoc(ctx, account, hook)
	wantCode(t, "AccountDoc after a write into a missing account database", err, recording.ENotFound)
	_, err = s.AccountDoc(ctx, account, account)
	wantCode(t, "AccountDoc of the account after a write into its missing database", err, recording.ENotFound)
	_, err = ad.SaveAccountDoc(ctx, "nope", recording.Doc{"_id": hook})
	wantCode(t, "SaveAccountDoc with a malformed account id", err, recording.ENotFound)
	for _, acct := range []string{account, "nope"} {
		if docs, err := ad.AccountDocsWithPrefix(ctx, acct, prefix, "", 10); err != nil || len(docs) != 0 {
			t.Fatalf("AccountDocsWithPrefix of missing account %q: %v, %v", acct, docs, err)
		}
	}

	if err := s.PutAccount(ctx, recording.Doc{"_id": account, "pvt_type": "account"}); err != nil {
		t.Fatal(err)
	}
	save := func(what string, doc recording.Doc) string {
		t.Helper()
		rev, err := ad.SaveAccountDoc(ctx, account, doc)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return rev
	}
	wantDoc := func(what, id, rev string, n int64) {
		t.Helper()
		doc, err := s.AccountDoc(ctx, account, id)
		if err != nil || doc.ID() != id || doc.Rev() != rev || doc["n"] != jsonInt(n) {
			t.Fatalf("%s: AccountDoc %s = %v, %v; want _rev %s, n %d", what, id, doc, err, rev, n)
		}
	}

	// Create, then update at the current revision only.
	rev1 := save("create", recording.Doc{"_id": hook, "n": jsonInt(1)})
	wantGeneration(t, "create", rev1, 1)
	wantDoc("after create", hook, rev1, 1)
	rev2 := save("update", recording.Doc{"_id": hook, "_rev": rev1, "n": jsonInt(2)})
	wantGeneration(t, "update", rev2, 2)
	wantDoc("after update", hook, rev2, 2)
	for _, c := range []struct {
		what string
		rev  any
	}{{"stale _rev", rev1}, {"no _rev", nil}, {"empty _rev", ""}} {
		doc := recording.Doc{"_id": hook, "n": jsonInt(3)}
		if c.rev != nil {
			doc["_rev"] = c.rev
		}
		_, err := ad.SaveAccountDoc(ctx, account, doc)
		wantCode(t, "write over a live document with "+c.what, err, recording.EConflict)
	}
	wantDoc("after conflicting writes", hook, rev2, 2)

	// CouchDB's own ids are not ours to write.
	for _, id := range []string{"", "_design/" + prefix, "_local/" + prefix} {
		_, err := ad.SaveAccountDoc(ctx, account, recording.Doc{"_id": id})
		wantCode(t, fmt.Sprintf("SaveAccountDoc of _id %q", id), err, recording.EInvalid)
	}

	// Removal at the current revision; the id can then be created again without _rev.
	_, err = ad.SaveAccountDoc(ctx, account, recording.Doc{"_id": hook, "_rev": rev1, "_deleted": true})
	wantCode(t, "removal at a stale revision", err, recording.EConflict)
	rev3 := save("removal", recording.Doc{"_id": hook, "_rev": rev2, "_deleted": true})
	wantGeneration(t, "removal", rev3, 3)
	_, err = s.AccountDoc(ctx, account, hook)
	wantCode(t, "AccountDoc after removal", err, recording.ENotFound)
	_, err = ad.SaveAccountDoc(ctx, account, recording.Doc{"_id": hook, "_rev": rev2, "n": jsonInt(4)})
	wantCode(t, "write over a removal with the revision before it", err, recording.EConflict)
	rev4 := save("create after removal", recording.Doc{"_id": hook, "n": jsonInt(4)})
	wantGeneration(t, "create after removal", rev4, 4)
	wantDoc("after create after removal", hook, rev4, 4)

	// Listing: only ids starting with the prefix (the prefix itself included), in byte order,
	// removed ones left out; neighbours on either side of the range are not listed.
	listed := []string{prefix, prefix + "a", hook, prefix + "c", prefix + "é", prefix + "😀"}
	revs := map[string]string{}
	for _, id := range append([]string{
		"recording_webhook", "recording_webhook;x", "recording_webhooks", "other:x", prefix + "d",
	}, listed...) {
		if id != hook {
			revs[id] = save("create "+id, recording.Doc{"_id": id, "n": jsonInt(int64(len(id)))})
		}
	}
	save("removal of "+prefix+"d", recording.Doc{"_id": prefix + "d", "_rev": revs[prefix+"d"], "_deleted": true})

	list := func(prefix, after string, limit int) ([]string, error) {
		docs, err := ad.AccountDocsWithPrefix(ctx, account, prefix, after, limit)
		if err != nil {
			return nil, fmt.Errorf("AccountDocsWithPrefix(%q, %q, %d): %v", prefix, after, limit, err)
		}
		var ids []string
		for _, d := range docs {
			if !revPattern.MatchString(d.Rev()) || d["n"] == nil {
				return nil, fmt.Errorf("AccountDocsWithPrefix: %v is not the whole document", d)
			}
			ids = append(ids, d.ID())
		}
		return ids, nil
	}
	all := strings.Join(listed, ",")
	for _, c := range []struct {
		prefix, after string
		limit         int
		want          string
	}{
		{prefix, "", 10, all},
		{prefix, "a", 10, all}, // after sorts before the prefix
		{prefix, prefix, 10, strings.Join(listed[1:], ",")},
		{prefix, hook, 10, strings.Join(listed[3:], ",")},
		{prefix, hook + "0", 10, strings.Join(listed[3:], ",")}, // after need not exist
		{prefix, prefix + "d", 2, prefix + "é," + prefix + "😀"}, // nor be live
		{prefix, prefix + "😀", 10, ""},
		{prefix, "z", 10, ""},
		{prefix, "", 2, prefix + "," + prefix + "a"},
		{prefix + "c", "", 10, prefix + "c"},
		{"recording_webhook", "", 3, "recording_webhook," + prefix + "," + prefix + "a"},
		{"recording_webhook;", "", 10, "recording_webhook;x"},
		{"nothing", "", 10, ""},
	} {
		settle(t, s, func() error {
			got, err := list(c.prefix, c.after, c.limit)
			if err == nil && strings.Join(got, ",") != c.want {
				err = fmt.Errorf("AccountDocsWithPrefix(%q, %q, %d) = %v, want %s", c.prefix, c.after, c.limit, got, c.want)
			}
			return err
		})
	}

	// Paging by the last id listed walks the whole range once.
	settle(t, s, func() error {
		var walked []string
		for after := ""; ; {
			page, err := list(prefix, after, 4)
			if err != nil {
				return err
			}
			if len(page) == 0 || len(walked) > len(listed) {
				break
			}
			walked = append(walked, page...)
			after = page[len(page)-1]
		}
		if got := strings.Join(walked, ","); got != all {
			return fmt.Errorf("paging by 4 listed %s, want %s", got, all)
		}
		return nil
	})

	for _, c := range []struct {
		what, prefix string
		limit        int
	}{{"an empty prefix", "", 10}, {"a prefix of CouchDB's own ids", "_design/", 10}, {"limit 0", prefix, 0}} {
		_, err := ad.AccountDocsWithPrefix(ctx, account, c.prefix, "", c.limit)
		wantCode(t, "AccountDocsWithPrefix with "+c.what, err, recording.EInvalid)
	}
}
