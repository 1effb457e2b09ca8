package recording_test

import (
	"testing"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

func TestParseMonthDB(t *testing.T) {
	const acc = "0123456789abcdef0123456789abcdef"
	want := recording.MonthDB{AccountID: acc, Month: recording.Month{Year: 2024, Month: 11}}
	for _, name := range []string{
		"account/01/23/456789abcdef0123456789abcdef-202411",       // CouchDB
		"account0123456789abcdef0123456789abcdef-202411",          // pouchdb-server's listing
		"account%2F01%2F23%2F456789abcdef0123456789abcdef-202411", // encoded
	} {
		got, ok := recording.ParseMonthDB(name)
		if !ok || got != want {
			t.Errorf("ParseMonthDB(%q) = %+v, %v; want %+v", name, got, ok, want)
		}
		if ok && got.Name() != "account/01/23/456789abcdef0123456789abcdef-202411" {
			t.Errorf("Name() = %q", got.Name())
		}
	}
	for _, name := range []string{
		"account/01/23/456789abcdef0123456789abcdef",        // the account database itself
		"account/01/23/456789abcdef0123456789abcdef-202413", // month 13
		"account/01/23/456789abcdef0123456789abcdef-202400", // month 0
		"account/01/23/456789abcdef0123456789abcdeF-202411", // upper case
		"account/01/23/456789abcdef0123456789abcde-202411",  // short id
		"account/01/23/456789abcdef0123456789abcdef-2024 1", // space
		"account/01/23/456789abcdef0123456789abcdef-+02411", // sign
		"account/0123/456789abcdef0123456789abcdef-202411",  // misplaced slash
		"accounts", "system_auth", "_users", "", "account/", "account",
	} {
		if got, ok := recording.ParseMonthDB(name); ok {
			t.Errorf("ParseMonthDB(%q) = %+v, want refused", name, got)
		}
	}
}

func TestMonthDBOrderIsNameOrder(t *testing.T) {
	a := recording.MonthDB{AccountID: "00000000000000000000000000000001", Month: recording.Month{Year: 2024, Month: 12}}
	b := recording.MonthDB{AccountID: "00000000000000000000000000000002", Month: recording.Month{Year: 2023, Month: 1}}
	c := recording.MonthDB{AccountID: "00000000000000000000000000000002", Month: recording.Month{Year: 2023, Month: 2}}
	for _, pair := range [][2]recording.MonthDB{{a, b}, {b, c}, {a, c}} {
		if !pair[0].Less(pair[1]) || pair[1].Less(pair[0]) || !(pair[0].Name() < pair[1].Name()) {
			t.Errorf("%s and %s: Less and name order disagree", pair[0], pair[1])
		}
	}
}
