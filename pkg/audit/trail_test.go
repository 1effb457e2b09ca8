package audit_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/internal/testnet"
	"github.com/recordingsd/recordingsd/pkg/audit"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
)

// What a request records comes back whole, by recording and month after month, each chain
// linked from seq 1 and listed in the account's catalogue.
func TestTrailRecordsAndReadsBack(t *testing.T) {
	forEachStore(t, func(t *testing.T, s recording.StateDocs, _ func() recording.StateDocs) {
		ctx := context.Background()
		acct := couchtest.NewAccountID()
		rec1 := recording.NewRecordingID(at(jan, 2, 9, 0), couchtest.NewAccountID())
		rec2 := recording.NewRecordingID(at(jan, 3, 9, 0), couchtest.NewAccountID())
		alice := audit.Actor{AccountID: acct, UserID: "u-alice", Credential: "kazoo_jwt", KeyID: "k1"}
		bob := audit.Actor{AccountID: acct, UserID: "u-bob", Credential: "basic"}
		trail, obs := startTrail(t, s, fastConfig)

		trail.Record(audit.Entry{At: at(jan, 10, 8, 0).Add(1234567 * time.Microsecond), AccountID: acct, Actor: alice,
			ClientIP: "192.0.2.7", Action: audit.AudioRead, RecordingID: rec1, Status: 206, Bytes: 4096, RequestID: "req-1"})
		trail.Record(audit.Entry{At: at(jan, 10, 8, 1), AccountID: acct, Actor: bob, Action: audit.RecordingsList,
			Status: 200, Count: 2, Filters: map[string]string{"created_from": "63871000000", "owner_id": "u-alice"}, RequestID: "req-2"})
		trail.Record(audit.Entry{At: at(feb, 1, 0, 0), AccountID: acct, Actor: bob, Action: audit.RecordingHold,
			RecordingID: rec1, Status: 200, Detail: map[string]any{"reason": "case 42 <litigation> & more"}, RequestID: "req-3"})
		trail.Record(audit.Entry{At: at(feb, 2, 0, 0), AccountID: acct, Actor: alice, Action: audit.RecordingRead,
			RecordingID: rec2, Status: 200, RequestID: "req-4"})
		trail.Record(audit.Entry{At: at(feb, 3, 0, 0), AccountID: acct, Actor: alice, Action: audit.RecordingErase,
			RecordingID: rec1, Status: 200, RequestID: "req-5",
			Detail: map[string]any{"media": []any{"s3://bucket/a.mp3", "https://media.example/b.mp3"}, "attempts": 2, "ratio": 0.5}})
		closeTrail(t, trail)
		if written, lost := obs.counts(); written != 5 || len(lost) != 0 {
			t.Fatalf("written %d, lost %v; want 5 and none", written, lost)
		}

		months, err := audit.Months(ctx, s, acct)
		if err != nil || !slices.Equal(months, []recording.Month{jan, feb}) {
			t.Fatalf("months = %v, %v; want [202401 202402]", months, err)
		}
		if r := verifyOK(t, s, acct, jan); r.Entries != 2 || r.HeadSeq != 2 {
			t.Errorf("january: %d entries, head %d; want 2, 2", r.Entries, r.HeadSeq)
		}
		if r := verifyOK(t, s, acct, feb); r.Entries != 3 || r.HeadSeq != 3 {
			t.Errorf("february: %d entries, head %d; want 3, 3", r.Entries, r.HeadSeq)
		}

		got, err := audit.RecordingEntries(ctx, s, acct, rec1, feb)
		if err != nil {
			t.Fatal(err)
		}
		if ids := requestIDs(got); !slices.Equal(ids, []string{"req-1", "req-3", "req-5"}) {
			t.Fatalf("entries of %s: %v, want req-1, req-3, req-5", rec1, ids)
		}
		first := got[0]
		if first.Seq != 1 || first.Prev != "" || len(first.Hash) != 64 || first.Actor != alice || first.ClientIP != "192.0.2.7" ||
			first.Status != 206 || first.Bytes != 4096 || !first.At.Equal(at(jan, 10, 8, 0).Add(1234*time.Millisecond)) {
			t.Errorf("first entry read back as %+v", first)
		}
		if hold := got[1]; hold.Seq != 1 || hold.Prev != "" || hold.Detail["reason"] != "case 42 <litigation> & more" {
			t.Errorf("the hold, february's first entry: %+v", hold)
		}
		if erase := got[2]; erase.Seq != 3 || fmt.Sprint(erase.Detail["media"]) != "[s3://bucket/a.mp3 https://media.example/b.mp3]" {
			t.Errorf("the erasure: %+v", erase)
		}
		if only, err := audit.RecordingEntries(ctx, s, acct, rec1, jan); err != nil || len(only) != 1 {
			t.Errorf("entries of %s until january: %d, %v; want 1", rec1, len(only), err)
		}
		if other, err := audit.RecordingEntries(ctx, s, acct, rec2, feb); err != nil || !slices.Equal(requestIDs(other), []string{"req-4"}) {
			t.Errorf("entries of %s: %v, %v; want req-4", rec2, requestIDs(other), err)
		}
	})
}

