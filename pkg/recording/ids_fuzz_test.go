package recording

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseRecordingID: whatever the id, ParseRecordingID does not panic, and an id it accepts
// stays inside its month database: YYYYMM- then 1 to 248 characters of [A-Za-z0-9@._~-], a
// real month, so no "/", "%", "_design…" or "_all_docs" can ever reach a database path.
func FuzzParseRecordingID(f *testing.F) {
	for _, id := range []string{
		"202611-0123456789abcdef0123456789abcdef", "197001-x", "209912-~@._-", "202613-abc", "202600-abc",
		"196912-abc", "202611-", "202611-a/b", "202611-a%2Fb", "202611-..", "202611-../_all_docs", "_design/recordings",
		"_all_docs", "202611_abc", "2026-11-abc", "２０２６１１-abc", "202611-ä", "202611-a\x00", "202611-a b",
		"999912-" + strings.Repeat("z", MaxRecordingIDLength-7), "999912-" + strings.Repeat("z", MaxRecordingIDLength-6),
	} {
		f.Add(id)
	}
	f.Fuzz(func(t *testing.T, id string) {
		m, ok := ParseRecordingID(id)
		if !ok {
			if m != (Month{}) {
				t.Fatalf("ParseRecordingID(%q) refused the id but returned month %v", id, m)
			}
			return
		}
		switch {
		case len(id) < 8 || len(id) > MaxRecordingIDLength:
			t.Fatalf("accepted %q of length %d", id, len(id))
		case m.String() != id[:6] || id[6] != '-':
			t.Fatalf("accepted %q as month %v", id, m)
		case m.Month < 1 || m.Month > 12 || m.Year < 1970 || m.Year > 9999:
			t.Fatalf("accepted %q with month %v", id, m)
		case !utf8.ValidString(id) || strings.ContainsAny(id, "/%\\?#:\"' \x00") || strings.HasPrefix(id[7:], "_design"):
			t.Fatalf("accepted %q, which could leave its database", id)
		}
		for _, c := range id[7:] {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("@._~-", c)) {
				t.Fatalf("accepted %q with %q", id, c)
			}
		}
		// The id names the same database as NewRecordingID does for its month.
		if again, ok := ParseRecordingID(NewRecordingID(m.Start(), id[7:])); !ok || again != m {
			t.Fatalf("NewRecordingID(%v, %q) parses to %v, %v", m.Start(), id[7:], again, ok)
		}
		if db := MonthDBName(strings.Repeat("0", 32), m); db != "account/00/00/0000000000000000000000000000-"+id[:6] {
			t.Fatalf("month database of %q: %s", id, db)
		}
	})
}

// FuzzValidAccountID: ValidAccountID accepts exactly 32 lower-case hex characters, and the
// account's database names then have the account/xx/yy/rest shape and nothing else.
func FuzzValidAccountID(f *testing.F) {
	for _, id := range []string{
		"0123456789abcdef0123456789abcdef", "0123456789ABCDEF0123456789ABCDEF", "0123456789abcdef0123456789abcde",
		"0123456789abcdef0123456789abcdef0", "../../_all_dbs/0123456789abcdef", "0123456789abcdef0123456789abcde/",
		"0123456789abcdef0123456789abcdeg", "", "_users", "0123456789abcdef0123456789abcd\u00e9",
	} {
		f.Add(id)
	}
	f.Fuzz(func(t *testing.T, id string) {
		want := len(id) == 32 && strings.Trim(id, "0123456789abcdef") == ""
		if got := ValidAccountID(id); got != want {
			t.Fatalf("ValidAccountID(%q) = %v, want %v", id, got, want)
		}
		if ValidUserID(id) != want {
			t.Fatalf("ValidUserID(%q) = %v, want %v", id, !want, want)
		}
		if !want {
			return
		}
		db := AccountDBName(id)
		if db != "account/"+id[:2]+"/"+id[2:4]+"/"+id[4:] || strings.Count(db, "/") != 3 {
			t.Fatalf("AccountDBName(%q) = %q", id, db)
		}
		if mdb := MonthDBName(id, Month{Year: 2026, Month: 11}); mdb != db+"-202611" {
			t.Fatalf("MonthDBName(%q) = %q", id, mdb)
		}
	})
}
