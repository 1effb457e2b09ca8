package main

import (
	"fmt"
	"io"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/demo"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch"
	"github.com/recordingsd/recordingsd/pkg/store/embedded"
)

// backend is everything the commands need from a store.
type backend interface {
	demo.Backend
	recording.AuthStore
	recording.AuthLoader
	recording.Purger
	recording.ChangeFeed
	recording.StateDocs
	recording.AccountDocs
}

// openBackend opens the configured store; close releases it (the embedded file's lock).
func openBackend(cfg *Config, logger *zap.Logger) (b backend, close func() error, err error) {
	switch cfg.Store.Backend {
	case "couchdb":
		s, err := couch.New(couch.Config{
			URL:            cfg.CouchDB.URL,
			Username:       cfg.CouchDB.Username,
			Password:       cfg.CouchDB.Password,
			RequestTimeout: cfg.CouchDB.RequestTimeout,
			WriteQuorum:    cfg.CouchDB.WriteQuorum,
		}, logger)
		if err != nil {
			return nil, nil, err
		}
		return s, s.Close, nil
	case "embedded":
		s, err := embedded.Open(cfg.Store.Embedded.Path, embedded.Options{})
		if err != nil {
			return nil, nil, err
		}
		return s, s.Close, nil
	}
	return nil, nil, fmt.Errorf("store.backend %q is not known", cfg.Store.Backend)
}

// describeBackend says where the data is, for the console.
func describeBackend(cfg *Config) string {
	if cfg.Store.Backend == "embedded" {
		return "embedded store " + cfg.Store.Embedded.Path
	}
	return "CouchDB"
}

// configured is what every subcommand starts from: configuration, logger, open store.
type configured struct {
	cfg    *Config
	logger *zap.Logger
	store  backend
	close  func() error // releases the store and flushes the logger
}

// openConfigured loads the configuration (file, then RECORDINGS_* variables), builds the
// logger and opens the configured store.
func openConfigured(configPath string, getenv func(string) string, logOut io.Writer) (*configured, error) {
	cfg, err := loadConfig(configPath, getenv)
	if err != nil {
		return nil, err
	}
	logger, err := newLogger(cfg, logOut)
	if err != nil {
		return nil, err
	}
	for _, w := range cfg.Warnings {
		logger.Warn(w)
	}
	store, closeStore, err := openBackend(cfg, logger)
	if err != nil {
		return nil, err
	}
	return &configured{cfg: cfg, logger: logger, store: store, close: func() error {
		err := closeStore()
		_ = logger.Sync()
		return err
	}}, nil
}