func requestIDs(entries []audit.Entry) []string {
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.RequestID
	}
	return ids
}

// Two instances writing one account's month at once make one chain: seqs 1…n, each entry
// exactly once, every link and the head in place.
func TestTwoInstancesMakeOneChain(t *testing.T) {
	forEachStore(t, func(t *testing.T, s recording.StateDocs, another func() recording.StateDocs) {
		acct := couchtest.NewAccountID()
		cfg := fastConfig
		cfg.FlushInterval, cfg.BatchSize = time.Millisecond, 7
		trails := []*audit.Trail{}
		for _, store := range []recording.StateDocs{s, another()} {
			trail, _ := startTrail(t, store, cfg)
			trails = append(trails, trail)
		}
		const perWriter = 150
		var wg sync.WaitGroup
		for i, trail := range trails {
			for w := range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n := range perWriter {
						trail.Record(audit.Entry{At: at(jan, 5, 12, 0), AccountID: acct, Actor: audit.Actor{Credential: "static"},
							Action: audit.RecordingRead, RequestID: fmt.Sprintf("i%d-w%d-%03d", i, w, n)})
						if n%10 == 0 {
							time.Sleep(time.Millisecond) // let flushes interleave
						}
					}
				}()
			}
		}
		wg.Wait()
		for _, trail := range trails {
			closeTrail(t, trail)
		}

		const total = 2 * 3 * perWriter
		r := verifyOK(t, s, acct, jan)
		if r.Entries != total || r.HeadSeq != total {
			t.Fatalf("%d entries, head at %d; want %d", r.Entries, r.HeadSeq, total)
		}
		page, err := audit.AccountEntries(context.Background(), s, audit.Query{AccountID: acct, Limit: audit.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for i, e := range page.Entries {
			if e.Seq != int64(i+1) {
				t.Fatalf("entry %d has seq %d", i+1, e.Seq)
			}
			seen[e.RequestID]++
		}
		if len(seen) != total {
			t.Fatalf("%d distinct entries, want %d", len(seen), total)
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("%s written %d times", id, n)
			}
		}
	})
}

// Close writes everything recorded before it, even while many goroutines keep recording:
// what is stored is exactly what was recorded minus what came after Close (counted).
func TestCloseUnderLoadLosesNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, s recording.StateDocs, _ func() recording.StateDocs) {
		accounts := []string{couchtest.NewAccountID(), couchtest.NewAccountID(), couchtest.NewAccountID()}
		cfg := fastConfig
		cfg.FlushInterval = time.Hour // only full batches and Close write
		trail, obs := startTrail(t, s, cfg)
		const goroutines, each = 16, 300
		var recorded sync.WaitGroup
		for g := range goroutines {
			recorded.Add(1)
			go func() {
				defer recorded.Done()
				rec := recording.NewRecordingID(at(jan, 1, 0, 0), fmt.Sprintf("%032x", g))
				for n := range each {
					trail.Record(audit.Entry{At: at(jan, 20, 10, 0), AccountID: accounts[g%len(accounts)],
						Actor: audit.Actor{Credential: "static"}, Action: audit.AudioRead, RecordingID: rec, Bytes: int64(n)})
				}
			}()
		}
		time.Sleep(20 * time.Millisecond) // Close while they record
		closeTrail(t, trail)
		recorded.Wait()

		written, lost := obs.counts()
		if len(lost) > 1 || written+lost[audit.LostClosed] != goroutines*each {
			t.Fatalf("%d recorded: %d written, lost %v; want only those recorded after Close lost", goroutines*each, written, lost)
		}
		stored := 0
		for _, acct := range accounts {
			stored += verifyOK(t, s, acct, jan).Entries
		}
		if stored != written {
			t.Fatalf("%d entries stored, %d written", stored, written)
		}
		t.Logf("%d recorded before Close and stored, %d after it (refused)", written, lost[audit.LostClosed])
	})
}

