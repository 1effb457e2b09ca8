package audit

import (
	"context"
	"fmt"
	"slices"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// catalogueDoc lists the months of an account that have a chain, in CatalogueDB under the
// account's id. A month is added before its chain's first head is written, so every chain
// is listed (a listed month may have no entries: its first flush failed).
type catalogueDoc struct {
	ID     string   `json:"_id"`
	Rev    string   `json:"_rev,omitempty"`
	Months []string `json:"months"` // YYYYMM, ascending
}

// Months lists the months of the account's trail, oldest first; none for an account never
// recorded.
func Months(ctx context.Context, store recording.StateDocs, accountID string) ([]recording.Month, error) {
	cat, err := loadCatalogue(ctx, store, accountID)
	if err != nil {
		return nil, err
	}
	months := make([]recording.Month, 0, len(cat.Months))
	for _, s := range cat.Months {
		if m, ok := ParseMonth(s); ok {
			months = append(months, m)
		}
	}
	return months, nil
}

func loadCatalogue(ctx context.Context, store recording.StateDocs, accountID string) (catalogueDoc, error) {
	cat := catalogueDoc{ID: accountID}
	if !recording.ValidAccountID(accountID) {
		return cat, recording.Errorf(recording.EInvalid, "%q is not an account id", accountID)
	}
	res, err := store.GetSystemDocs(ctx, CatalogueDB, []string{accountID})
	switch {
	case err != nil:
		return cat, fmt.Errorf("audit: read the catalogue of %s: %w", accountID, err)
	case recording.IsNotFound(res[0].Err):
		return cat, nil
	case res[0].Err != nil:
		return cat, fmt.Errorf("audit: read the catalogue of %s: %w", accountID, res[0].Err)
	}
	if err := res[0].Doc.DecodeInto(&cat); err != nil {
		return cat, fmt.Errorf("audit: catalogue of %s: %w", accountID, err)
	}
	return cat, nil
}

// catalogue adds month m to the account's catalogue unless it is listed already; a writer
// that lost a race reads the catalogue again.
func catalogue(ctx context.Context, store recording.StateDocs, accountID string, m recording.Month) error {
	for range 20 {
		cat, err := loadCatalogue(ctx, store, accountID)
		if err != nil {
			return err
		}
		month := m.String()
		if slices.Contains(cat.Months, month) {
			return nil
		}
		cat.Months = append(cat.Months, month)
		slices.Sort(cat.Months)
		doc, err := recording.DocOf(cat)
		if err != nil {
			return err
		}
		res, err := store.SaveSystemDocs(ctx, CatalogueDB, []recording.Doc{doc})
		if err != nil {
			return fmt.Errorf("audit: write the catalogue of %s: %w", accountID, err)
		}
		if !recording.IsConflict(res[0].Err) {
			if res[0].Err != nil {
				return fmt.Errorf("audit: write the catalogue of %s: %w", accountID, res[0].Err)
			}
			return nil
		}
	}
	return fmt.Errorf("audit: the catalogue of %s kept changing under this writer", accountID)
}
