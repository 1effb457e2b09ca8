// Package demo writes a small, realistic Kazoo data set: a reseller, its child accounts, users,
// and recordings with real audio, spread over recent months. `recordingsd seed` and `make run`
// use it; benchmarks use it with bigger sizes.
package demo

import (
	"bytes"
	"context"
	"crypto/md5"
	"embed"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

//go:embed testdata/*.mp3
var audioFiles embed.FS

// demoBitrateKbps is the bit rate of the shipped MP3s (lame -b 24), which gives their length.
const demoBitrateKbps = 24

// audioNames are the shipped recordings, a few KB each.
var audioNames = []string{"demo-1.mp3", "demo-2.mp3", "demo-3.mp3"}

// Options sizes the data set.
type Options struct {
	Accounts             int       // child accounts under the reseller (default 1)
	RecordingsPerAccount int       // default 24
	Months               int       // recordings spread over this many months back from Anchor (default 3)
	Anchor               time.Time // "now" of the data set; fixed once so a re-run rewrites the same ids
	// AudioEvery attaches audio to one recording in N (default 1: all). Big benchmark sets
	// may attach less to keep seeding fast.
	AudioEvery int
}

func (o Options) withDefaults() Options {
	if o.Accounts <= 0 {
		o.Accounts = 1
	}
	if o.RecordingsPerAccount <= 0 {
		o.RecordingsPerAccount = 24
	}
	if o.Months <= 0 {
		o.Months = 3
	}
	if o.AudioEvery <= 0 {
		o.AudioEvery = 1
	}
	if o.Anchor.IsZero() {
		o.Anchor = time.Now()
	}
	o.Anchor = o.Anchor.UTC().Truncate(time.Second)
	return o
}

// Account is one seeded account with its users.
type Account struct {
	ID    string
	Users []string
}

// Result names what was written, for the console and the README.
type Result struct {
	ResellerID string
	Accounts   []Account
	Recordings int
	// SampleRecording has audio; SoftDeleted and KazooDeleted show the two kinds of deletion.
	SampleRecording string
	SoftDeleted     string
	KazooDeleted    string
}

// ResellerID is the demo reseller's fixed account id.
var ResellerID = stableID("reseller")

// AccountID is the fixed id of the i-th demo child account (from 0).
func AccountID(i int) string { return stableID("account-" + strconv.Itoa(i)) }

// UserID is the fixed id of the j-th user of an account.
func UserID(accountID string, j int) string { return stableID(accountID + "-user-" + strconv.Itoa(j)) }

func stableID(name string) string {
	sum := md5.Sum([]byte("recordingsd-demo-" + name))
	return hex.EncodeToString(sum[:])
}

// Backend is a store the demo data can be written to.
type Backend interface {
	recording.Store
	recording.Loader
}

// Seeded reports whether the demo reseller exists in the store.
func Seeded(ctx context.Context, s recording.Store) (bool, error) {
	_, err := s.Account(ctx, ResellerID)
	switch {
	case err == nil:
		return true, nil
	case recording.IsNotFound(err):
		return false, nil
	default:
		return false, err
	}
}

// Seed writes the data set. Ids derive from the options and an anchor time kept in the
// reseller's document, so running it again rewrites the same documents instead of adding more.
func Seed(ctx context.Context, l Backend, o Options) (Result, error) {
	if o.Anchor.IsZero() {
		if reseller, err := l.Account(ctx, ResellerID); err == nil {
			if g, ok := reseller.Int("pvt_demo_anchor"); ok {
				o.Anchor = recording.FromGregorian(g)
			}
		} else if !recording.IsNotFound(err) {
			return Result{}, fmt.Errorf("seed: read the demo reseller: %w", err)
		}
	}
	o = o.withDefaults()
	res := Result{ResellerID: ResellerID}
	reseller := accountDoc(ResellerID, "Demo Reseller", nil, o.Anchor)
	reseller["pvt_demo_anchor"] = recording.ToGregorian(o.Anchor)
	if err := l.PutAccount(ctx, reseller); err != nil {
		return res, fmt.Errorf("seed reseller: %w", err)
	}
	for i := 0; i < o.Accounts; i++ {
		acc := Account{ID: AccountID(i)}
		if err := l.PutAccount(ctx, accountDoc(acc.ID, fmt.Sprintf("Demo Customer %d", i+1), []any{ResellerID}, o.Anchor)); err != nil {
			return res, fmt.Errorf("seed account %s: %w", acc.ID, err)
		}
		for j, u := range demoUsers {
			id := UserID(acc.ID, j)
			if err := l.PutUser(ctx, acc.ID, userDoc(id, u, o.Anchor)); err != nil {
				return res, fmt.Errorf("seed user %s: %w", id, err)
			}
			acc.Users = append(acc.Users, id)
		}
		if err := seedRecordings(ctx, l, o, acc, &res); err != nil {
			return res, err
		}
		res.Accounts = append(res.Accounts, acc)
	}
	return res, nil
}

type person struct{ first, last, number string }

var demoUsers = []person{
	{"Ada", "Lovelace", "+14155550101"},
	{"Grace", "Hopper", "+14155550102"},
	{"Alan", "Turing", "+14155550103"},
}

var outsiders = []person{
	{"Margaret", "Hamilton", "+12125550199"},
	{"Katherine", "Johnson", "+13035550142"},
	{"Edsger", "Dijkstra", "+31205550177"},
	{"Barbara", "Liskov", "+16175550166"},
}

func seedRecordings(ctx context.Context, l recording.Loader, o Options, acc Account, res *Result) error {
	rng := rand.New(rand.NewPCG(1, uint64(len(acc.ID))+uint64(acc.ID[0])))
	span := time.Duration(o.Months) * 30 * 24 * time.Hour
	for k := 0; k < o.RecordingsPerAccount; k++ {
		// Spread evenly back from the anchor, with some jitter, newest first.
		step := span / time.Duration(o.RecordingsPerAccount)
		created := o.Anchor.Add(-time.Duration(k)*step - time.Duration(rng.Int64N(int64(step/2)+1)) - time.Minute)
		doc, audio := recordingDoc(rng, acc, k, created)
		switch {
		case k%10 == 3:
			doc["soft_delete"] = map[string]any{"deleted_at": recording.ToGregorian(created.Add(time.Hour)),
				"deleted_by": map[string]any{"account_id": acc.ID, "user_id": acc.Users[0]}}
			res.SoftDeleted = doc.ID()
		case k == 7:
			doc["pvt_deleted"] = true
			res.KazooDeleted = doc.ID()
		}
		rev, err := l.PutRecording(ctx, acc.ID, doc)
		if err != nil {
			return fmt.Errorf("seed recording %s: %w", doc.ID(), err)
		}
		if k%o.AudioEvery == 0 {
			if _, err := l.PutAttachment(ctx, acc.ID, doc.ID(), rev, doc.String("name"), "audio/mpeg", bytes.NewReader(audio)); err != nil {
				return fmt.Errorf("seed audio of %s: %w", doc.ID(), err)
			}
			if res.SampleRecording == "" && doc["soft_delete"] == nil && doc["pvt_deleted"] == nil {
				res.SampleRecording = doc.ID()
			}
		}
		res.Recordings++
	}
	return nil
}

// recordingDoc builds a call_recording with the fields Kazoo writes.
func recordingDoc(rng *rand.Rand, acc Account, k int, created time.Time) (recording.Doc, []byte) {
	idSum := md5.Sum([]byte(acc.ID + "-recording-" + strconv.Itoa(k)))
	hexID := hex.EncodeToString(idSum[:])
	id := recording.MonthOf(created).String() + "-" + hexID
	callID := hex.EncodeToString(idSum[8:]) + "@demo.pbx"
	audioName := audioNames[k%len(audioNames)]
	audio, _ := audioFiles.ReadFile("testdata/" + audioName)
	durationMS := int64(len(audio)) * 8 / demoBitrateKbps // the shipped files are constant-bitrate MP3s
	userIdx := k % (len(demoUsers) + 1)                   // one in four has no owner (e.g. a queue or a ring group)
	outsider := outsiders[rng.IntN(len(outsiders))]
	inbound := rng.IntN(2) == 0
	g := recording.ToGregorian(created)
	doc := recording.Doc{
		"_id":            id,
		"pvt_type":       recording.TypeCallRecording,
		"pvt_account_id": acc.ID,
		"pvt_account_db": encodedMonthDB(acc.ID, recording.MonthOf(created)),
		"pvt_created":    g,
		"pvt_modified":   g,
		"pvt_node":       "ecallmgr@demo.pbx",
		"call_id":        callID,
		"cdr_id":         recording.MonthOf(created).String() + "-" + callID,
		"content_type":   "audio/mpeg",
		"description":    "recording " + hexID + ".mp3",
		"duration":       durationMS / 1000,
		"duration_ms":    durationMS,
		"interaction_id": strconv.FormatInt(created.Unix(), 10) + "-" + hexID[:8],
		"media_source":   "recorded",
		"media_type":     "mp3",
		"name":           hexID + ".mp3",
		"source_type":    "kzc_recording",
		"start":          g - durationMS/1000,
		"custom_channel_vars": map[string]any{
			"Media-Recording-ID": id,
			"Account-ID":         acc.ID,
		},
	}
	var inside person
	if userIdx < len(demoUsers) {
		inside = demoUsers[userIdx]
		owner := acc.Users[userIdx]
		doc["owner_id"] = owner
		doc["custom_channel_vars"].(map[string]any)["Owner-ID"] = owner
	} else {
		inside = person{"Sales", "Queue", "+14155550100"}
	}
	caller, callee := outsider, inside
	direction, origin := "inbound", "inbound from offnet to user"
	if !inbound {
		caller, callee = inside, outsider
		direction, origin = "outbound", "outbound to offnet"
	}
	doc["direction"] = direction
	doc["origin"] = origin
	doc["caller_id_name"] = caller.first + " " + caller.last
	doc["caller_id_number"] = caller.number
	doc["callee_id_name"] = callee.first + " " + callee.last
	doc["callee_id_number"] = callee.number
	doc["from"] = caller.number + "@demo.pbx"
	doc["to"] = callee.number + "@demo.pbx"
	doc["request"] = callee.number + "@demo.pbx"
	return doc, audio
}

func accountDoc(id, name string, tree []any, now time.Time) recording.Doc {
	if tree == nil {
		tree = []any{}
	}
	g := recording.ToGregorian(now)
	return recording.Doc{
		"_id": id, "pvt_type": "account", "pvt_tree": tree, "pvt_enabled": true,
		"name": name, "realm": stableID(id)[:8] + ".demo.pbx", "pvt_created": g, "pvt_modified": g,
	}
}

func userDoc(id string, p person, now time.Time) recording.Doc {
	g := recording.ToGregorian(now)
	priv := "user"
	if p == demoUsers[0] {
		priv = "admin"
	}
	return recording.Doc{
		"_id": id, "pvt_type": "user", "first_name": p.first, "last_name": p.last,
		"username": p.first + "@demo.pbx", "priv_level": priv, "pvt_created": g, "pvt_modified": g,
	}
}

func encodedMonthDB(accountID string, m recording.Month) string {
	return "account%2F" + accountID[0:2] + "%2F" + accountID[2:4] + "%2F" + accountID[4:] + "-" + m.String()
}