// A full buffer drops what comes next; a Close whose context ends drops what is left. Both
// are counted, and Close says so.
func TestBufferFullAndCloseDeadline(t *testing.T) {
	s, err := couch.New(couch.Config{URL: "http://" + testnet.RefusedAddr(t), RequestTimeout: time.Second}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cfg := audit.Config{FlushInterval: time.Hour, BatchSize: 10, Buffer: 10, Attempts: 5, RetryWait: time.Hour}
	trail, obs := startTrail(t, s, cfg)
	obs.mu.Lock()
	obs.buffered = -1
	obs.mu.Unlock()
	acct := couchtest.NewAccountID()
	record := func(n int) {
		for range n {
			trail.Record(audit.Entry{AccountID: acct, Actor: audit.Actor{Credential: "static"}, Action: audit.AudioRead})
		}
	}
	record(10) // a full batch: the flusher takes it and keeps retrying it
	waitFor(t, "the batch taken", func() bool { obs.mu.Lock(); defer obs.mu.Unlock(); return obs.buffered == 0 })
	record(15) // 10 fit
	if _, lost := obs.counts(); lost[audit.LostBufferFull] != 5 {
		t.Fatalf("lost %v, want 5 buffer_full", lost)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := trail.Close(ctx); err == nil {
		t.Fatal("Close returned nil with 20 entries unwritten")
	}
	if written, lost := obs.counts(); written != 0 || lost[audit.LostShutdown] != 20 || lost[audit.LostBufferFull] != 5 {
		t.Fatalf("written %d, lost %v; want 20 shutdown, 5 buffer_full", written, lost)
	}
}

// With the store unreachable, entries are lost after their attempts, counted, and the
// trail reports itself unhealthy.
func TestUnreachableStore(t *testing.T) {
	s, err := couch.New(couch.Config{URL: "http://" + testnet.RefusedAddr(t), RequestTimeout: time.Second}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cfg := fastConfig
	cfg.Attempts = 3
	trail, obs := startTrail(t, s, cfg)
	if !trail.Healthy() {
		t.Fatal("unhealthy before any write")
	}
	acct := couchtest.NewAccountID()
	for range 10 {
		trail.Record(audit.Entry{AccountID: acct, Actor: audit.Actor{Credential: "static"}, Action: audit.AudioRead})
	}
	waitFor(t, "10 entries lost", func() bool { _, lost := obs.counts(); return lost[audit.LostWriteFailed] == 10 })
	if trail.Healthy() {
		t.Error("healthy with every write failing")
	}
	if written, lost := obs.counts(); written != 0 || len(lost) != 1 {
		t.Errorf("written %d, lost %v", written, lost)
	}
	if err := trail.Close(context.Background()); err != nil {
		t.Errorf("close with nothing left to write: %v", err)
	}
}

// When the store comes back the trail is healthy again, without waiting for a request to
// record, and writes; entries lost meanwhile left no gap (nothing was claimed).
func TestStoreOutageAndRecovery(t *testing.T) {
	srv := couchtest.StartServer(t)
	s, err := couch.New(couch.Config{URL: srv.URL(), RequestTimeout: 2 * time.Second}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cfg := fastConfig
	cfg.Attempts = 2
	trail, obs := startTrail(t, s, cfg)
	acct := couchtest.NewAccountID()
	record := func(id string) {
		trail.Record(audit.Entry{AccountID: acct, Actor: audit.Actor{Credential: "static"}, Action: audit.RecordingRead, RequestID: id})
	}
	record("before")
	waitFor(t, "the first entry written", func() bool { w, _ := obs.counts(); return w == 1 })

	srv.Stop()
	record("during")
	waitFor(t, "the entry recorded during the outage lost", func() bool { _, lost := obs.counts(); return lost[audit.LostWriteFailed] == 1 })
	if trail.Healthy() {
		t.Fatal("healthy while the store is down")
	}
	srv.Start()
	waitFor(t, "healthy again", trail.Healthy)
	record("after")
	closeTrail(t, trail)

	m := recording.MonthOf(time.Now())
	page, err := audit.AccountEntries(context.Background(), s, audit.Query{AccountID: acct, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if ids := requestIDs(page.Entries); !slices.Equal(ids, []string{"before", "after"}) {
		t.Fatalf("stored %v, want before and after", ids)
	}
	verifyOK(t, s, acct, m)
}

// Entries that cannot be filed are refused at Record, counted as invalid.
func TestRecordRefusesEntriesWithoutAccountOrAction(t *testing.T) {
	forEachStore(t, func(t *testing.T, s recording.StateDocs, _ func() recording.StateDocs) {
		trail, obs := startTrail(t, s, fastConfig)
		trail.Record(audit.Entry{AccountID: "not-an-account", Action: audit.AudioRead})
		trail.Record(audit.Entry{AccountID: couchtest.NewAccountID()})
		closeTrail(t, trail)
		if written, lost := obs.counts(); written != 0 || lost[audit.LostInvalid] != 2 {
			t.Fatalf("written %d, lost %v; want 2 invalid", written, lost)
		}
	})
}
