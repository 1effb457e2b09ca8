// Package deps pins the chosen stack in go.mod until the packages that use it land.
package deps

import (
	_ "github.com/go-kivik/kivik/v4"
	_ "github.com/go-kivik/kivik/v4/couchdb"
	_ "github.com/gorilla/mux"
	_ "github.com/spf13/viper"
	_ "go.uber.org/zap"
)
