package recording_test

import (
	"testing"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

func TestPurgeKeyOrder(t *testing.T) {
	keys := []recording.PurgeKey{
		{Reason: recording.PurgeDeleted, At: -5, ID: "b"},
		{Reason: recording.PurgeDeleted, At: 0, ID: "a"},
		{Reason: recording.PurgeDeleted, At: 0, ID: "b"},
		{Reason: recording.PurgeDeleted, At: 9, ID: "a"},
		{Reason: recording.PurgeSoftDeleted, At: -9, ID: "a"},
	}
	for i := range keys {
		for j := range keys {
			if got := keys[i].Less(keys[j]); got != (i < j) {
				t.Errorf("%+v < %+v = %v", keys[i], keys[j], got)
			}
		}
	}
}
