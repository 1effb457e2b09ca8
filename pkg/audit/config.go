package audit

import (
	"fmt"
	"time"
)

// Config tunes the writer.
type Config struct {
	// FlushInterval is the longest an entry waits in the buffer before a flush writes it.
	FlushInterval time.Duration
	// BatchSize entries waiting start a flush at once; a flush writes at most this many
	// entries per request to the store (twice as many documents, with their index).
	BatchSize int
	// Buffer bounds the entries waiting; beyond it Record drops them, counted as lost.
	Buffer int
	// Attempts is how many times a flush tries a batch before it abandons it (counted as
	// lost); RetryWait is the wait after the first failure, doubled after each.
	Attempts  int
	RetryWait time.Duration
	// Now is the clock; nil is the real one.
	Now func() time.Time
}

// Defaults, for what the configuration leaves out.
const (
	DefaultFlushInterval = 250 * time.Millisecond
	DefaultBatchSize     = 500
	DefaultBuffer        = 10000
	DefaultAttempts      = 5
	DefaultRetryWait     = 100 * time.Millisecond
	// MaxBatchSize keeps one write (entries and their index documents) to a bulk request
	// CouchDB takes quickly.
	MaxBatchSize = 5000
)

// Validate reports settings the writer cannot run with, naming the audit.* key at fault.
func (c Config) Validate() error {
	switch {
	case c.FlushInterval <= 0:
		return fmt.Errorf("audit.flush_interval must be positive, not %v", c.FlushInterval)
	case c.BatchSize < 1 || c.BatchSize > MaxBatchSize:
		return fmt.Errorf("audit.batch_size must be between 1 and %d, not %d", MaxBatchSize, c.BatchSize)
	case c.Buffer < c.BatchSize:
		return fmt.Errorf("audit.buffer (%d) must hold at least audit.batch_size (%d) entries", c.Buffer, c.BatchSize)
	case c.Attempts < 0 || c.RetryWait < 0:
		return fmt.Errorf("audit: attempts and retry wait must not be negative")
	}
	return nil
}

// withDefaults fills what is unset.
func (c Config) withDefaults() Config {
	if c.FlushInterval <= 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.Buffer <= 0 {
		c.Buffer = DefaultBuffer
	}
	c.Buffer = max(c.Buffer, c.BatchSize)
	if c.Attempts <= 0 {
		c.Attempts = DefaultAttempts
	}
	if c.RetryWait <= 0 {
		c.RetryWait = DefaultRetryWait
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}
