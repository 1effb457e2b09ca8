package api_test

import (
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

func g(t time.Time) string { return strconv.FormatInt(recording.ToGregorian(t), 10) }

// GET /v2/accounts/{ACCOUNT_ID}/recordings lists the last 31 days, oldest first, 50 per page.
func TestListRecordings(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		f := newFixture(t, open)
		older := f.addRecording(rec{created: f.now.Add(-3 * time.Hour), audio: []byte("ID3 audio"), owner: f.user})
		newer := f.addRecording(rec{created: f.now.Add(-1 * time.Hour)})
		f.addRecording(rec{created: f.now.Add(-40 * 24 * time.Hour)}) // outside the default window

		r := f.call("GET", f.base()+"/recordings", tokenAccount, nil)
		if r.status != 200 || r.env["status"] != "success" {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		items := r.dataList(t)
		if got := ids(t, items); !reflect.DeepEqual(got, []string{older, newer}) {
			t.Fatalf("ids = %v, want oldest first %v", got, []string{older, newer})
		}
		first := items[0].(map[string]any)
		for k := range first {
			if strings.HasPrefix(k, "pvt_") || (strings.HasPrefix(k, "_") && k != "_read_only") {
				t.Errorf("item exposes private field %q", k)
			}
		}
		if ro := first["_read_only"].(map[string]any); !reflect.DeepEqual(ro["content_types"], []any{"audio/mpeg"}) {
			t.Errorf("_read_only = %v, want content_types [audio/mpeg]", ro)
		}
		if ro := items[1].(map[string]any)["_read_only"].(map[string]any); !reflect.DeepEqual(ro["content_types"], []any{}) {
			t.Errorf("recording without audio: _read_only = %v, want content_types []", ro)
		}
		if r.env["page_size"] != float64(2) {
			t.Errorf("page_size = %v, want 2 (items returned)", r.env["page_size"])
		}
		if _, ok := r.env["next_start_key"]; ok {
			t.Errorf("next_start_key on the last page: %v", r.env["next_start_key"])
		}
		for _, k := range []string{"request_id", "timestamp", "version", "node", "auth_token", "revision"} {
			if _, ok := r.env[k]; !ok {
				t.Errorf("envelope lacks %q: %s", k, r.body)
			}
		}

		desc := f.call("GET", f.base()+"/recordings?descending=true", tokenAccount, nil)
		if got := ids(t, desc.dataList(t)); !reflect.DeepEqual(got, []string{newer, older}) {
			t.Errorf("descending=true ids = %v", got)
		}
		asc := f.call("GET", f.base()+"/recordings?ascending=false", tokenAccount, nil)
		if got := ids(t, asc.dataList(t)); !reflect.DeepEqual(got, []string{newer, older}) {
			t.Errorf("ascending=false ids = %v", got)
		}
	})
}

// Soft-deleted recordings are hidden unless ?include=soft_delete; pvt_deleted ones always.
func TestListHidesDeleted(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		f := newFixture(t, open)
		live := f.addRecording(rec{created: f.now.Add(-3 * time.Hour)})
		soft := f.addRecording(rec{created: f.now.Add(-2 * time.Hour), fields: recording.Doc{"soft_delete": map[string]any{"deleted_at": 1}}})
		f.addRecording(rec{created: f.now.Add(-1 * time.Hour), fields: recording.Doc{"pvt_deleted": true}})

		tests := []struct {
			query string
			want  []string
		}{
			{"", []string{live}},
			{"?include=soft_delete", []string{live, soft}},
		}
		for _, tt := range tests {
			r := f.call("GET", f.base()+"/recordings"+tt.query, tokenAccount, nil)
			if got := ids(t, r.dataList(t)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("GET /recordings%s = %v, want %v", tt.query, got, tt.want)
			}
		}
	})
}

