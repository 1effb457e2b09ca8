package couch

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// A cluster answers 202 when fewer copies than the quorum took an edit. The edit stands when
// every copy read shows it as the winner without conflicts; otherwise its branch is deleted
// and the edit is a conflict. A deletion stands when the document reads as deleted.
func TestSettleAccepted(t *testing.T) {
	const newRev = "2-ours"
	cases := []struct {
		name       string
		deletion   bool
		read       string // the settling read's answer; "" for 404
		wantErr    string // recording error code, "" for success
		withdrawal bool   // DELETE ?rev=newRev expected
	}{
		{"edit alone", false, `{"_id":"x","_rev":"2-ours"}`, "", false},
		{"edit beside another writer's", false, `{"_id":"x","_rev":"2-ours","_conflicts":["2-theirs"]}`, recording.EConflict, true},
		{"edit that lost", false, `{"_id":"x","_rev":"2-theirs","_conflicts":["2-ours"]}`, recording.EConflict, true},
		{"deletion that stands", true, "", "", false},
		{"deletion that lost to a live branch", true, `{"_id":"x","_rev":"2-theirs"}`, recording.EConflict, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var mu sync.Mutex
			var seen []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen = append(seen, r.Method+" "+r.URL.RawQuery)
				mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				switch r.Method {
				case http.MethodPut, http.MethodDelete:
					if r.Method == http.MethodDelete && r.URL.Query().Get("rev") == newRev && !c.deletion {
						_, _ = w.Write([]byte(`{"ok":true,"rev":"3-withdrawn"}`))
						return
					}
					w.WriteHeader(http.StatusAccepted)
					_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "id": "x", "rev": newRev})
				case http.MethodGet:
					if r.URL.Query().Get("r") != "3" || r.URL.Query().Get("conflicts") != "true" {
						t.Errorf("settling read %s, want r=3 and conflicts=true", r.URL.RawQuery)
					}
					if c.read == "" {
						http.Error(w, `{"error":"not_found","reason":"deleted"}`, http.StatusNotFound)
						return
					}
					_, _ = w.Write([]byte(c.read))
				}
			}))
			defer srv.Close()
			s, err := New(Config{URL: srv.URL}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if c.deletion {
				err = s.deleteDoc(testContext(t), "db", "x", "1-a", "recording x")
			} else {
				var rev string
				rev, err = s.putDoc(testContext(t), "db", "x", map[string]any{"_id": "x", "_rev": "1-a"}, "recording x")
				if err == nil && rev != newRev {
					t.Errorf("kept edit answered rev %q, want %q", rev, newRev)
				}
			}
			if c.wantErr == "" && err != nil || c.wantErr != "" && recording.ErrorCode(err) != c.wantErr {
				t.Fatalf("error %v, want code %q", err, c.wantErr)
			}
			withdrew := false
			for _, req := range seen {
				if strings.HasPrefix(req, "DELETE") && strings.Contains(req, "rev="+newRev) {
					withdrew = true
				}
			}
			if withdrew != c.withdrawal {
				t.Errorf("withdrawal %v, want %v; requests %v", withdrew, c.withdrawal, seen)
			}
		})
	}
}
