// Package recording is the domain of recordingsd: Kazoo's call recordings as stored, what the
// recordings API does with them, and what it asks of a backend (CouchDB or the embedded
// store), independent of HTTP. Its files:
//
//   - doc.go: Doc, a document exactly as stored, its attachments and the client's view of it
//   - ids.go: Month, account, user and recording ids; gregorian.go: Kazoo's time base
//   - databases.go: database names (account, month: MonthDB), checked against a request's ids
//   - errors.go: Error and its codes, which the HTTP layer maps to statuses
//   - store.go: the Store and Loader interfaces and the listing index they read
//   - listing.go: List, one ordered listing across month databases
//   - patch.go, service.go: PATCH bodies and the Caller, and Service (get, patch, delete)
//   - purge.go: the purge index (PurgeKeyOf) and the Purger interface of the retention sweeper
//   - authstore.go: the system databases and the AuthStore and AuthLoader interfaces
//   - credentials.go: HasCredentials, Kazoo's rule for a user who can sign in with a hash
package recording