// Pages follow next_start_key across month databases without skipping or repeating, also
// for recordings whose month database differs from their pvt_created month.
func TestListPagesAcrossMonths(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		f := newFixture(t, open)
		from := time.Date(2026, 1, 30, 0, 0, 0, 0, time.UTC)
		to := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		var want []string
		add := func(created time.Time, month string) {
			want = append(want, f.addRecording(rec{created: created, month: month}))
		}
		for i := 0; i < 6; i++ {
			add(from.Add(time.Duration(i)*time.Hour), "")           // January
			add(time.Date(2026, 2, 10+i, 0, 0, 0, 0, time.UTC), "") // February
			add(time.Date(2026, 3, 1, i, 0, 0, 0, time.UTC), "")    // March
		}
		add(time.Date(2026, 2, 1, 0, 30, 0, 0, time.UTC), "202601") // saved after midnight, id from January
		boundary := want[len(want)-1]
		add(time.Date(2026, 2, 28, 22, 0, 0, 0, time.UTC), "202603") // a time zone ahead of UTC
		f.addRecording(rec{created: to.Add(time.Hour)})              // just outside the window

		// A window inside February still finds the recording kept in January's database.
		early := url.Values{"created_from": {g(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))}, "created_to": {g(time.Date(2026, 2, 1, 6, 0, 0, 0, time.UTC))}}
		if got := ids(t, f.call("GET", f.base()+"/recordings?"+early.Encode(), tokenAccount, nil).dataList(t)); !reflect.DeepEqual(got, []string{boundary}) {
			t.Errorf("window at the start of February = %v, want the January-database recording %s", got, boundary)
		}

		for _, desc := range []bool{false, true} {
			q := url.Values{"created_from": {g(from)}, "created_to": {g(to)}, "page_size": {"4"}}
			if desc {
				q.Set("descending", "true")
			}
			var got []string
			var lastCreated []float64
			for page := 0; ; page++ {
				if page > 20 {
					t.Fatal("paging does not end")
				}
				r := f.call("GET", f.base()+"/recordings?"+q.Encode(), tokenAccount, nil)
				if r.status != 200 {
					t.Fatalf("page %d: %d %s", page, r.status, r.body)
				}
				items := r.dataList(t)
				for _, it := range items {
					got = append(got, it.(map[string]any)["id"].(string))
					lastCreated = append(lastCreated, it.(map[string]any)["start"].(float64))
				}
				next, ok := r.env["next_start_key"].(string)
				if !ok {
					break
				}
				if len(items) != 4 {
					t.Fatalf("page %d has %d items but a next_start_key", page, len(items))
				}
				q.Set("start_key", next)
			}
			if len(got) != len(want) {
				t.Fatalf("descending=%v: paged through %d recordings, want %d", desc, len(got), len(want))
			}
			seen := map[string]bool{}
			for _, id := range got {
				if seen[id] {
					t.Fatalf("descending=%v: %s listed twice", desc, id)
				}
				seen[id] = true
			}
			for _, id := range want {
				if !seen[id] {
					t.Fatalf("descending=%v: %s never listed", desc, id)
				}
			}
			if !sort.SliceIsSorted(lastCreated, func(i, j int) bool {
				if desc {
					return lastCreated[i] > lastCreated[j]
				}
				return lastCreated[i] < lastCreated[j]
			}) {
				t.Errorf("descending=%v: not in time order: %v", desc, lastCreated)
			}
		}
	})
}

// GET /v2/accounts/{ACCOUNT_ID}/users/{USER_ID}/recordings lists that user's recordings only.
func TestListUserRecordings(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		f := newFixture(t, open)
		mine := f.addRecording(rec{owner: f.user, created: f.now.Add(-2 * time.Hour)})
		f.addRecording(rec{owner: randHex(16), created: f.now.Add(-time.Hour)})
		f.addRecording(rec{created: f.now.Add(-time.Hour)})

		r := f.call("GET", f.base()+"/users/"+f.user+"/recordings", tokenAccount, nil)
		if got := ids(t, r.dataList(t)); !reflect.DeepEqual(got, []string{mine}) {
			t.Fatalf("user listing = %v, want %v", got, []string{mine})
		}
		missing := randHex(16)
		expectError(t, f.call("GET", f.base()+"/users/"+missing+"/recordings", tokenAccount, nil), 404, "bad_identifier")
	})
}

