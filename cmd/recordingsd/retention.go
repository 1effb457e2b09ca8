package main

import (
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/media"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/retention"
)

// retentionConfig is recordings.retention.*: off unless enabled; the purge command applies
// the same policy on demand.
type retentionConfig struct {
	Enabled               bool          `mapstructure:"enabled"`
	PurgeDeletedAfter     string        `mapstructure:"purge_deleted_after"`
	PurgeSoftDeletedAfter string        `mapstructure:"purge_soft_deleted_after"`
	DeleteExternalMedia   bool          `mapstructure:"delete_external_media"`
	Interval              time.Duration `mapstructure:"interval"`
	BatchSize             int           `mapstructure:"batch_size"`
	Rate                  float64       `mapstructure:"rate"`
	Lease                 time.Duration `mapstructure:"lease"`
	StateDatabase         string        `mapstructure:"state_database"`
	Instance              string        `mapstructure:"instance"`
}

// sweeper checks the keys and turns them into the sweeper's configuration.
func (c retentionConfig) sweeper() (retention.Config, error) {
	deleted, err := retention.ParseAge(c.PurgeDeletedAfter)
	if err != nil {
		return retention.Config{}, fmt.Errorf("recordings.retention.purge_deleted_after: %w", err)
	}
	soft, err := retention.ParseAge(c.PurgeSoftDeletedAfter)
	if err != nil {
		return retention.Config{}, fmt.Errorf("recordings.retention.purge_soft_deleted_after: %w", err)
	}
	switch {
	case c.Interval <= 0:
		return retention.Config{}, fmt.Errorf("recordings.retention.interval must be positive")
	case c.BatchSize < 1 || c.BatchSize > 1000:
		return retention.Config{}, fmt.Errorf("recordings.retention.batch_size must be between 1 and 1000, not %d", c.BatchSize)
	case c.Rate < 0:
		return retention.Config{}, fmt.Errorf("recordings.retention.rate must not be negative (0: no bound)")
	case c.Lease < 10*time.Second:
		return retention.Config{}, fmt.Errorf("recordings.retention.lease must be at least 10s")
	}
	rc := retention.Config{
		Policy:    retention.Policy{DeletedAfter: deleted, SoftDeletedAfter: soft, DeleteExternalMedia: c.DeleteExternalMedia},
		Interval:  c.Interval,
		BatchSize: c.BatchSize,
		Rate:      c.Rate,
		Lease:     c.Lease,
		StateDB:   c.StateDatabase,
		Instance:  c.Instance,
	}
	if rc.Instance == "" {
		rc.Instance = instanceName()
	}
	if c.Enabled && !rc.Active() {
		return rc, fmt.Errorf("recordings.retention is enabled but both purge_deleted_after and purge_soft_deleted_after are never")
	}
	return rc, rc.Validate()
}

// newSweeper builds the sweeper of recordings.retention on the store.
func newSweeper(cfg *Config, store recording.Purger, media media.Sources, logger *zap.Logger, obs retention.Observer) (*retention.Sweeper, error) {
	rc, err := cfg.Recordings.Retention.sweeper()
	if err != nil {
		return nil, err
	}
	return retention.New(store, media, rc, logger.Named("retention"), obs)
}
