// Package testnet holds network fixtures shared by tests of several packages.
package testnet