// Kazoo's query-string filters apply, and filtered pages are still filled to page_size.
func TestListFilters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		f := newFixture(t, open)
		var outbound []string
		for i := 0; i < 9; i++ {
			dir := "inbound"
			if i%3 == 0 {
				dir = "outbound"
			}
			id := f.addRecording(rec{created: f.now.Add(-time.Duration(10-i) * time.Minute), fields: recording.Doc{"direction": dir}})
			if dir == "outbound" {
				outbound = append(outbound, id)
			}
		}
		r := f.call("GET", f.base()+"/recordings?filter_direction=outbound&page_size=2", tokenAccount, nil)
		if got := ids(t, r.dataList(t)); !reflect.DeepEqual(got, outbound[:2]) {
			t.Fatalf("filtered page = %v, want %v", got, outbound[:2])
		}
		next, _ := r.env["next_start_key"].(string)
		r = f.call("GET", f.base()+"/recordings?filter_direction=outbound&page_size=2&start_key="+url.QueryEscape(next), tokenAccount, nil)
		if got := ids(t, r.dataList(t)); !reflect.DeepEqual(got, outbound[2:]) {
			t.Fatalf("second filtered page = %v, want %v", got, outbound[2:])
		}
		if _, ok := r.env["next_start_key"]; ok {
			t.Errorf("last filtered page has a next_start_key")
		}
		r = f.call("GET", f.base()+"/recordings?filter_not_direction=outbound", tokenAccount, nil)
		if n := len(r.dataList(t)); n != 6 {
			t.Errorf("filter_not_direction=outbound gave %d items, want 6", n)
		}
	})
}

// paginate=false streams every match of the window in one document.
func TestListUnpaginated(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		f := newFixture(t, open)
		var want []string
		for i := 0; i < 7; i++ {
			want = append(want, f.addRecording(rec{created: f.now.Add(-time.Duration(10-i) * time.Minute)}))
		}
		r := f.call("GET", f.base()+"/recordings?paginate=false&page_size=2", tokenAccount, nil)
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if got := ids(t, r.dataList(t)); !reflect.DeepEqual(got, want) {
			t.Fatalf("paginate=false = %v, want %v", got, want)
		}
		for _, k := range []string{"page_size", "next_start_key", "start_key"} {
			if _, ok := r.env[k]; ok {
				t.Errorf("unpaginated listing has %q", k)
			}
		}
		if r.env["status"] != "success" || r.env["request_id"] == "" {
			t.Errorf("envelope incomplete: %s", r.body)
		}
	})
}

// Invalid listing parameters are 400s that name the parameter.
func TestListValidation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		f := newFixture(t, open)
		now := recording.ToGregorian(f.now)
		userKey := func() string {
			f.addRecording(rec{owner: f.user, created: f.now.Add(-2 * time.Hour)})
			f.addRecording(rec{owner: f.user, created: f.now.Add(-time.Hour)})
			r := f.call("GET", f.base()+"/users/"+f.user+"/recordings?page_size=1", tokenAccount, nil)
			k, _ := r.env["next_start_key"].(string)
			if k == "" {
				t.Fatalf("no next_start_key: %s", r.body)
			}
			return k
		}()
		tests := []struct {
			name, query, field string
		}{
			{"to before from", "created_from=" + itoa(now) + "&created_to=" + itoa(now-10), "created_from"},
			{"window too wide", "created_from=" + itoa(now-2682001) + "&created_to=" + itoa(now), "created_from"},
			{"from not a number", "created_from=yesterday", "created_from"},
			{"page_size zero", "page_size=0", "page_size"},
			{"page_size text", "page_size=ten", "page_size"},
			{"page_size above max", "page_size=1001", "page_size"},
			{"forged start_key", "start_key=bm90LWEta2V5", "start_key"},
			{"start_key of another listing", "start_key=" + url.QueryEscape(userKey), "start_key"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := f.call("GET", f.base()+"/recordings?"+tt.query, tokenAccount, nil)
				expectError(t, r, 400, "validation error")
				if _, ok := r.dataMap(t)[tt.field]; !ok {
					t.Errorf("error data does not name %q: %s", tt.field, r.body)
				}
			})
		}
		r := f.call("GET", f.base()+"/recordings?created_from="+itoa(now)+"&created_to="+itoa(now-10), tokenAccount, nil)
		dr := r.dataMap(t)["created_from"].(map[string]any)["date_range"].(map[string]any)
		if msg := dr["message"].(string); !strings.Contains(msg, "is prior to created_from") {
			t.Errorf("date_range message = %q", msg)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
